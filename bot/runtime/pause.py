"""What a paused bot still sends: the reconciler's actions that cannot add to the short. Pure.

Paused, the engine keeps deciding (so the status, the journal and the alerts stay current) and passes the
reconciler's actions through `while_paused`:

- sent: protective stops (reduce-only stop-market buys) while a short is held, so its stops keep
  following the plan; reductions (reduce-only buys); every cancel;
- withheld: every sell, that is every entry or increase of the short (market or limit) and every
  conditional entry (a stop-market sell that would arm below the mark); and, with no short held, the
  stops too (there is nothing to protect, and a reduce-only order without a position is rejected);
- added: a cancel of each of our resting sells (entries and conditional entries), so that nothing placed
  before the pause can grow the short while it holds.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.orders import AccountState, Side
from bot.venues.reconcile import CONDITIONAL, ENTRY, Action, Cancel, Place, is_ours, role_of


def sends_while_paused(action: Action, short_contracts: int) -> bool:
    """True for an action a paused bot holding `short_contracts` still sends: a cancel, or a reduce-only
    buy (a stop or a reduction) while it holds a short."""
    if isinstance(action, Cancel):
        return True
    return action.order.side is Side.BUY and action.order.reduce_only and short_contracts > 0


def while_paused(actions: Sequence[Action], account: AccountState) -> list[Action]:
    """`actions` less the ones that could add to the short, plus cancels of our resting sells."""
    short = max(0, -account.position.contracts)
    kept = [a for a in actions if sends_while_paused(a, short)]
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


def withheld(actions: Sequence[Action], account: AccountState) -> list[Place]:
    """The placements a paused bot does not send (for its log line)."""
    short = max(0, -account.position.contracts)
    return [a for a in actions if isinstance(a, Place) and not sends_while_paused(a, short)]
