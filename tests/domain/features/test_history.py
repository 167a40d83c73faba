"""Recorded bars into a FeatureTracker: closed bars only, the two series joined on their minute."""

from __future__ import annotations

import math
import random

import pytest

from bot.domain.features.history import closed_bars, feed_bars
from bot.domain.features.tracker import FeatureTracker

MINUTE = 60_000


def bars(start_ms: int, closes: list[float]) -> list[list[float]]:
    return [[start_ms + i * MINUTE, c, c * 1.001, c * 0.999, c, 0.0] for i, c in enumerate(closes)]


def walk(n: int, start: float, seed: int) -> list[float]:
    rng = random.Random(seed)
    out = [start]
    for _ in range(n - 1):
        out.append(out[-1] * math.exp(rng.gauss(0, 0.001)))
    return out


def test_the_bar_still_forming_and_repeats_are_left_out() -> None:
    rows = bars(0, [1.0, 2.0, 3.0])
    got = closed_bars([rows[1], rows[0], rows[1], rows[2]], MINUTE, now_ms=3 * MINUTE - 1)
    assert [r[0] for r in got] == [0, MINUTE]  # the third bar closes at 3 min: not yet


def test_a_minute_missing_from_the_collateral_is_left_out_of_both() -> None:
    btc, eth = walk(500, 60_000.0, 1), walk(500, 3_000.0, 2)
    btc_rows, eth_rows = bars(0, btc), bars(0, eth)
    del eth_rows[100:110]  # an outage on the ETH perpetual
    tracker = FeatureTracker.for_bar_length(MINUTE)
    assert feed_bars(tracker, btc_rows, eth_rows) == 490
    joined = FeatureTracker.for_bar_length(MINUTE)
    for i in [*range(100), *range(110, 500)]:
        joined.update(btc[i], btc[i] * 1.001, btc[i] * 0.999, eth[i])
    assert tracker.features() == joined.features()


def test_btc_alone_moves_volatility_and_swings_not_beta() -> None:
    btc = walk(400, 60_000.0, 3)  # past the 360 bars the features need
    tracker = FeatureTracker.for_bar_length(MINUTE)
    assert feed_bars(tracker, bars(0, btc), None) == 400
    f = tracker.features()
    assert f.btc_vol_annual > 0 and f.swing_high == pytest.approx(max(btc[-1441:-1]) * 1.001)
    # The collateral side is cold until live samples: strategies keep beta 1, and say it is warming up.
    assert (f.collateral_vol_annual, f.beta, f.samples, f.warming_up) == (
        0.0,
        1.0,
        0,
        True,
    )
