"""Plan vs venue: the minimal list of actions that turns the account's orders into the plan. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from bot.domain.instruments import Instrument
from bot.domain.orders import AccountState, Order, OrderRequest, OrderType, Side
from bot.domain.plan import EntryStyle, HedgePlan

CLIENT_ID_PREFIX = "hb"
# The role letter right after the prefix: what an order of ours is for.
ENTRY, STOP, CONDITIONAL = "E", "S", "C"


@dataclass(frozen=True, slots=True)
class Place:
    order: OrderRequest


@dataclass(frozen=True, slots=True)
class Cancel:
    client_id: str
    why: str


Action = Place | Cancel


@dataclass(frozen=True, slots=True)
class ReconcileSettings:
    min_change_contracts: int = 1
    stop_move_bps: float = 25.0
    namespace: str = "hedgebot"  # two bots on one account use two namespaces


def client_id(namespace: str, role: str, *parts: object) -> str:
    """A deterministic client order id: the same intent gives the same id, on any restart.

    32 alphanumeric characters at most, which every venue accepts (OKX allows no dashes).
    """
    digest = hashlib.blake2b("|".join([namespace, role, *map(str, parts)]).encode(), digest_size=12).hexdigest()
    return f"{CLIENT_ID_PREFIX}{role[0].upper()}{digest[:24]}"


def is_ours(order: Order) -> bool:
    return order.client_id.startswith(CLIENT_ID_PREFIX)


def role_of(client_id: str) -> str:
    """The role letter of one of our client ids (ENTRY, STOP, CONDITIONAL, ...); "" for an id not ours."""
    if not client_id.startswith(CLIENT_ID_PREFIX) or len(client_id) <= len(CLIENT_ID_PREFIX):
        return ""
    return client_id[len(CLIENT_ID_PREFIX)]


def _moved(a: float, b: float, bps: float) -> bool:
    return abs(a - b) / b * 10_000 > bps


def reconcile(
    plan: HedgePlan,
    account: AccountState,
    instrument: Instrument,
    decision_seq: int,
    settings: ReconcileSettings = ReconcileSettings(),
) -> list[Action]:
    """Actions, in the order to send them, that take `account` to `plan`.

    Orders not ours are never touched. Stops are placed before the ones they replace are cancelled,
    so the position is never without its stop for longer than one action. Nothing that opens a short rests on the
    venue but a LIMIT entry, and the stops for the target cover it (reduce-only, cut by the venue to the position).
    """
    ns = settings.namespace
    ours = [o for o in account.open_orders if is_ours(o)]
    actions: list[Action] = []
    short = -account.position.contracts
    target = plan.contracts

    # 1. The entry (or reduction) toward the target.
    entries = [o for o in ours if role_of(o.client_id) == ENTRY]
    delta = target - short
    if plan.entry is EntryStyle.DCA and plan.max_step_contracts:
        delta = max(-plan.max_step_contracts, min(plan.max_step_contracts, delta))
    resting_entry = sum(o.contracts - o.filled_contracts for o in entries if o.side is Side.SELL)
    if abs(delta) >= settings.min_change_contracts and not (delta > 0 and resting_entry == delta):
        actions.extend(Cancel(o.client_id, "entry superseded") for o in entries)
        side = Side.SELL if delta > 0 else Side.BUY
        cid = client_id(ns, "entry", decision_seq, side, abs(delta), target)
        if plan.entry is EntryStyle.LIMIT and delta > 0:
            price = instrument.round_price(account.mark_price * (1 + plan.limit_offset_bps / 10_000))
            actions.append(Place(OrderRequest(cid, side, OrderType.LIMIT, abs(delta), price=price)))
        else:
            actions.append(Place(OrderRequest(cid, side, OrderType.MARKET, abs(delta), reduce_only=delta < 0)))
    elif abs(delta) < settings.min_change_contracts:
        actions.extend(Cancel(o.client_id, "target reached") for o in entries)

    # 2. Protective stops: one reduce-only stop-market buy per tranche.
    stops = [o for o in ours if role_of(o.client_id) == STOP]
    wanted = [
        (instrument.round_price(t.price), t.contracts, t.label) for t in plan.stops if t.contracts > 0 and target > 0
    ]
    keep: set[str] = set()
    new_stops: list[Action] = []
    for price, contracts, label in wanted:
        match = next(
            (
                o
                for o in stops
                if o.client_id not in keep
                and o.contracts - o.filled_contracts == contracts
                and o.trigger_price is not None
                and not _moved(price, o.trigger_price, settings.stop_move_bps)
            ),
            None,
        )
        if match is not None:
            keep.add(match.client_id)
            continue
        # The decision number keeps ids unique: a stop wanted again after its twin was cancelled must
        # not collide with the dead order (an idempotent venue would hand that back instead).
        cid = client_id(ns, "stop", decision_seq, label, price, contracts, target)
        new_stops.append(
            Place(OrderRequest(cid, Side.BUY, OrderType.STOP_MARKET, contracts, trigger_price=price, reduce_only=True))
        )
    actions.extend(new_stops)
    actions.extend(Cancel(o.client_id, "stop replaced") for o in stops if o.client_id not in keep)

    # 3. Conditional entries are held by the bot, never rested on the venue (C5): a resting stop-market sell fills
    #    just as well while the bot is down or cannot reach the venue, into a short with no protective stop. The
    #    strategy counts a layer in `contracts` once it has armed (the collateral at its trigger), and the next
    #    decision sells it at market with its stop. Ours still resting (an older version placed them) are cancelled.
    conds = [o for o in ours if role_of(o.client_id) == CONDITIONAL]
    actions.extend(Cancel(o.client_id, "conditional entries are held by the bot") for o in conds)

    return actions


def foreign_orders(orders: Sequence[Order]) -> list[Order]:
    """Open orders on the instrument that this bot did not place (reported, never touched)."""
    return [o for o in orders if not is_ours(o)]
