"""B15: the one change policy: a relative band and a cooldown, as Hummingbot's hedge loop trades."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.plan import HedgePlan, StopTranche
from bot.domain.rebalance import ChangePolicy, hold_within_band, resize_stops

POLICY = ChangePolicy(min_change_contracts=1, band=0.02, cooldown_ms=30_000)


def plan(contracts: int) -> HedgePlan:
    return HedgePlan(hedge_usd=contracts * 100.0, contracts=contracts, leverage=10.0,
                     stops=(StopTranche(65_000.0, contracts),), reason="wobble")  # fmt: skip


def test_a_one_contract_change_seconds_after_a_trade_is_not_made() -> None:
    held = hold_within_band(plan(727), 728, POLICY, now_ms=5_000, last_fill_ms=0)
    assert held.contracts == 728 and held.stops == (StopTranche(65_000.0, 728),)
    assert "within the band of 15 contracts" in held.reason


def test_a_change_beyond_the_band_waits_for_the_cooldown() -> None:
    assert hold_within_band(plan(700), 728, POLICY, now_ms=5_000, last_fill_ms=0).contracts == 728
    assert hold_within_band(plan(700), 728, POLICY, now_ms=30_000, last_fill_ms=0).contracts == 700


def test_opening_and_closing_never_wait() -> None:
    assert hold_within_band(plan(5), 0, POLICY, now_ms=1, last_fill_ms=0).contracts == 5
    assert hold_within_band(plan(0), 5, POLICY, now_ms=1, last_fill_ms=0).contracts == 0


@given(target=st.integers(0, 5_000), held=st.integers(0, 5_000), since=st.integers(0, 100_000))
def test_what_is_held_back_is_small_or_recent(target: int, held: int, since: int) -> None:
    out = hold_within_band(plan(target), held, POLICY, now_ms=since, last_fill_ms=0)
    assert out.contracts in (target, held)
    assert sum(t.contracts for t in out.stops) == out.contracts
    if out.contracts != target:
        small = abs(target - held) < max(1, 0.02 * max(target, held))
        assert target > 0 and held > 0 and (small or since < 30_000)


def test_stops_resized_to_the_short_that_stays() -> None:
    stops = (StopTranche(65_000.0, 40, "main"), StopTranche(62_000.0, 20, "layer0"))
    assert resize_stops(stops, 70) == (StopTranche(65_000.0, 50, "main"), StopTranche(62_000.0, 20, "layer0"))
    assert resize_stops(stops, 45) == (StopTranche(65_000.0, 40, "main"), StopTranche(62_000.0, 5, "layer0"))
    assert resize_stops(stops, 0) == ()
