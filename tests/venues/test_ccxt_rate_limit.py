"""The venue's request budget: its rateLimit's weight per rolling minute, as ccxt counts it, shared out by priority
(C6): decisions stop at their share while the mark feed, protective orders and cancels still go out at once."""

from __future__ import annotations

import asyncio

import pytest

from bot.config import ExchangeSettings
from bot.venues.ccxt.budget import RollingBudget
from bot.venues.ccxt.client import build_exchange
from bot.venues.ccxt.registry import VENUE_IDS
from bot.venues.priority import Priority, priority


async def goes_at_once(exchange: object, weight: float, level: Priority) -> bool:
    with priority(level):
        try:
            await asyncio.wait_for(exchange.throttle(weight), 0.5)  # type: ignore[attr-defined]
        except TimeoutError:
            return False
    return True


@pytest.mark.parametrize("venue", VENUE_IDS)
async def test_bursts_go_out_at_once_and_each_priority_stops_at_its_share(venue: str) -> None:
    exchange = build_exchange(ExchangeSettings(id=venue), testnet=True)
    try:
        assert exchange.enableRateLimit
        budget = 60_000 / exchange.rateLimit  # the venue's weight per minute, as ccxt defines it
        loop = asyncio.get_running_loop()
        start = loop.time()
        for _ in range(5):  # a decision's burst: account reads and an order
            await exchange.throttle(1)
        assert loop.time() - start < 0.1
        assert await goes_at_once(exchange, budget * 0.6 - 5, Priority.ROUTINE)  # decisions: up to 60 %
        assert not await goes_at_once(exchange, 1, Priority.ROUTINE)  # then they wait for the window to roll
        assert await goes_at_once(exchange, 1, Priority.MARK)  # the mark feed does not
        assert await goes_at_once(exchange, budget * 0.25 - 1, Priority.MARK)
        assert not await goes_at_once(exchange, 1, Priority.MARK)  # up to 85 %
        assert await goes_at_once(exchange, budget * 0.15, Priority.PROTECT)  # stops and cancels: all of it
        assert not await goes_at_once(exchange, 1, Priority.PROTECT)  # and the minute's budget still holds
    finally:
        await exchange.close()


def test_a_wait_is_until_enough_weight_has_left_the_window() -> None:
    b = RollingBudget(capacity=100, window_ms=60_000)
    b.spend(30, 0)
    b.spend(30, 10_000)
    assert b.wait_ms(1, Priority.ROUTINE, 20_000) == 40_000  # 60 used of 60: the first 30 leaves at 60 s
    assert b.wait_ms(1, Priority.MARK, 20_000) == 0
    assert b.wait_ms(31, Priority.ROUTINE, 61_000) == 9_000  # 30 left at 60 s; 31 more needs the second gone too
    assert b.wait_ms(500, Priority.ROUTINE, 80_000) == 0  # an empty window takes any one request
