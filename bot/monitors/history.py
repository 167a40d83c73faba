"""Warms the engine's features at start on the exchange's recent bars, as the backtest warms them on history.

Without it a fresh bot decides its first day on cold features: a volatility from a handful of returns
and a beta strategies do not trust yet. With it, the first decision sees a week of one-minute bars.

Best effort: any failure (network, a symbol the venue does not list, a timeout) logs a warning and the
bot starts cold, exactly as without a warm-up. It reads public OHLCV only, the same in every mode.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from bot.clock import Clock, wall_ms
from bot.domain.features.history import Ohlcv, closed_bars, feed_bars
from bot.domain.features.tracker import FeatureTracker, min_feature_bars
from bot.log import get_logger

log = get_logger("hedgebot.history")

# Bars per request. Each request names its window [since, until], so every venue pages the same way
# whatever it does with a since alone. A window holds as many bars as the venue gives in one answer: OKX
# gives 100 older one-minute bars. On Binance up to 1000 klines weigh 5 and more weigh 10, so 1000 is the
# cheapest per bar: a week of minutes is 11 pages, 55 weight per symbol, against the 1200 a minute ccxt's
# rolling limiter allows binancecoinm. The warm-up runs before the feeds start, out of their way.
PAGE_BARS = {"okx": 100}
DEFAULT_PAGE_BARS = 1_000
TIMEOUT_S = 120.0  # OKX: about 100 requests a symbol; past this, start cold
MAX_STALE_BARS = 10  # history ending longer ago than this would splice two far-apart prices into one return

# Reserve symbols whose own perpetual is another coin's. Liquid-staking tokens (wstETH, ...) have none
# listed: they warm the BTC side only rather than borrow ETH's numbers.
_PERP_COIN = {"WETH": "ETH", "WBTC": "BTC", "CBBTC": "BTC", "TBTC": "BTC"}


class WarmupError(Exception):
    """Why the history could not be read; the bot starts cold."""


@dataclass(frozen=True, slots=True)
class Warmup:
    """What the warm-up fed: bars, and the collateral symbol used (None: BTC side only)."""

    bars: int
    collateral_symbol: str | None
    skipped: str | None = None  # why nothing was fed


def collateral_perp(collateral_asset: str, btc_symbol: str) -> str:
    """The ccxt symbol of the collateral's inverse perpetual: `ETH/USD:ETH` for WETH, BTC's own for WBTC."""
    coin = collateral_asset.upper()
    coin = _PERP_COIN.get(coin, coin)
    return btc_symbol if coin == "BTC" else f"{coin}/USD:{coin}"


def timeframe_for(exchange: Any, bar_ms: int) -> str:
    """The venue's timeframe name for bars of `bar_ms` ("1m" for a minute)."""
    for name in exchange.timeframes or {}:
        if exchange.parse_timeframe(name) * 1000 == bar_ms:
            return str(name)
    raise WarmupError(f"{exchange.id} has no {bar_ms / 60_000:g}-minute bars")


