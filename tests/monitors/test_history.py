"""Feature warm-up at start: the real ccxt client reads the local COIN-M server's one-minute klines.

The server's marks are real Binance minute candles (../shared/data), set at the minutes they would have
had if they ended just now; the warm-up must give the tracker what feeding those candles directly gives.
"""

from __future__ import annotations

import math
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from bot.clock import wall_ms
from bot.config import ExchangeSettings
from bot.devnet.exchange.candles import Candle, load_candles
from bot.devnet.exchange.server import ExchangeServer
from bot.domain.features.tracker import FeatureTracker
from bot.domain.instruments import BTC_INVERSE_SYMBOL as BTC
from bot.monitors.history import Warmup, collateral_perp, warm_features
from bot.venues.ccxt.client import build_exchange

pytestmark = pytest.mark.integration
MINUTE = 60_000
BARS = 2_400  # several pages of 1000, and four marks a bar stay under the server's 10,000 kept


class Clock:
    """Wall time, or a fixed time while the test sets marks in the past."""

    def __init__(self) -> None:
        self.fixed: int | None = None

    def __call__(self) -> int:
        return self.fixed if self.fixed is not None else wall_ms()


def seed(server: ExchangeServer, clock: Clock, candles: list[Candle], first_open_ms: int) -> None:
    """Each candle's path as marks inside its minute, from `first_open_ms` on."""
    for i, candle in enumerate(candles):
        for k, price in enumerate(candle.path()):
            clock.fixed = first_open_ms + i * MINUTE + k * 10_000
            server.set_mark(price)
    clock.fixed = None


@dataclass(frozen=True)
class Venue:
    server: ExchangeServer
    now_ms: int  # when the last candle closed: the warm-up's "now", so a minute turning mid-test changes nothing


@pytest.fixture(scope="module")
def candles(shared_data: Path) -> list[Candle]:
    return load_candles(shared_data / "binance_BTCUSDT_1m_20210420-20210520.csv.gz")[1_000 : 1_000 + BARS]


@pytest.fixture
async def venue(candles: list[Candle]) -> AsyncIterator[Venue]:
    clock = Clock()
    now = clock() // MINUTE * MINUTE
    clock.fixed = first_open = now - BARS * MINUTE  # the opening mark is the first bar's open
    server = ExchangeServer(port=0, mark_price=candles[0].open, clock=clock)
    seed(server, clock, candles, first_open)
    await server.start()
    yield Venue(server, now)
    await server.stop()


async def warm(venue: Venue, url: str, symbol: str, collateral: str, days: float = 7) -> tuple[Warmup, FeatureTracker]:
    tracker = FeatureTracker.for_bar_length(MINUTE)
    exchange = client(url)
    try:
        warmed = await warm_features(
            tracker, exchange, symbol, collateral, days=days, bar_ms=MINUTE, clock=lambda: venue.now_ms
        )
    finally:
        await exchange.close()
    return warmed, tracker


def client(url: str) -> Any:
    """The bot's own client, as dry-run builds it: no key, public endpoints only."""
    return build_exchange(ExchangeSettings(id="binancecoinm", api_url=url), testnet=False)


def fed_directly(candles: list[Candle], *, with_collateral: bool) -> FeatureTracker:
    tracker = FeatureTracker.for_bar_length(MINUTE)
    for c in candles:
        if with_collateral:
            tracker.update(c.close, c.high, c.low, c.close)
        else:
            tracker.update_btc(c.close, c.high, c.low)
    return tracker


async def test_wbtc_collateral_warms_volatility_and_beta_on_the_exchanges_minute_bars(
    venue: Venue, candles: list[Candle]
) -> None:
    warmed, tracker = await warm(venue, venue.server.url, BTC, "WBTC")
    assert (warmed.bars, warmed.collateral_symbol, warmed.skipped) == (BARS, BTC, None)
    got, want = tracker.features(), fed_directly(candles, with_collateral=True).features()
    assert got.samples == BARS - 1  # WBTC is BTC: every bar is a beta sample, and strategies trust 24
    assert got.btc_vol_annual == pytest.approx(want.btc_vol_annual, rel=1e-9)
    assert got.collateral_vol_annual == pytest.approx(want.btc_vol_annual, rel=1e-9)
    assert 0.2 < got.btc_vol_annual < 3.0  # a plausible BTC volatility, not the strategies' floor
    assert got.beta == pytest.approx(1.0) and got.correlation == pytest.approx(1.0)
    assert (got.swing_high, got.swing_low) == pytest.approx((want.swing_high, want.swing_low))


