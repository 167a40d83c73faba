"""The features of every bar of a price series at once: what `FeatureTracker` gives bar by bar, bit for bit.

The replay knows all its bars in advance, so it computes the features in one vectorised pass and only
indexes them in its loop. Equality with the tracker is exact, not approximate, because every value is
produced by the same floating-point operations in the same order:
- log returns with `math.log` (numpy's log may differ from libm's in the last bit);
- the EWMA variance with the tracker's own recursion (sequential by nature, one multiply-add a bar);
- the rolling sums of the beta as one running sum (`numpy.cumsum` adds strictly left to right) over the
  returns interleaved with the negated returns leaving the window, the order in which the tracker adds
  the newest return and then drops the oldest;
- elementwise arithmetic and square roots, which IEEE 754 rounds the same in numpy and in Python;
- rolling highs and lows with a block prefix/suffix maximum (van Herk / Gil-Werman), exact as max is;
- the first `min_feature_bars` bars hold the tracker's warming-up values (COLD_FEATURES), constants.
"""

from __future__ import annotations

import math
import operator
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from bot.domain.features.tracker import (
    COLD_FEATURES,
    MS_PER_YEAR,
    MarketFeatures,
    min_bars_for_halflife,
    windows_for_bar_length,
)

Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class FeatureSeries:
    """Column k holds the features once bars 0..k have been taken (`FeatureTracker.features()` then)."""

    btc_vol_annual: array[float]
    collateral_vol_annual: array[float]
    beta: array[float]
    correlation: array[float]
    swing_high: array[float]
    swing_low: array[float]
    samples: array[int]
    warm_from: int = 0  # the first bar whose features are measurements; before it `warming_up`

    def __len__(self) -> int:
        return len(self.samples)

    def at(self, k: int) -> MarketFeatures:
        """The MarketFeatures after bars 0..k."""
        return MarketFeatures(
            btc_vol_annual=self.btc_vol_annual[k],
            collateral_vol_annual=self.collateral_vol_annual[k],
            beta=self.beta[k],
            correlation=self.correlation[k],
            swing_high=self.swing_high[k],
            swing_low=self.swing_low[k],
            samples=self.samples[k],
            warming_up=k < self.warm_from,
        )


EMPTY_TRACKER_FEATURES = COLD_FEATURES
"""What a tracker that has taken no bar gives."""


def feature_series(
    btc_close: Sequence[float],
    btc_high: Sequence[float],
    btc_low: Sequence[float],
    collateral_close: Sequence[float],
    bar_ms: int,
) -> FeatureSeries:
    """The features after each bar, with the windows `FeatureTracker.for_bar_length(bar_ms)` uses."""
    halflife, beta_window, swing_lookback = windows_for_bar_length(bar_ms)
    warm_from = min_bars_for_halflife(halflife) - 1  # bar k has taken k + 1 bars
    bars = len(btc_close)
    if not bars == len(btc_high) == len(btc_low) == len(collateral_close):
        raise ValueError("feature_series: the four price series differ in length")
    if bars == 0:
        return FeatureSeries(array("d"), array("d"), array("d"), array("d"), array("d"), array("d"), array("q"))
    annualise = math.sqrt(MS_PER_YEAR / bar_ms)
    rb = _log_returns(btc_close)
    rc = _log_returns(collateral_close)
    bvar = _ewma_variance(rb * rb, halflife)
    cvar = _ewma_variance(rc * rc, halflife)
    beta, correlation, samples = _rolling_beta(rc, rb, beta_window)
    highs = np.asarray(btc_high, dtype=np.float64)
    lows = np.asarray(btc_low, dtype=np.float64)
    swing_high = _previous_extreme(highs, swing_lookback, highest=True)
    swing_low = _previous_extreme(lows, swing_lookback, highest=False)
    cold = np.arange(bars) < warm_from
    prior = COLD_FEATURES

    def gated(values: Floats, neutral: float) -> array[float]:
        return _column(np.where(cold, neutral, values))

    return FeatureSeries(
        gated(np.sqrt(bvar) * annualise, prior.btc_vol_annual),
        gated(np.sqrt(cvar) * annualise, prior.collateral_vol_annual),
        gated(beta, prior.beta),
        gated(correlation, prior.correlation),
        gated(swing_high, prior.swing_high),
        gated(swing_low, prior.swing_low),
        array("q", np.where(cold, prior.samples, samples).astype(np.int64).tobytes()),
        warm_from,
    )


