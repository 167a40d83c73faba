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
    # Fewer bars than `min_feature_bars` taken: the values are COLD_FEATURES' "not measured", not measurements
    # (a volatility from 2 bars read 6,308 % a year and hedged 100 %, B17).
    warming_up: bool = False


def windows_for_bar_length(bar_ms: int) -> tuple[float, int, int]:
    """(vol half-life, beta window, swing lookback) in bars: one day, one week and one day, whatever the bar."""
    bars_per_day = max(1.0, 86_400_000 / bar_ms)
    return bars_per_day, max(2, int(7 * bars_per_day)), max(2, int(bars_per_day))


MIN_FEATURE_BARS = 30


def min_bars_for_halflife(vol_halflife_bars: float) -> int:
    """The fewest bars whose features are measurements: a quarter of the volatility half-life, at least 30.

    Under a quarter of its half-life an EWMA volatility is the first few returns' (noise: 2 one-minute bars
    read 6,308 % a year); 30 returns put its sampling error near 13 %. One-minute bars: 360 (6 hours);
    hourly: 30.
    """
    return max(MIN_FEATURE_BARS, int(vol_halflife_bars / 4))


def min_feature_bars(bar_ms: int) -> int:
    """`min_bars_for_halflife` for bars of `bar_ms` (the tracker's and the series' windows)."""
    return min_bars_for_halflife(windows_for_bar_length(bar_ms)[0])


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

    @property
    def bars(self) -> int:
        """Prices taken: one more than the returns once the first came."""
        return self.n + (self._prev == self._prev)


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

    __slots__ = (
        "_bar_ms",
        "_beta",
        "_bvol",
        "_cur_hi",
        "_cur_lo",
        "_cvol",
        "_hi",
        "_last_hi",
        "_last_lo",
        "_lo",
        "min_bars",
    )

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
        self.min_bars = min_bars_for_halflife(vol_halflife_bars)

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

    @property
    def bars(self) -> tuple[int, int]:
        """Bars taken: (BTC, collateral); `update_btc` moves the first alone."""
        return self._bvol.bars, self._cvol.bars

    def features(self) -> MarketFeatures:
        """Features as of the last bar taken; COLD_FEATURES' values, `warming_up`, for a side with fewer than
        `min_bars` bars (BTC: volatility and swings; collateral: its volatility, beta and correlation)."""
        annualise = math.sqrt(MS_PER_YEAR / self._bar_ms)
        btc_bars, collateral_bars = self.bars
        btc_warm, collateral_warm = btc_bars >= self.min_bars, collateral_bars >= self.min_bars
        ratio = self._beta.value()
        prior = COLD_FEATURES
        return MarketFeatures(
            btc_vol_annual=self._bvol.per_bar() * annualise if btc_warm else prior.btc_vol_annual,
            collateral_vol_annual=self._cvol.per_bar() * annualise if collateral_warm else prior.collateral_vol_annual,
            beta=ratio.beta if collateral_warm else prior.beta,
            correlation=ratio.correlation if collateral_warm else prior.correlation,
            swing_high=self._last_hi if btc_warm else prior.swing_high,
            swing_low=self._last_lo if btc_warm else prior.swing_low,
            samples=ratio.samples if collateral_warm else prior.samples,
            warming_up=not (btc_warm and collateral_warm),
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


# What a side warming up reports, as a tracker that has taken no bar did: no volatility measured (strategies
# apply their own floor, dynamic's min_vol_annual), beta 1 with no samples (not trusted), no swing levels.
COLD_FEATURES = MarketFeatures(
    btc_vol_annual=0.0,
    collateral_vol_annual=0.0,
    beta=1.0,
    correlation=0.0,
    swing_high=math.nan,
    swing_low=math.nan,
    samples=0,
    warming_up=True,
)
