"""Stale or absurd data halts trading: each case, and healthy data passes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.runtime.guards import Anchor, FeedReadings, GuardLimits, check, follow

NOW = 1_700_000_000_000
HEALTHY = FeedReadings(
    now_ms=NOW,
    block_time_ms=NOW - 12_000,
    btc_mark=60_000.0,
    btc_mark_ms=NOW - 1_000,
    btc_mark_anchor=Anchor(59_900.0),
    collateral_price=3_000.0,
    collateral_anchor=Anchor(2_990.0),
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
        ({"btc_mark": 75_000.0}, "BTC mark moved 25.2% from the last trusted 59,900.00"),
        ({"btc_mark": float("nan"), "btc_mark_anchor": Anchor(), "oracle_btc_usd": None}, "absurd BTC mark"),
        ({"collateral_price": 1_500.0}, "collateral oracle price moved 49.8%"),
        ({"collateral_price": -1.0, "collateral_anchor": Anchor()}, "absurd collateral price"),
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


def walk(prices: list[tuple[int, float]], limits: GuardLimits = LIMITS) -> list[bool]:
    """Whether each collateral reading (at its ms) is fit to trade on, the anchor following as the engine's does."""
    anchor, out = Anchor(3_000.0), []
    for ms, price in prices:
        readings = replace(HEALTHY, now_ms=NOW + ms, block_time_ms=NOW + ms, btc_mark_ms=NOW + ms)
        readings = replace(readings, collateral_price=price, collateral_anchor=anchor)
        out.append(check(readings, limits).ok)
        anchor = follow(anchor, price, NOW + ms, limits)
    return out


def test_an_absurd_level_is_not_trusted_after_one_confirming_reading() -> None:
    """C4: WETH at 0.01 USD was traded on after 0.95 s, because the second 0.01 matched the first."""
    assert walk([(0, 0.01), (1_000, 0.01), (2_000, 0.01), (600_000, 0.01)]) == [False, False, False, False]
    assert walk([(0, 30_000.0), (12_000, 30_000.0)]) == [False, False]  # x10: never trusted on its own


def test_a_real_crash_level_is_trusted_once_it_has_held() -> None:
    """A genuine -25 % block stays: it is trusted after confirm_level_ms, and a return is trusted at once."""
    held = [(0, 2_250.0), (120_000, 2_240.0), (299_000, 2_245.0), (300_000, 2_250.0), (312_000, 2_260.0)]
    assert walk(held) == [False, False, False, True, True]
    assert walk([(0, 2_250.0), (12_000, 2_990.0)]) == [False, True]  # a bad print that comes back


def test_a_gradual_fall_is_followed_reading_by_reading() -> None:
    path = [(i * 12_000, 3_000.0 * 0.95**i) for i in range(1, 15)]  # -5 % a block, -51 % in all
    assert all(walk(path))