def _column(values: Floats) -> array[float]:
    # array('d') indexes to plain floats (numpy scalars would leak into the snapshots) at 8 bytes a bar.
    out = array("d")
    out.frombytes(np.ascontiguousarray(values, dtype=np.float64).tobytes())
    return out


def _log_returns(prices: Sequence[float]) -> Floats:
    """math.log(p[k] / p[k-1]) for k >= 1, as the tracker computes them."""
    ratios = map(operator.truediv, prices[1:], prices[:-1])
    return np.fromiter(map(math.log, ratios), dtype=np.float64, count=max(0, len(prices) - 1))


def _ewma_variance(squares: Floats, halflife_bars: float) -> Floats:
    """Variance after each bar (0 until the first return): the tracker's `var += alpha * (r*r - var)`."""
    alpha: float = 1.0 - 0.5 ** (1.0 / halflife_bars)  # as _EwmaVol
    out = np.zeros(len(squares) + 1)
    if len(squares):
        values: list[float] = squares.tolist()
        var = values[0]  # the first return sets the variance; each later one moves it by alpha
        path = [var]
        append = path.append
        for r2 in values[1:]:
            var = var + alpha * (r2 - var)
            append(var)
        out[1:] = path
    return out


def _window_sums(values: Floats, window: int) -> Floats:
    """Sum of the last `window` values after each one, accumulated as the tracker does: add, then drop."""
    count = len(values)
    if count <= window:
        return np.cumsum(values)
    seq = np.empty(count + (count - window))
    seq[:window] = values[:window]
    seq[window::2] = values[window:]
    seq[window + 1 :: 2] = -values[: count - window]  # a - b is a + (-b), exactly
    ends = np.arange(count)
    ends[window:] = window + 2 * (ends[window:] - window) + 1
    return np.cumsum(seq)[ends]


def _rolling_beta(rc: Floats, rb: Floats, window: int) -> tuple[Floats, Floats, npt.NDArray[np.int64]]:
    """(beta, correlation, samples) after each bar, `RollingHedgeRatio.value()` with its defaults."""
    bars = len(rc) + 1
    n = np.minimum(np.arange(bars), window)
    sums = [np.concatenate(([0.0], _window_sums(v, window))) for v in (rc, rb, rc * rc, rb * rb, rc * rb)]
    sc, sb, scc, sbb, scb = sums
    beta = np.ones(bars)
    correlation = np.zeros(bars)
    enough = n >= 2
    nf = np.where(enough, n, 1).astype(np.float64)
    var_b = sbb - sb * sb / nf
    var_c = scc - sc * sc / nf
    cov = scb - sc * sb / nf
    ok = enough & (var_b > 1e-18) & (var_c > 1e-18)
    safe_b = np.where(ok, var_b, 1.0)
    safe_c = np.where(ok, var_c, 1.0)
    beta[ok] = (cov / safe_b)[ok]
    correlation[ok] = np.maximum(-1.0, np.minimum(1.0, cov / np.sqrt(safe_b * safe_c)))[ok]
    return beta, correlation, n


def _previous_extreme(values: Floats, window: int, *, highest: bool) -> Floats:
    """Max (or min) of the `window` values before each one, NaN for the first: the tracker's swing levels."""
    count = len(values)
    out = np.full(count, math.nan)
    if count < 2:
        return out
    acc = np.maximum.accumulate if highest else np.minimum.accumulate
    pad = -math.inf if highest else math.inf
    blocks = -(-count // window)
    padded = np.full(blocks * window, pad)
    padded[:count] = values
    grid = padded.reshape(blocks, window)
    prefix = acc(grid, axis=1).ravel()
    suffix = acc(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    # The window ending at j spans j-window+1..j: the suffix of its first block and the prefix of its last.
    current = prefix[:count].copy()
    j = np.arange(window - 1, count)
    both = suffix[j - window + 1]
    current[window - 1 :] = np.maximum(both, prefix[j]) if highest else np.minimum(both, prefix[j])
    out[1:] = current[:-1]
    return out
