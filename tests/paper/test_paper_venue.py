"""The dry-run venue: the Venue protocol over the paper engine, surviving a restart."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.orders import OrderRequest, OrderType, Side
from bot.errors import OrderRejected
from bot.paper import EngineSettings
from bot.venues.base import Venue
from bot.venues.ccxt.registry import builtin_instrument
from bot.venues.paper import PaperVenue, Quote

BINANCE = builtin_instrument("binancecoinm")


class Feed:
    def __init__(self) -> None:
        self.quotes = [Quote(1_600_000_000_000, 50_000.0)]

    async def quote(self) -> Quote:
        return self.quotes[-1]


async def test_dry_run_places_a_hedge_and_resumes_after_restart(tmp_path: Path) -> None:
    feed = Feed()
    state = tmp_path / "paper.json"
    venue: Venue = PaperVenue.open(BINANCE, EngineSettings(slippage_bps=0), 0.5, feed, state)
    await venue.connect()
    entry = OrderRequest("hbE1", Side.SELL, OrderType.MARKET, 100)
    stop = OrderRequest("hbS1", Side.BUY, OrderType.STOP_MARKET, 100, trigger_price=56_000.0, reduce_only=True)
    await venue.place(entry)
    await venue.place(stop)
    assert (await venue.account()).position.contracts == -100

    again = PaperVenue.open(BINANCE, EngineSettings(), 9.9, feed, state)  # a restart: state wins
    assert (await again.place(entry)).filled_contracts == 100
    assert len(await again.fills(0)) == 1
    feed.quotes.append(Quote(1_600_000_060_000, 57_000.0))
    account = await again.account()
    assert account.position.contracts == 0 and account.open_orders == ()
    with pytest.raises(OrderRejected):
        await again.place(OrderRequest("hbE2", Side.BUY, OrderType.MARKET, 1, reduce_only=True))
