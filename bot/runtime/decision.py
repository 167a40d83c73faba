"""The one decision step: snapshot -> strategy -> plan check -> risk layer -> change test -> actions. Pure.

The engine (live and dry-run) and the backtest both call it; they differ only in the edges plugged in
(a live or paper venue, a chain or a simulated loan, the wall clock or the bar clock). So a backtest
figure is evidence about the bot: the same plan check, the same risk layer, the same change test (the
reconciler with the same settings, against the orders the venue really holds), and the same triggers.

`Triggers` says when a decision is due; `DecisionStep.decide` makes it; `DecisionStep.actions` turns
it into orders once the edge has given it a sequence number (the journal's, live; a counter, replayed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from bot.domain.inverse import pnl_btc
from bot.domain.orders import AccountState
from bot.domain.plan import FLAT, HedgePlan, WakeUp, plan_problem
from bot.domain.rebalance import ChangePolicy, hold_within_band
from bot.domain.risk import RiskLimits, apply_limits, stop_ceiling_for
from bot.domain.snapshot import EMPTY_STATE, Snapshot, StrategyState
from bot.venues.reconcile import Action, ReconcileSettings, reconcile
from strategies.base import Strategy


@dataclass(frozen=True, slots=True)
class Triggers:
    """When a decision is due: a mark move, an oracle move, a fill, or the heartbeat, whichever first."""

    price_trigger: float = 0.002  # BTC mark move since the last decision (fraction)
    # Chainlink's ETH/USD answer moves on a 0.5 % deviation: a smaller move of the collateral is not news.
    collateral_trigger: float = 0.005
    heartbeat_ms: int = 30_000

    def why(self, last: Decided | None, now_ms: int, btc: float, collateral: float, fills: int) -> str | None:
        """The trigger that fires now (the first decision always does), or None."""
        if last is None:
            return "start"
        if fills != last.fills:
            return "fill"
        if abs(btc / last.btc - 1.0) >= self.price_trigger:
            return "price"
        if abs(collateral / last.collateral - 1.0) >= self.collateral_trigger:
            return "block"
        if now_ms - last.ts_ms >= self.heartbeat_ms:
            return "heartbeat"
        return None


@dataclass(frozen=True, slots=True)
class Decided:
    """What the last decision was made on: the reference the triggers measure from."""

    ts_ms: int
    btc: float
    collateral: float
    fills: int


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision: the plan after the risk layer, why it was clipped, and whether it changes anything."""

    snapshot: Snapshot
    account: AccountState
    plan: HedgePlan | None  # None when the strategy failed (`problem` says how)
    clipped: tuple[str, ...] = ()
    problem: str | None = None
    changed: bool = False  # a new plan, or orders to send: journal it and act
    # When the next decision is needed, if the strategy said (`HedgePlan.wake`) and this one sends nothing:
    # its wake-up narrowed to where the risk layer and the reconciler would still leave the plan as it is.
    wake: WakeUp | None = None


@dataclass
class DecisionStep:
    """The strategy with its state, the limits and the reconciler's settings; remembers the last plan."""

    strategy: Strategy[Any]
    limits: RiskLimits
    reconcile_settings: ReconcileSettings
    change: ChangePolicy = field(default_factory=ChangePolicy)  # when a resize is worth an order (B15)
    state: StrategyState = field(default_factory=lambda: EMPTY_STATE)
    last_plan: HedgePlan | None = None

    def decide(self, snapshot: Snapshot, account: AccountState, last_fill_ms: int | None = None) -> Decision:
        """The decision on `snapshot` (built with this step's `state`) and the venue's `account`; `last_fill_ms`
        is when the hedge last traded (the change policy's cooldown counts from it)."""
        try:
            wanted = self.strategy.decide(snapshot)
            problem = plan_problem(wanted)
        except Exception as exc:  # a plugin's bug must never reach a venue, live or replayed
            wanted, problem = None, f"raised {type(exc).__name__}: {exc}"
        if problem is not None or wanted is None:
            return Decision(snapshot, account, None, problem=f"strategy {self.strategy.name} {problem}")
        if not snapshot.lending.hedgeable:  # a BTC short does not protect it: hold none, whatever the strategy asks
            wanted = replace(
                FLAT, leverage=wanted.leverage, reason=snapshot.lending.not_hedgeable_reason, state=wanted.state
            )
        # A resize too small to be worth an order, or too soon after the last trade, holds the short it has.
        asked = wanted
        wanted = hold_within_band(wanted, snapshot.hedge.short_contracts, self.change, snapshot.now_ms, last_fill_ms)
        checked = apply_limits(wanted, snapshot, self.limits, self.strategy.leverage_cap)
        plan = checked.plan
        self.state = plan.state
        # Unchanged plan and nothing to send: not worth a journal row (heartbeats would fill it).
        probe = reconcile(plan, account, snapshot.instrument, 0, self.reconcile_settings)
        changed = plan != self.last_plan or bool(probe)
        wake = None
        if asked.wake is not None and not checked.clipped and not probe:
            wake = asked.wake
            held = snapshot.hedge.short_contracts
            if wanted is not asked and self.change.gap_worth_trading(asked.contracts, held):
                # Held back by the cooldown alone: the resize goes out once it has passed.
                wake = replace(wake, at_ms=min(wake.at_ms, (last_fill_ms or 0) + self.change.cooldown_ms))
            wake = held_wake(wake, plan, snapshot, self.limits, self.reconcile_settings)
        return Decision(snapshot, account, plan, checked.clipped, None, changed, wake)

    def actions(self, decision: Decision, seq: int) -> list[Action]:
        """The orders that take the venue from `decision.account` to its plan, with ids from `seq`."""
        assert decision.plan is not None
        self.last_plan = decision.plan
        return reconcile(decision.plan, decision.account, decision.snapshot.instrument, seq, self.reconcile_settings)


