"""Stale or absurd data halts trading: each case, and healthy data passes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.runtime.guards import FeedReadings, GuardLimits, check

NOW = 1_700_000_000_000
HEALTHY = FeedReadings(
    now_ms=NOW,
    block_time_ms=NOW - 12_000,
    btc_mark=60_000.0,
    btc_mark_ms=NOW - 1_000,
    previous_btc_mark=59_900.0,
    collateral_price=3_000.0,
    previous_collateral_price=2_990.0,
    oracle_updated_ms=NOW - 600_000,
    oracle_btc_usd=60_100.0,
)
LIMITS = GuardLimits()


def test_healthy_data_passes() -> None:
    verdict = check(HEALTHY, LIMITS)
    assert verdict.ok and verdict.summary == "healthy"


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"block_time_ms": NOW - 120_000}, "stale block: 120 s old"),
        ({"block_time_ms": None}, "no block read yet"),
        ({"btc_mark_ms": NOW - 45_000}, "BTC mark is 45 s old"),
        ({"btc_mark": None}, "no BTC mark price yet"),
        ({"btc_mark": 75_000.0}, "BTC mark jumped 25.2%"),
        ({"btc_mark": float("nan"), "previous_btc_mark": None, "oracle_btc_usd": None}, "absurd BTC mark"),
        ({"collateral_price": 1_500.0}, "collateral oracle price jumped 49.8%"),
        ({"collateral_price": -1.0, "previous_collateral_price": None}, "absurd collateral price"),
        ({"oracle_updated_ms": NOW - 30 * 3_600_000}, "oracle price is 30.0 h old"),
        ({"oracle_btc_usd": 55_000.0}, "differ by 9.1%"),
    ],
)
def test_each_problem_halts_and_says_why(change: dict[str, object], problem: str) -> None:
    verdict = check(replace(HEALTHY, **change), LIMITS)  # type: ignore[arg-type]
    assert not verdict.ok
    assert problem in verdict.summary, verdict.summary


def test_limits_are_settings() -> None:
    jumpy = replace(HEALTHY, btc_mark=66_000.0)
    assert not check(jumpy, LIMITS).ok
    assert check(jumpy, replace(LIMITS, max_price_jump=0.2, max_oracle_divergence=0.2)).ok
