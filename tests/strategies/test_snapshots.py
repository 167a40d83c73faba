"""A hand-made snapshot for strategy unit tests."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.features.tracker import NEUTRAL_FEATURES
from bot.domain.snapshot import EMPTY_STATE, HedgeView, LendingView, Snapshot, StrategyState
from bot.venues.ccxt.registry import builtin_instrument


def snapshot_at(health_factor: float, now_ms: int = 0, state: StrategyState = EMPTY_STATE) -> Snapshot:
    """$100k of ETH at 3,000 with the debt that gives `health_factor`; BTC at 60,000; 0.3 BTC margin."""
    amount = 100_000 / 3_000
    debt = 100_000 * 0.825 / health_factor
    lending = LendingView("ETH", amount, 3_000.0, 100_000.0, debt, health_factor, debt / (amount * 0.825), 0.825)
    return Snapshot(
        now_ms,
        60_000.0,
        lending,
        HedgeView(0, 60_000.0, 0.3),
        builtin_instrument("binancecoinm"),
        features=replace(NEUTRAL_FEATURES, collateral_vol_annual=0.8),
        state=state,
    )


def test_snapshot_helper_is_consistent() -> None:
    snap = snapshot_at(1.25)
    assert snap.lending.distance_to_liquidation == 1 - 1 / 1.25
