"""C6: decisions that spend the request budget never hold up the mark feed, a protective stop, a cancel, or an exit.

The real ccxt client and the local exchange; the budget is the one the bot runs with (install_budget, ccxt's own
request weights), made small so a few seconds of decisions fill it. The control case is ccxt's behaviour before:
one budget for everything, counted in one queue (every share 1.0): the same load then freezes the mark read too.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import wall_ms
from bot.devnet.exchange import ExchangeServer
from bot.domain.orders import OrderRequest, OrderType, Side
from bot.journal.aio import AsyncJournal
from bot.monitors.mark import CcxtMarkFeed
from bot.runtime.exits import ENTRIES, cancel_ours
from bot.venues.ccxt.budget import RollingBudget, install_budget
from bot.venues.ccxt.venue import CcxtVenue
from bot.venues.priority import Priority
from tests.integration.test_devnet_exchange import FAST_RETRY, devnet_settings

pytestmark = pytest.mark.integration
ONE_SHARE = {Priority.PROTECT: 1.0, Priority.MARK: 1.0, Priority.ROUTINE: 1.0}  # ccxt's single queue


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ExchangeServer]:
    srv = ExchangeServer(port=0, balance_btc=1.0, mark_price=60_000.0, state_path=tmp_path / "exchange.sqlite")
    await srv.start()
    yield srv
    await srv.stop()


async def timed(coro: object) -> float:
    t0 = time.monotonic()
    await asyncio.wait_for(coro, 20)  # type: ignore[arg-type]
    return time.monotonic() - t0


async def saturate(venue: CcxtVenue, budget: RollingBudget) -> asyncio.Task[None]:
    """Decisions in a loop (account reads, the heaviest routine traffic) until the routine share is spent."""

    async def decisions() -> None:
        while True:
            await venue.account()

    task = asyncio.create_task(decisions())
    deadline = time.monotonic() + 15
    while budget.used(int(time.monotonic() * 1000)) < budget.capacity * 0.55:
        assert time.monotonic() < deadline, "the decisions did not fill the budget"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # they now wait for the window to roll
    return task


@pytest.mark.parametrize("shared_out", [True, False], ids=["by-priority", "one-queue-control"])
async def test_decisions_that_spend_the_budget_never_hold_up_the_mark_stops_cancels_or_an_exit(
    server: ExchangeServer, tmp_path: Path, shared_out: bool
) -> None:
    venue = CcxtVenue(devnet_settings(server.url), retry=FAST_RETRY)
    budget = install_budget(venue.exchange, RollingBudget(capacity=120, window_ms=60_000))
    if not shared_out:
        budget.shares = ONE_SHARE
    await venue.connect()
    await venue.configure(5, "isolated")
    await venue.place(OrderRequest("hbEbudget1", Side.SELL, OrderType.MARKET, 20))
    await venue.place(OrderRequest("hbEbudget2", Side.SELL, OrderType.LIMIT, 5, price=70_000.0))
    journal = await AsyncJournal.open(tmp_path / "bot.sqlite", wall_ms())
    task = await saturate(venue, budget)
    try:
        mark = CcxtMarkFeed(venue.exchange)
        stop = OrderRequest("hbSbudget", Side.BUY, OrderType.STOP_MARKET, 20, trigger_price=66_000.0, reduce_only=True)
        if not shared_out:
            # One queue: the mark read waits behind the decisions for the window to roll (it was 15-43 s live).
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(mark.read(), 3.0)
            return
        assert await timed(mark.read()) < 1.0
        assert await timed(venue.place(stop)) < 1.0
        assert await timed(venue.cancel("hbSbudget")) < 1.0
        # An exit's cancels (SIGTERM) go out at once too: the resting limit entry is cancelled.
        assert await timed(cancel_ours(venue, journal, wall_ms, ENTRIES, timeout_s=5.0)) < 2.0
        assert not [o for o in server.engine.open_orders() if o.client_id == "hbEbudget2"]
        assert not task.done()  # the decisions are still held, not failed
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await journal.close()
        await venue.close()
