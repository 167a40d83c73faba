"""The replay's vectorised features equal the bar-by-bar FeatureTracker exactly, on the shared data."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from bot.backtest.data import SHARED_DATA_DIR, AlignedBars, align, load_candles
from bot.domain.features.series import EMPTY_TRACKER_FEATURES, feature_series
from bot.domain.features.tracker import COLD_FEATURES, FeatureTracker, MarketFeatures, min_feature_bars
from strategies.dynamic import Dynamic
from tests.strategies.test_snapshots import snapshot_at

DATA = SHARED_DATA_DIR
MINUTE = 60_000
HOUR = 3_600_000
DAY = 86_400_000


def _same(a: MarketFeatures, b: MarketFeatures) -> bool:
    """Equal field by field, NaN equal to NaN (the swing levels before any bar)."""
    return all(
        x == y or (isinstance(x, float) and isinstance(y, float) and math.isnan(x) and math.isnan(y))
        for x, y in zip(
            (
                a.btc_vol_annual,
                a.collateral_vol_annual,
                a.beta,
                a.correlation,
                a.swing_high,
                a.swing_low,
                a.samples,
                a.warming_up,
            ),
            (
                b.btc_vol_annual,
                b.collateral_vol_annual,
                b.beta,
                b.correlation,
                b.swing_high,
                b.swing_low,
                b.samples,
                b.warming_up,
            ),
            strict=True,
        )
    )


def _check(bars: AlignedBars, lo: int, hi: int, bar_ms: int) -> None:
    _, bh, bl, bc = bars.btc
    cc = bars.collateral[3]
    series = feature_series(bc[lo:hi], bh[lo:hi], bl[lo:hi], cc[lo:hi], bar_ms)
    tracker = FeatureTracker.for_bar_length(bar_ms)
    assert _same(tracker.features(), EMPTY_TRACKER_FEATURES)
    assert len(series) == hi - lo
    for k, i in enumerate(range(lo, hi)):
        tracker.update(bc[i], bh[i], bl[i], cc[i])
        expected = tracker.features()
        got = series.at(k)
        assert _same(got, expected), f"bar {k}: {got} != {expected}"
        assert type(got.samples) is int and type(got.beta) is float
        # B17: until the documented minimum both give the cold values and say so, then measurements.
        warming = k + 1 < min_feature_bars(bar_ms)
        assert got.warming_up is warming
        if warming:
            assert _same(got, COLD_FEATURES), f"bar {k}: {got}"


@pytest.fixture(scope="module")
def hourly() -> AlignedBars:
    return align(load_candles(DATA / "binance_BTCUSDT_1h.csv.gz"), load_candles(DATA / "binance_ETHUSDT_1h.csv.gz"))


@pytest.fixture(scope="module")
def minutes() -> AlignedBars:
    return align(
        load_candles(DATA / "binance_BTCUSDT_1m_20210420-20210520.csv.gz"),
        load_candles(DATA / "binance_ETHUSDT_1m_20210420-20210520.csv.gz"),
    )


def test_hourly_bars_over_the_covid_crash_match_the_tracker_bit_for_bit(hourly: AlignedBars) -> None:
    start = next(i for i, t in enumerate(hourly.ts_ms) if t >= 1_583_020_800_000)  # 2020-03-01
    _check(hourly, start, start + 24 * 60, HOUR)


def test_minute_bars_of_the_may_2021_crash_match_the_tracker_bit_for_bit(minutes: AlignedBars) -> None:
    # Three weeks: the one-week beta window fills and rolls, the one-day swing window rolls many times.
    _check(minutes, 0, 21 * 1440, MINUTE)


@pytest.mark.parametrize("bars", [0, 1, 2, 3, 7, 8, 9, 50])
def test_short_series_and_tiny_windows_match(hourly: AlignedBars, bars: int) -> None:
    # Daily bar length: vol half-life 1 bar, beta window 7 returns, swing lookback 2 bars.
    _check(hourly, 100, 100 + bars, DAY)


def test_series_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        feature_series([1.0, 2.0], [1.0], [1.0, 2.0], [1.0, 2.0], HOUR)


def test_the_early_bars_are_gated_in_both_and_the_gate_opens_at_the_minimum(minutes: AlignedBars) -> None:
    """B17: 2 one-minute bars gave btc_vol_annual=63.08 (6,308 % a year) and the bot hedged 100 %. The first
    360 one-minute bars (a quarter of the one-day half-life) now hold the cold values in the tracker and the series."""
    need = min_feature_bars(MINUTE)
    assert need == 360 and min_feature_bars(HOUR) == 30
    _check(minutes, 5_000, 5_000 + need + 5, MINUTE)  # the early bars, bit for bit, across the gate
    _, bh, bl, bc = minutes.btc
    cc = minutes.collateral[3]
    series = feature_series(bc[:need], bh[:need], bl[:need], cc[:need], MINUTE)
    assert series.at(1).btc_vol_annual == 0.0  # not a 2-bar volatility: none measured yet
    assert series.at(need - 2).warming_up and not series.at(need - 1).warming_up
    assert series.at(need - 1).btc_vol_annual > 0


def test_a_btc_only_warm_up_leaves_the_collateral_side_warming(minutes: AlignedBars) -> None:
    """History with no collateral perpetual warms BTC alone: its volatility is measured, the collateral's
    volatility and beta stay cold until the live sampler has taken enough bars of both."""
    tracker = FeatureTracker.for_bar_length(MINUTE)
    _, bh, bl, bc = minutes.btc
    cc = minutes.collateral[3]
    for i in range(400):
        tracker.update_btc(bc[i], bh[i], bl[i])
    f = tracker.features()
    assert f.warming_up and f.btc_vol_annual > 0 and math.isfinite(f.swing_low)
    assert (f.collateral_vol_annual, f.beta, f.samples) == (0.0, 1.0, 0)
    for i in range(400, 400 + 360):
        tracker.update(bc[i], bh[i], bl[i], cc[i])
    assert not tracker.features().warming_up


def test_dynamic_does_not_hedge_on_two_bars_of_noise() -> None:
    """B17, the symptom: after 2 one-minute bars of a 2 % move the tracker read a volatility of thousands of
    percent a year and `dynamic` hedged 100 %. Warming up, it plans exactly as cold (its own volatility floor)."""
    tracker = FeatureTracker.for_bar_length(MINUTE)
    for btc, eth in ((60_000.0, 3_000.0), (58_800.0, 2_940.0), (60_000.0, 3_000.0)):
        tracker.update(btc, btc, btc, eth)
    noisy = tracker.features()
    assert noisy.warming_up
    strategy = Dynamic.from_params({})
    at_hf = snapshot_at(1.6)
    on_tracker = strategy.decide(replace(at_hf, features=noisy))
    on_prior = strategy.decide(replace(at_hf, features=COLD_FEATURES))
    assert on_tracker.hedge_usd == on_prior.hedge_usd < 0.5 * at_hf.lending.collateral_usd
