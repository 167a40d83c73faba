"""ccxt's own rate limiter stays on, with the venue's rateLimit, counted over a rolling minute."""

from __future__ import annotations

import asyncio

import pytest

from bot.config import ExchangeSettings
from bot.venues.ccxt.client import build_exchange
from bot.venues.ccxt.registry import VENUE_IDS


@pytest.mark.parametrize("venue", VENUE_IDS)
async def test_bursts_go_out_at_once_but_the_minute_budget_holds(venue: str) -> None:
    exchange = build_exchange(ExchangeSettings(id=venue), testnet=True)
    try:
        assert exchange.enableRateLimit
        budget = 60_000 / exchange.rateLimit  # the venue's weight per minute, as ccxt defines it
        loop = asyncio.get_running_loop()
        start = loop.time()
        for _ in range(5):  # a decision's burst: account reads and an order
            await exchange.throttle(1)
        assert loop.time() - start < 0.1
        await exchange.throttle(budget - 5)  # the rest of the minute's budget
        # One more request must wait for the window to roll: it does not go out within a second.
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(exchange.throttle(1), 1.0)
    finally:
        await exchange.close()
