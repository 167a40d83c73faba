"""A hand-made snapshot for strategy unit tests."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.domain.features.tracker import NEUTRAL_FEATURES
from bot.domain.plan import HedgePlan
from bot.domain.snapshot import EMPTY_STATE, HedgeView, LendingView, Snapshot, StrategyState
from bot.venues.ccxt.registry import builtin_instrument


def snapshot_at(health_factor: float, now_ms: int = 0, state: StrategyState = EMPTY_STATE) -> Snapshot:
    """$100k of ETH at 3,000 with the debt that gives `health_factor`; BTC at 60,000; 0.3 BTC margin."""
    amount = 100_000 / 3_000
    debt = 100_000 * 0.825 / health_factor
    lending = LendingView(
        collateral_asset="ETH",
        collateral_amount=amount,
        collateral_price_usd=3_000.0,
        total_collateral_usd=100_000.0,
        debt_usd=debt,
        health_factor=health_factor,
        liquidation_price_usd=debt / (amount * 0.825),
        liquidation_threshold=0.825,
    )
    return Snapshot(
        now_ms=now_ms,
        btc_price=60_000.0,
        lending=lending,
        hedge=HedgeView(contracts=0, entry_price=60_000.0, equity_btc=0.3),
        instrument=builtin_instrument("binancecoinm"),
        features=replace(NEUTRAL_FEATURES, collateral_vol_annual=0.8),
        state=state,
    )


def test_snapshot_helper_is_consistent() -> None:
    snap = snapshot_at(1.25)
    assert snap.lending.distance_to_liquidation == 1 - 1 / 1.25


def test_the_values_a_strategy_sees_and_returns_take_keywords_only() -> None:
    # So a field added in a later release breaks no plugin and none of its tests.
    with pytest.raises(TypeError):
        HedgePlan(5_000.0, 50, 5.0)  # type: ignore[misc]
    with pytest.raises(TypeError):
        HedgeView(0, 60_000.0, 0.3)  # type: ignore[misc]
    assert HedgePlan(hedge_usd=5_000.0, contracts=50, leverage=5.0).stops == ()
