"""Leaving the market: the orders the bot cancels, and the hedge it closes, when it stops or is killed.

The engine decides when (a stop signal, the kill switch); this module is how, and it keeps the one rule
every exit path must keep: it touches only our own orders, picked by the role in their client id
(`venues.reconcile.role_of`), never one another bot or a person placed on the account. A stop leaves the
hedge in place with, unless told otherwise, its protective stops; a kill cancels the entries and, with
`kill_closes_hedge`, buys the short back reduce-only through the executor, journaled like any order,
before cancelling the stops it no longer needs.
"""

from __future__ import annotations

from bot.clock import Clock
from bot.domain.orders import OrderRequest, OrderType, Side
from bot.journal.aio import AsyncJournal
from bot.journal.records import OrderState
from bot.log import get_logger
from bot.runtime.executor import Executor
from bot.venues.base import Venue
from bot.venues.reconcile import CONDITIONAL, ENTRY, STOP, Place, client_id, role_of

log = get_logger("hedgebot.exits")
ENTRIES: frozenset[str] = frozenset({ENTRY, CONDITIONAL})
STOPS: frozenset[str] = frozenset({STOP})


async def cancel_ours(venue: Venue, journal: AsyncJournal, clock: Clock, roles: frozenset[str]) -> None:
    """Cancel our open orders whose client-id role is in `roles`, never another's; a failed cancel is logged."""
    account = await venue.account()
    for order in account.open_orders:
        if role_of(order.client_id) in roles:
            try:
                await venue.cancel(order.client_id)
                await journal.set_order_state(order.client_id, OrderState.CANCELED, clock(), "on exit")
            except Exception as exc:
                log.warning("cancel on exit failed", client_id=order.client_id, error=str(exc))


async def close_hedge(venue: Venue, journal: AsyncJournal, executor: Executor, namespace: str) -> bool:
    """Buy the whole short back at market (reduce-only), then cancel its stops; False if there was none."""
    account = await venue.account()
    if account.position.contracts >= 0:
        return False
    seq = await journal.last_decision_seq()
    close = OrderRequest(
        client_id(namespace, "entry", seq, "kill"),
        Side.BUY,
        OrderType.MARKET,
        -account.position.contracts,
        reduce_only=True,
    )
    await executor.execute(seq, [Place(close)])
    await cancel_ours(venue, journal, executor.clock, STOPS)
    return True
