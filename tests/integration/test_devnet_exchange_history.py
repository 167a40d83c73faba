"""The local exchange's market history in Binance COIN-M's dialect, over raw HTTP: klines and mark-price klines
at the interval asked for, the funding-rate history, each paged as Binance pages them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.backtest.data import parse_time_ms
from bot.devnet.exchange import ExchangeServer

pytestmark = pytest.mark.integration
T0 = parse_time_ms("2021-05-01T00:00:00Z")
HOUR = 3_600_000


@pytest.fixture
async def server() -> AsyncIterator[ExchangeServer]:
    """A mark every minute for 25 hours from 2021-05-01, rising by one dollar a minute from 60,000."""
    now = [T0]
    srv = ExchangeServer(port=0, mark_price=60_000.0, clock=lambda: now[0])
    for minute in range(1, 25 * 60 + 1):
        now[0] = T0 + minute * 60_000
        srv.set_mark(60_000.0 + minute)
    await srv.start()
    yield srv
    await srv.stop()


async def get(server: ExchangeServer, path: str, **params: Any) -> Any:
    async with aiohttp.ClientSession() as http:
        resp = await http.get(f"{server.url}/dapi/v1/{path}", params={"symbol": "BTCUSD_PERP", **params})
        return await resp.json()


async def test_klines_are_built_at_the_interval_asked_for_and_paged_from_a_start(server: ExchangeServer) -> None:
    hours = await get(server, "klines", interval="1h", startTime=T0 + HOUR, limit=2)
    assert [row[0] for row in hours] == [T0 + HOUR, T0 + 2 * HOUR]
    # The 01:00 bar: marks from minute 60 to 119.
    assert hours[0][1:5] == ["60060", "60119", "60060", "60119"] and hours[0][6] == T0 + 2 * HOUR - 1
    marks = await get(server, "markPriceKlines", interval="1h", startTime=T0 + HOUR, limit=2)
    assert [row[:5] for row in marks] == [row[:5] for row in hours]
    # Without a start, the last `limit` bars; the 4-hour bars open on the hour multiples of 4.
    assert [row[0] for row in await get(server, "klines", interval="4h", limit=2)] == [T0 + 20 * HOUR, T0 + 24 * HOUR]
    assert await get(server, "klines", interval="7m") == {"code": -1120, "msg": "Invalid interval."}
    assert (await get(server, "markPriceKlines", interval="1h", symbol="ETHUSD_PERP"))["code"] == -1121


async def test_funding_history_lists_every_funding_time_paged_as_binance_does(server: ExchangeServer) -> None:
    rows = await get(server, "fundingRate")
    assert [r["fundingTime"] for r in rows] == [T0 + 8 * HOUR, T0 + 16 * HOUR, T0 + 24 * HOUR]
    assert rows[0] == {
        "symbol": "BTCUSD_PERP",
        "fundingTime": T0 + 8 * HOUR,
        "fundingRate": "0.0001",
        "markPrice": "60480",  # the mark at 08:00, minute 480
    }
    assert [r["fundingTime"] for r in await get(server, "fundingRate", startTime=T0 + 9 * HOUR, limit=1)] == [
        T0 + 16 * HOUR
    ]
    assert [r["fundingTime"] for r in await get(server, "fundingRate", limit=1)] == [T0 + 24 * HOUR]
    assert await get(server, "fundingRate", endTime=T0 + 8 * HOUR - 1) == []
