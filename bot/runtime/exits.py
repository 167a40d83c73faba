"""Leaving the market: the orders the bot cancels, and the hedge it closes, when it stops or is killed.

The engine decides when (a stop signal, the kill switch); this module is how, and it keeps the one rule
every exit path must keep: it touches only our own orders, picked by the role in their client id
(`venues.reconcile.role_of`), never one another bot or a person placed on the account. A stop leaves the
hedge in place with, unless told otherwise, its protective stops; a kill cancels the entries and, with
`kill_closes_hedge`, buys the short back reduce-only through the executor, journaled like any order,
before cancelling the stops it no longer needs.
"""

from __future__ import annotations

import asyncio

from bot.clock import Clock
from bot.domain.orders import OrderRequest, OrderType, Side
from bot.journal.aio import AsyncJournal
from bot.journal.records import OrderState
from bot.log import get_logger
from bot.runtime.executor import Executor
from bot.venues.base import Venue
from bot.venues.priority import Priority, priority
from bot.venues.reconcile import CONDITIONAL, ENTRY, STOP, Place, client_id, role_of

log = get_logger("hedgebot.exits")
ENTRIES: frozenset[str] = frozenset({ENTRY, CONDITIONAL})
STOPS: frozenset[str] = frozenset({STOP})


async def cancel_ours(
    venue: Venue, journal: AsyncJournal, clock: Clock, roles: frozenset[str], timeout_s: float | None = None
) -> bool:
    """Cancel our open orders whose client-id role is in `roles`, never another's; True when none is left resting.

    With `timeout_s`, a venue that does not answer is asked again until that time is spent (an exit must not hang
    on it); without, one pass, and a failed cancel is logged.
    """
    with priority(Priority.PROTECT):  # the reads and cancels of an exit go first (C6)
        return await _cancel_until(venue, journal, clock, roles, timeout_s)


async def _cancel_until(
    venue: Venue, journal: AsyncJournal, clock: Clock, roles: frozenset[str], timeout_s: float | None
) -> bool:
    if timeout_s is None:
        return await _cancel_pass(venue, journal, clock, roles)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s

    async def until_done() -> bool:
        while True:
            try:
                if await _cancel_pass(venue, journal, clock, roles):
                    return True
            except Exception as exc:  # the venue unreachable: ask again while there is time
                log.warning("reading the orders to cancel on exit failed", error=str(exc))
            await asyncio.sleep(min(0.5, max(0.0, deadline - loop.time())))

    try:
        return await asyncio.wait_for(until_done(), timeout_s)
    except TimeoutError:
        return False


async def _cancel_pass(venue: Venue, journal: AsyncJournal, clock: Clock, roles: frozenset[str]) -> bool:
    account = await venue.account()
    left = False
    for order in account.open_orders:
        if role_of(order.client_id) in roles:
            try:
                await venue.cancel(order.client_id)
                await journal.set_order_state(order.client_id, OrderState.CANCELED, clock(), "on exit")
            except Exception as exc:
                left = True
                log.warning("cancel on exit failed", client_id=order.client_id, error=str(exc))
    return not left


async def close_hedge(venue: Venue, journal: AsyncJournal, executor: Executor, namespace: str) -> bool:
    """Buy the whole short back at market (reduce-only), then cancel its stops; False if there was none."""
    with priority(Priority.PROTECT):
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