async def test_a_venue_without_the_collateral_perpetual_warms_btc_only(venue: Venue, candles: list[Candle]) -> None:
    # The local server lists BTCUSD_PERP alone: no ETH/USD:ETH for WETH.
    with capture_logs() as logs:
        warmed, tracker = await warm(venue, venue.server.url, BTC, "WETH")
    assert (warmed.bars, warmed.collateral_symbol) == (BARS, None)
    got, want = tracker.features(), fed_directly(candles, with_collateral=False).features()
    assert got.btc_vol_annual == pytest.approx(want.btc_vol_annual, rel=1e-9)
    assert (got.swing_high, got.swing_low) == pytest.approx((want.swing_high, want.swing_low))
    # Collateral volatility and beta start cold: no BTC-as-ETH beta of 1 that strategies would trust.
    assert (got.samples, got.collateral_vol_annual, got.warming_up) == (0, 0.0, True)
    assert any("ETH/USD:ETH" in str(e.get("symbol")) and "BTC only" in e["event"] for e in logs)


async def test_a_short_window_reads_only_the_days_asked(venue: Venue, candles: list[Candle]) -> None:
    warmed, tracker = await warm(venue, venue.server.url, BTC, "WBTC", days=1)
    assert warmed.bars == 1_441  # a day of returns: 1440 bars and the one before
    want = fed_directly(candles[-1_441:], with_collateral=True).features()
    assert tracker.features().btc_vol_annual == pytest.approx(want.btc_vol_annual, rel=1e-9)


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    yield port  # nothing listens on it


@pytest.mark.parametrize("where", ["unreachable", "unknown symbol"])
async def test_a_failing_fetch_leaves_the_features_cold_with_a_warning(
    venue: Venue, closed_port: int, where: str
) -> None:
    url = f"http://127.0.0.1:{closed_port}" if where == "unreachable" else venue.server.url
    symbol = "XRP/USD:XRP" if where == "unknown symbol" else BTC
    with capture_logs() as logs:
        warmed, tracker = await warm(venue, url, symbol, "WETH")
    assert warmed.bars == 0 and warmed.skipped
    f = tracker.features()
    assert f.warming_up and (f.btc_vol_annual, f.collateral_vol_annual, f.samples) == (0.0, 0.0, 0)
    assert math.isnan(f.swing_high)
    [warning] = [e for e in logs if e["log_level"] == "warning"]
    assert "start cold" in warning["event"]


async def test_off_reads_nothing() -> None:
    tracker = FeatureTracker.for_bar_length(MINUTE)
    exchange = client("http://127.0.0.1:9")  # never contacted
    try:
        warmed = await warm_features(tracker, exchange, BTC, "WETH", days=0, bar_ms=MINUTE)
    finally:
        await exchange.close()
    assert (warmed.bars, warmed.skipped) == (0, "off")


@pytest.mark.parametrize(
    ("asset", "symbol"),
    [("WETH", "ETH/USD:ETH"), ("ETH", "ETH/USD:ETH"), ("WBTC", BTC), ("cbBTC", BTC), ("LINK", "LINK/USD:LINK")],
)
def test_the_collaterals_own_inverse_perpetual(asset: str, symbol: str) -> None:
    assert collateral_perp(asset, BTC) == symbol


async def test_a_history_of_a_few_bars_is_not_a_warm_start(venue: Venue) -> None:
    """B17: 2 bars reported success with btc_vol_annual=63.08 (6,308 % a year) and the bot hedged 100 %."""
    with capture_logs() as logs:
        warmed, tracker = await warm(venue, venue.server.url, BTC, "WBTC", days=3 / 1440)
    assert warmed.bars == 0 and "a warm start needs 360" in (warmed.skipped or "")
    f = tracker.features()
    assert f.warming_up and (f.btc_vol_annual, f.samples) == (0.0, 0)
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == ["feature warm-up failed: features start cold"]
