"""Cross-hedge ratio: beta and correlation of collateral returns on BTC returns."""

from __future__ import annotations

import math
import random

import pytest

from bot.domain.hedge_ratio import RollingHedgeRatio, estimate


def series(n: int, beta: float, noise: float, seed: int = 7) -> tuple[list[float], list[float]]:
    rng = random.Random(seed)
    btc, coll = [60_000.0], [3_000.0]
    for _ in range(n):
        rb = rng.gauss(0, 0.01)
        rc = beta * rb + rng.gauss(0, noise)
        btc.append(btc[-1] * math.exp(rb))
        coll.append(coll[-1] * math.exp(rc))
    return coll, btc


def test_recovers_a_known_beta() -> None:
    coll, btc = series(5_000, beta=1.3, noise=0.002)
    ratio = estimate(coll, btc)
    assert ratio.beta == pytest.approx(1.3, abs=0.03)
    assert ratio.correlation > 0.95
    assert ratio.samples == 5_000


def test_noise_lowers_correlation_not_beta() -> None:
    coll, btc = series(5_000, beta=1.0, noise=0.02)
    ratio = estimate(coll, btc)
    assert ratio.beta == pytest.approx(1.0, abs=0.1)
    assert ratio.correlation < 0.6
    assert ratio.residual_variance_share > 0.6


def test_rolling_window_forgets_the_old_regime() -> None:
    coll_a, btc_a = series(500, beta=0.5, noise=0.001, seed=1)
    coll_b, btc_b = series(500, beta=2.0, noise=0.001, seed=2)
    rolling = RollingHedgeRatio(window=200)
    for c, b in zip(coll_a, btc_a, strict=True):
        rolling.update(c, b)
    assert rolling.value().beta == pytest.approx(0.5, abs=0.05)
    scale_c, scale_b = coll_a[-1] / coll_b[0], btc_a[-1] / btc_b[0]
    for c, b in zip(coll_b, btc_b, strict=True):
        rolling.update(c * scale_c, b * scale_b)
    assert rolling.value().beta == pytest.approx(2.0, abs=0.1)
    assert rolling.value().samples == 200


def test_too_little_data_gives_the_default() -> None:
    rolling = RollingHedgeRatio(window=10)
    rolling.update(3_000, 60_000)
    assert rolling.value(default_beta=1.0).beta == 1.0
    assert rolling.value().correlation == 0.0
    with pytest.raises(ValueError, match="window"):
        RollingHedgeRatio(window=1)
    with pytest.raises(ValueError, match="length"):
        estimate([1.0, 2.0], [1.0])


def test_real_eth_btc_beta_is_plausible(shared_data) -> None:  # type: ignore[no-untyped-def]
    from bot.backtest.data import align, load_candles, parse_time_ms
    from bot.domain.features.tracker import FeatureTracker

    bars = align(
        load_candles(shared_data / "binance_BTCUSDT_1h.csv.gz"),
        load_candles(shared_data / "binance_ETHUSDT_1h.csv.gz"),
        parse_time_ms("2021-01-01"),
        parse_time_ms("2021-07-01"),
    )
    btc, eth = list(bars.btc[3]), list(bars.collateral[3])
    assert len(btc) == len(eth) > 4_000
    ratio = estimate(eth, btc)
    # ETH moved more than BTC and with it in H1 2021.
    assert 1.0 < ratio.beta < 1.6
    assert ratio.correlation > 0.7
    tracker = FeatureTracker.for_bar_length(3_600_000)
    for c, b in zip(eth, btc, strict=True):
        tracker.update(b, b, b, c)
    f = tracker.features()
    assert 0.3 < f.btc_vol_annual < 2.0
    assert f.samples == 168
