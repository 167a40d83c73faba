"""Feeding recorded bars to a FeatureTracker: completed bars only, two series joined on time, oldest first."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.features.tracker import FeatureTracker

# One bar as ccxt gives it: [open time (ms), open, high, low, close, volume].
Ohlcv = Sequence[float]


def closed_bars(rows: Sequence[Ohlcv], bar_ms: int, now_ms: int) -> list[Ohlcv]:
    """The rows whose bar had closed by `now_ms`, oldest first, one per open time.

    The bar still forming is left out: its close is only the latest trade, and the live sampler takes
    that minute itself.
    """
    by_open = {int(r[0]): r for r in rows if int(r[0]) + bar_ms <= now_ms}
    return [by_open[t] for t in sorted(by_open)]


def feed_bars(tracker: FeatureTracker, btc: Sequence[Ohlcv], collateral: Sequence[Ohlcv] | None) -> int:
    """Feed `btc` (with `collateral` closes joined on open time) to `tracker`; the number of bars fed.

    Without a collateral series only the BTC side moves (volatility and swings). With one, a minute
    missing from either series is left out of both, so every return pairs the same interval.
    """
    if collateral is None:
        for r in btc:
            tracker.update_btc(float(r[4]), float(r[2]), float(r[3]))
        return len(btc)
    collateral_close = {int(r[0]): float(r[4]) for r in collateral}
    fed = 0
    for r in btc:
        close = collateral_close.get(int(r[0]))
        if close is not None:
            tracker.update(float(r[4]), float(r[2]), float(r[3]), close)
            fed += 1
    return fed
