"""What a paused bot still sends: orders toward the short it already holds, never more. Pure.

Paused, the engine keeps deciding (so the status, the journal and the alerts stay current) and journals the
strategy's plan as it is; what it sends is reconciled against `held_plan`, the plan cut down to the short
already held, and then passed through `while_paused`:

- sent: the protective stops of the short held (reduce-only stop-market buys, the plan's tranches in order
  up to the contracts held), so they keep following the plan as prices move; reductions, when the plan
  wants less than is held (reduce-only buys); every cancel;
- withheld: every sell, that is every entry or increase of the short (market or limit) and every
  conditional entry (a stop-market sell that would arm below the mark);
- cancelled: our resting sells (entries and conditional entries), so that nothing placed before the
  pause can grow the short while it holds. Orders that are not ours are never touched.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.orders import AccountState, Side
from bot.domain.plan import HedgePlan, StopTranche
from bot.venues.reconcile import CONDITIONAL, ENTRY, Action, Cancel, is_ours, role_of


def held_plan(plan: HedgePlan, account: AccountState) -> HedgePlan:
    """`plan` cut down to the short `account` holds: no more contracts, stops for those only, no conditionals."""
    short = max(0, -account.position.contracts)
    contracts = min(plan.contracts, short)
    stops: list[StopTranche] = []
    left = contracts
    for tranche in plan.stops:
        if left <= 0:
            break
        take = min(tranche.contracts, left)
        stops.append(StopTranche(tranche.price, take, tranche.label))
        left -= take
    return plan.with_(contracts=contracts, stops=tuple(stops), conditional=())


def sends_while_paused(action: Action) -> bool:
    """True for an action a paused bot still sends: a cancel, or a reduce-only buy (a stop or a reduction)."""
    if isinstance(action, Cancel):
        return True
    return action.order.side is Side.BUY and action.order.reduce_only


def while_paused(actions: Sequence[Action], account: AccountState) -> list[Action]:
    """`actions` less any that could add to the short, plus cancels of our resting sells."""
    kept = [a for a in actions if sends_while_paused(a)]
    cancelled = {a.client_id for a in kept if isinstance(a, Cancel)}
    kept += [
        Cancel(o.client_id, "paused")
        for o in account.open_orders
        if is_ours(o)
        and o.side is Side.SELL
        and role_of(o.client_id) in (ENTRY, CONDITIONAL)
        and o.client_id not in cancelled
    ]
    return kept