def held_wake(
    wake: WakeUp, plan: HedgePlan, snapshot: Snapshot, limits: RiskLimits, reconcile_settings: ReconcileSettings
) -> WakeUp | None:
    """`wake` narrowed to the prices at which the risk layer passes `plan` unclipped and the reconciler sends
    nothing for it (the account as it is), or None when that cannot be said simply.

    The plan passed unclipped and is reached. With the account unchanged it stays so while: its stops stay
    above the mark's floor (`min_stop_distance`) and under the short's stop ceiling (fixed: it depends on the
    position, not the mark); the account's equity carries the short at its leverage; the equity and the
    collateral cover the short, so a rise to the stop risks no capital; and no conditional entry's trigger is
    crossed (the reconciler places only those under the mark). The equity's USD value is linear in the mark
    (a + b x P), so each condition is a bound on the BTC mark or on the collateral's price.
    """
    btc_lo, btc_hi, coll_lo = wake.btc_below, wake.btc_above, wake.collateral_below
    price, spec, hedge = snapshot.btc_price, snapshot.instrument, snapshot.hedge
    for entry in plan.conditional:
        trigger = spec.round_price(entry.trigger_price)
        if trigger < price:
            btc_lo = max(btc_lo, trigger)
        else:
            btc_hi = min(btc_hi, trigger)
    if plan.contracts > 0:
        size = spec.contract_size_usd
        stops = [t.price for t in plan.stops]
        if wake.trailing_stop_pct is not None:
            # The plan's one stop is min(resting, P' x (1 + pct)): the reconciler keeps the resting stop until the
            # rounded trail is more than stop_move_bps under it.
            resting = hedge.stop_price
            if resting is None or len(plan.stops) != 1:
                return None
            stops.append(resting)
            keep = resting * (1.0 - reconcile_settings.stop_move_bps / 10_000) + spec.tick_size / 2
            btc_lo = max(btc_lo, keep / (1.0 + wake.trailing_stop_pct) * (1.0 + 1e-9))
            btc_hi = min(btc_hi, resting)
        if not stops or max(stops) > stop_ceiling_for(snapshot, limits, plan.contracts, plan.leverage) * (1.0 - 1e-9):
            return None
        btc_hi = min(btc_hi, min(stops) / (1.0 + limits.min_stop_distance) * (1.0 - 1e-9))
        held = hedge.contracts
        wallet = hedge.equity_btc - (pnl_btc(held, size, hedge.entry_price, price) if held else 0.0)
        a = -held * size
        b = wallet + (held * size / hedge.entry_price if held else 0.0)
        # Margin: equity x leverage / (1 + leverage x taker fee) carries the whole short.
        need = plan.contracts * size * (1.0 + plan.leverage * spec.taker_fee) / plan.leverage * (1.0 + 1e-9)
        if b > 0:
            btc_lo = max(btc_lo, (need - a) / b)
        elif b < 0:
            btc_hi = min(btc_hi, (need - a) / b)
        elif a < need:
            return None
        # Capital at risk: none while the equity and the collateral cover the short.
        equity_low = a + (b * btc_lo if b >= 0 else b * btc_hi)
        if not btc_lo < price < btc_hi or not math.isfinite(equity_low):
            return None
        short_usd = plan.contracts * size
        amount = snapshot.lending.collateral_amount
        if short_usd > equity_low:
            if amount <= 0:
                return None
            coll_lo = max(coll_lo, (short_usd - equity_low) / amount * (1.0 + 1e-9))
    return WakeUp(
        btc_below=btc_lo,
        btc_above=btc_hi,
        collateral_below=coll_lo,
        collateral_above=wake.collateral_above,
        health_factor_below=wake.health_factor_below,
        collateral_vol_below=wake.collateral_vol_below,
        collateral_vol_above=wake.collateral_vol_above,
        at_ms=wake.at_ms,
        trailing_stop_pct=wake.trailing_stop_pct,
        feature_changes=wake.feature_changes,
    )
