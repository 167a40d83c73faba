"""Market features the strategies read, computed once per bar by whoever builds snapshots."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from bot.domain.hedge_ratio import RollingHedgeRatio

MS_PER_YEAR = 365.0 * 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class MarketFeatures:
    """Volatility, cross-hedge ratio and recent swing levels as of one bar."""

    btc_vol_annual: float  # EWMA realised volatility of BTC, annualised
    collateral_vol_annual: float
    beta: float  # collateral returns on BTC returns
    correlation: float
    swing_high: float  # highest BTC high over the swing lookback, before the current bar
    swing_low: float  # lowest BTC low over the swing lookback, before the current bar
    samples: int


def windows_for_bar_length(bar_ms: int) -> tuple[float, int, int]:
    """(vol half-life, beta window, swing lookback) in bars: one day, one week and one day, whatever the bar."""
    bars_per_day = max(1.0, 86_400_000 / bar_ms)
    return bars_per_day, max(2, int(7 * bars_per_day)), max(2, int(bars_per_day))


class _EwmaVol:
    __slots__ = ("_alpha", "_prev", "_var", "n")

    def __init__(self, halflife_bars: float) -> None:
        self._alpha = 1.0 - 0.5 ** (1.0 / halflife_bars)
        self._var = 0.0
        self._prev = math.nan
        self.n = 0

    def update(self, price: float) -> None:
        if self._prev == self._prev:
            r = math.log(price / self._prev)
            self._var = r * r if self.n == 0 else self._var + self._alpha * (r * r - self._var)
            self.n += 1
        self._prev = price

    def per_bar(self) -> float:
        return math.sqrt(self._var)


class _RollingExtreme:
    """Max (or min) over the last `window` values, amortised O(1) with a monotonic deque."""

    __slots__ = ("_dq", "_i", "_sign", "window")

    def __init__(self, window: int, *, highest: bool) -> None:
        self.window = window
        self._sign = 1.0 if highest else -1.0
        self._dq: deque[tuple[int, float]] = deque()
        self._i = 0

    def update(self, value: float) -> float:
        v = self._sign * value
        dq = self._dq
        while dq and dq[-1][1] <= v:
            dq.pop()
        dq.append((self._i, v))
        if dq[0][0] <= self._i - self.window:
            dq.popleft()
        self._i += 1
        return self._sign * dq[0][1]


class FeatureTracker:
    """Updated with each bar; `features()` gives the current MarketFeatures.

    Windows are in bars, so the caller converts from time using its bar length; the defaults
    suit hourly bars (one-day vol half-life, one-week beta window, one-day swing lookback).
    """

    __slots__ = ("_bar_ms", "_beta", "_bvol", "_cur_hi", "_cur_lo", "_cvol", "_hi", "_last_hi", "_last_lo", "_lo")

    def __init__(
        self,
        bar_ms: int,
        *,
        vol_halflife_bars: float = 24.0,
        beta_window_bars: int = 168,
        swing_lookback_bars: int = 24,
    ) -> None:
        self._bar_ms = bar_ms
        self._bvol = _EwmaVol(vol_halflife_bars)
        self._cvol = _EwmaVol(vol_halflife_bars)
        self._beta = RollingHedgeRatio(beta_window_bars)
        self._hi = _RollingExtreme(swing_lookback_bars, highest=True)
        self._lo = _RollingExtreme(swing_lookback_bars, highest=False)
        self._last_hi = self._cur_hi = math.nan
        self._last_lo = self._cur_lo = math.nan

    @classmethod
    def for_bar_length(cls, bar_ms: int) -> FeatureTracker:
        """A tracker with windows of one day (vol, swings) and one week (beta), whatever the bar."""
        halflife, beta_window, swing_lookback = windows_for_bar_length(bar_ms)
        return cls(
            bar_ms,
            vol_halflife_bars=halflife,
            beta_window_bars=beta_window,
            swing_lookback_bars=swing_lookback,
        )

    def update(self, btc_close: float, btc_high: float, btc_low: float, collateral_close: float) -> None:
        """Take one bar."""
        self._cvol.update(collateral_close)
        self._beta.update(collateral_close, btc_close)
        self.update_btc(btc_close, btc_high, btc_low)

    def update_btc(self, btc_close: float, btc_high: float, btc_low: float) -> None:
        """Take one bar of BTC alone: volatility and swings move, collateral volatility and beta stay as they are.

        For history with no collateral series: feeding BTC as the collateral would report a beta of 1 at
        correlation 1 that strategies would trust.
        """
        self._bvol.update(btc_close)
        # Swing levels are those of the bars before this one: a level the current bar broke is the signal.
        self._last_hi, self._last_lo = self._cur_hi, self._cur_lo
        self._cur_hi = self._hi.update(btc_high)
        self._cur_lo = self._lo.update(btc_low)

    def features(self) -> MarketFeatures:
        """Features as of the last bar taken."""
        annualise = math.sqrt(MS_PER_YEAR / self._bar_ms)
        ratio = self._beta.value()
        return MarketFeatures(
            btc_vol_annual=self._bvol.per_bar() * annualise,
            collateral_vol_annual=self._cvol.per_bar() * annualise,
            beta=ratio.beta,
            correlation=ratio.correlation,
            swing_high=self._last_hi,
            swing_low=self._last_lo,
            samples=ratio.samples,
        )


NEUTRAL_FEATURES = MarketFeatures(
    btc_vol_annual=0.6,
    collateral_vol_annual=0.8,
    beta=1.0,
    correlation=0.0,
    swing_high=math.nan,
    swing_low=math.nan,
    samples=0,
)
