"""When the bot tells a person: a position sliding toward liquidation and back, a hedge changing, a feed dying."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.alerts import Alert, Severity
from bot.domain.orders import Fill, Side
from bot.ops.alert_rules import AlertRules, AlertState
from bot.venues.reconcile import client_id

RULES = AlertRules(health_levels=(1.3, 1.15, 1.05), hysteresis=0.02)


def walk(path: list[float], rules: AlertRules = RULES) -> list[Alert]:
    state, out = AlertState(), []
    for t, hf in enumerate(path):
        state, alerts = rules.on_health(state, hf, t)
        out += alerts
    return out


def test_a_falling_health_factor_alerts_once_per_level_and_the_lowest_is_critical() -> None:
    alerts = walk([1.6, 1.35, 1.29, 1.28, 1.2, 1.14, 1.10, 1.04, 1.03])
    assert [(a.key, a.severity) for a in alerts] == [
        ("health-below-1.3", Severity.WARNING),
        ("health-below-1.15", Severity.WARNING),
        ("health-below-1.05", Severity.CRITICAL),
    ]
    assert alerts[0].message == "health factor 1.290 fell below 1.3"
    assert alerts[0].ts_ms == 2


def test_hovering_at_a_level_does_not_flap_and_recovery_needs_the_hysteresis() -> None:
    alerts = walk([1.31, 1.29, 1.305, 1.299, 1.31, 1.319, 1.32, 1.29])
    assert [a.key for a in alerts] == ["health-below-1.3", "health-above-1.3", "health-below-1.3"]
    assert alerts[1].severity is Severity.INFO
    assert alerts[1].ts_ms == 6  # at 1.32 = 1.3 + 0.02, not before


def test_a_gap_through_several_levels_is_one_alert_and_so_is_the_rebound() -> None:
    alerts = walk([1.5, 1.04, 1.5])
    assert [a.key for a in alerts] == ["health-below-1.05", "health-above-1.3"]


def test_no_debt_or_an_unknown_health_factor_never_alerts() -> None:
    assert walk([float("inf"), float("nan"), 2.0]) == []


@given(st.lists(st.floats(min_value=0.9, max_value=2.0), max_size=40))
def test_the_remembered_levels_follow_the_health_factor(path: list[float]) -> None:
    state = AlertState()
    for t, hf in enumerate(path):
        state, _ = RULES.on_health(state, hf, t)
        # What the rules remember is exactly the levels the HF is under (give or take the hysteresis band).
        for level in RULES.health_levels:
            if hf < level:
                assert level in state.breached_levels
            if hf >= level + RULES.hysteresis:
                assert level not in state.breached_levels


def test_a_hedge_placed_resized_and_closed() -> None:
    assert [a.key for a in RULES.on_position(0, 30, 60_000.0, 1, "HF 1.2")] == ["hedge-placed"]
    (resized,) = RULES.on_position(30, 45, 58_000.0, 2)
    assert resized.message == "hedge resized: short 30 -> 45 contracts at 58,000.0"
    assert [a.key for a in RULES.on_position(45, 0, 61_000.0, 3)] == ["hedge-closed"]
    assert RULES.on_position(45, 45, 61_000.0, 4) == []


def test_a_stop_fill_is_a_stop_out_and_an_entry_fill_is_not() -> None:
    stop_id = client_id("hedgebot", "stop", "main", 66_000.0, 30, 30)
    (alert,) = RULES.on_fill(Fill(stop_id, Side.BUY, 30, 66_010.0, 0.0, 5), now_ms=6)
    assert (alert.key, alert.severity) == (f"hedge-stopped-{stop_id}", Severity.WARNING)
    assert "bought back 30 contracts at 66,010.0" in alert.message
    entry_id = client_id("hedgebot", "entry", 1, "sell", 30, 30)
    assert RULES.on_fill(Fill(entry_id, Side.SELL, 30, 60_000.0, 0.0, 5), now_ms=6) == []


def test_a_feed_going_stale_and_fresh_again() -> None:
    state, alerts = RULES.on_feed(AlertState(), "chain", age_s=75, max_age_s=60, now_ms=1)
    assert [a.key for a in alerts] == ["feed-stale-chain"]
    assert "trading paused" in alerts[0].message
    state, alerts = RULES.on_feed(state, "chain", age_s=90, max_age_s=60, now_ms=2)
    assert alerts == []
    state, alerts = RULES.on_feed(state, "chain", age_s=3, max_age_s=60, now_ms=3)
    assert [a.key for a in alerts] == ["feed-fresh-chain"]
    assert state.stale_feeds == frozenset()


def test_an_error_needing_a_person_is_critical() -> None:
    alert = RULES.on_error("auth", "the exchange rejected the API key: check HEDGEBOT_EXCHANGE__API_KEY", 9)
    assert (alert.key, alert.severity) == ("error-auth", Severity.CRITICAL)


@pytest.mark.parametrize("levels", [(1.0,), (0.9, 1.2), (float("inf"),)])
def test_levels_at_or_below_liquidation_are_refused(levels: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match=r"above 1\.0"):
        AlertRules(levels)


def test_the_printed_health_factor_is_on_the_right_side_of_the_level() -> None:
    """B16: 1.1499 printed as "1.150 fell below 1.15"."""
    [below] = RULES.on_health(AlertState(breached_levels=frozenset({1.3})), 1.1499, 0)[1]
    assert below.message == "health factor 1.149 fell below 1.15"
    [above] = RULES.on_health(AlertState(breached_levels=frozenset({1.3, 1.15})), 1.17001, 0)[1]
    assert above.message == "health factor 1.171 is back above 1.15"


def test_levels_reported_before_a_restart_are_not_reported_again() -> None:
    """B16: the engine seeds its state from the journal's health alerts, so a restart stays quiet."""
    journaled = ["health-below-1.3", "health-below-1.15", "health-above-1.15"]
    assert RULES.breached_after(journaled) == frozenset({1.3})
    breached = RULES.breached_after([*journaled, "health-below-1.05"])  # a gap through 1.15 and 1.05
    assert breached == frozenset({1.3, 1.15, 1.05})
    _, alerts = RULES.on_health(AlertState(breached_levels=breached), 1.04, 0)
    assert alerts == []
    _, fresh = RULES.on_health(AlertState(), 1.04, 0)
    assert [a.key for a in fresh] == ["health-below-1.05"]


def test_a_replica_that_disagrees_with_the_pool_alerts_once_and_once_more_when_it_agrees_again() -> None:
    state, out = AlertState(), []
    for t, matches in enumerate([True, False, False, False, True, True]):
        state, alerts = RULES.on_replica(state, matches, t)
        out += alerts
    assert [(a.key, a.severity, a.ts_ms) for a in out] == [
        ("replica-off", Severity.WARNING, 1),
        ("replica-on", Severity.INFO, 4),
    ]
    assert "price / HF" in out[0].message


def test_the_exchanges_liquidation_fill_is_a_critical_alert() -> None:
    """B2: a liquidation of the hedge raised no alert of its own."""
    (alert,) = RULES.on_fill(Fill("autoclose-1", Side.BUY, 749, 65_286.8, 0.0, 5), now_ms=6)
    assert alert.severity is Severity.CRITICAL and alert.key == "hedge-liquidated"
    assert alert.message.startswith("hedge liquidated: the exchange closed 749 contracts at 65,286.8")
    reentry = RULES.on_reentry("liquidation", Fill("hbEx", Side.SELL, 700, 65_000.0, 0.0, 7), now_ms=8)
    assert reentry.severity is Severity.WARNING and "re-entered after liquidation" in reentry.message