async def fetch_bars(
    exchange: Any, symbol: str, timeframe: str, bar_ms: int, since_ms: int, now_ms: int
) -> list[Ohlcv]:
    """The closed bars of `symbol` from `since_ms` to `now_ms`, oldest first, one window at a time."""
    window_ms = PAGE_BARS.get(exchange.id, DEFAULT_PAGE_BARS) * bar_ms
    rows: list[Ohlcv] = []
    # Windows tile the span, so an empty one (an outage, a perpetual listed since) is skipped, not an end.
    for cursor in range(since_ms, now_ms - bar_ms + 1, window_ms):
        until = cursor + window_ms - 1
        page = await exchange.fetch_ohlcv(symbol, timeframe, cursor, window_ms // bar_ms, {"until": until})
        rows.extend(r for r in page if cursor <= int(r[0]) <= until)
    return closed_bars(rows, bar_ms, now_ms)


async def _fetch(exchange: Any, symbol: str, timeframe: str, bar_ms: int, since_ms: int, now_ms: int) -> list[Ohlcv]:
    rows = await fetch_bars(exchange, symbol, timeframe, bar_ms, since_ms, now_ms)
    if not rows:
        raise WarmupError(f"{exchange.id} returned no closed {timeframe} bars of {symbol}")
    # Too few bars give a volatility that is noise (2 bars read as 6,308 % a year, B17): cold is better.
    needed = min_feature_bars(bar_ms)  # what the tracker itself needs before its features are measurements
    if len(rows) < needed:
        raise WarmupError(
            f"{exchange.id} returned {len(rows)} closed {timeframe} bars of {symbol}; a warm start needs {needed} "
            "(a quarter of the volatility half-life of a day)"
        )
    last_close_ms = int(rows[-1][0]) + bar_ms
    if now_ms - last_close_ms > MAX_STALE_BARS * bar_ms:
        raise WarmupError(f"{exchange.id}'s {symbol} history ends {(now_ms - last_close_ms) / 60_000:.0f} min ago")
    return rows


async def _warm(
    tracker: FeatureTracker, exchange: Any, btc_symbol: str, collateral_asset: str, days: float, bar_ms: int, now: int
) -> Warmup:
    await exchange.load_markets()
    timeframe = timeframe_for(exchange, bar_ms)
    # From a bar's open, and one bar more: n returns need n + 1 closes.
    since = (now - int(days * 86_400_000)) // bar_ms * bar_ms - bar_ms
    wanted = collateral_perp(collateral_asset, btc_symbol)
    listed = wanted == btc_symbol or wanted in exchange.markets
    fetches = [_fetch(exchange, btc_symbol, timeframe, bar_ms, since, now)]
    if listed and wanted != btc_symbol:
        fetches.append(_fetch(exchange, wanted, timeframe, bar_ms, since, now))
    results = await asyncio.gather(*fetches, return_exceptions=True)
    btc = results[0]
    if isinstance(btc, BaseException):
        raise btc
    collateral: list[Ohlcv] | None = btc if wanted == btc_symbol else None
    if len(results) > 1:
        got = results[1]
        if isinstance(got, BaseException):
            log.warning("collateral history unreadable: warming BTC only", symbol=wanted, error=str(got))
        else:
            collateral = got
    elif not listed:
        log.info(
            "no collateral perpetual listed: warming BTC only (collateral volatility and beta start cold)",
            exchange=exchange.id,
            symbol=wanted,
        )
    # Exchange marks are USD per coin, as the Aave oracle's prices are: close enough a proxy for the
    # oracle's price for volatility and beta. The live sampler then carries on with the oracle's.
    fed = feed_bars(tracker, btc, collateral)
    used = wanted if collateral is not None else None
    if fed == 0:
        raise WarmupError(f"the {btc_symbol} and {wanted} bars share no minute")
    f = tracker.features()
    log.info(
        "features warmed on exchange history",
        exchange=exchange.id,
        bars=fed,
        collateral=used or "none (BTC only)",
        btc_vol_annual=round(f.btc_vol_annual, 4),
        collateral_vol_annual=round(f.collateral_vol_annual, 4),
        beta=round(f.beta, 3),
        correlation=round(f.correlation, 3),
        warming_up=f.warming_up,  # the BTC-only warm-up leaves the collateral side on the prior
    )
    return Warmup(fed, used)


async def warm_features(
    tracker: FeatureTracker,
    exchange: Any,
    btc_symbol: str,
    collateral_asset: str,
    *,
    days: float,
    bar_ms: int,
    clock: Clock = wall_ms,
    timeout_s: float = TIMEOUT_S,
) -> Warmup:
    """Feed `tracker` the last `days` of closed bars of BTC and the collateral; what was fed. Never raises.

    Nothing is fed until every page has arrived, so a failure part-way leaves the tracker as it was.
    """
    if days <= 0:
        log.info("feature warm-up off: features start cold")
        return Warmup(0, None, "off")
    try:
        async with asyncio.timeout(timeout_s):
            return await _warm(tracker, exchange, btc_symbol, collateral_asset, days, bar_ms, clock())
    except Exception as exc:  # best effort: a bot that cannot read history still starts, as it did before
        why = str(exc) or type(exc).__name__
        log.warning("feature warm-up failed: features start cold", exchange=exchange.id, error=why)
        return Warmup(0, None, why)
