"""Sizing on net delta, and the risk layer's clips."""

from __future__ import annotations

import pytest

from bot.domain.plan import ConditionalEntry, HedgePlan, StopTranche
from bot.domain.risk import RiskLimits, apply_limits
from bot.domain.sizing import size_hedge
from bot.domain.snapshot import HedgeView, LendingView, Snapshot
from bot.venues.ccxt.registry import builtin_instrument

BINANCE = builtin_instrument("binancecoinm")


def test_seed_example_one() -> None:
    # $5,000 hedge at BTC 60,000 on 100 USD contracts: 50 contracts, 0.0833 BTC.
    s = size_hedge(5_000.0, 0.0, 60_000.0, BINANCE, 5.0)
    assert s.contracts == 50
    assert s.btc_equivalent == pytest.approx(0.08333, rel=1e-3)
    assert s.net_delta_usd == -5_000.0


def test_margin_is_long_btc_and_adds_to_the_short() -> None:
    s = size_hedge(5_000.0, 0.05, 60_000.0, BINANCE, 5.0)
    assert s.contracts == 80  # 0.05 * 60,000 / 100 = 30 more
    assert s.net_delta_usd == pytest.approx(-5_000.0)


@pytest.mark.parametrize(("exchange", "contracts"), [("bybit", 5_000), ("okx", 50), ("deribit", 500)])
def test_contract_sizes_differ_by_venue(exchange: str, contracts: int) -> None:
    assert size_hedge(5_000.0, 0.0, 60_000.0, builtin_instrument(exchange), 5.0).contracts == contracts


def snap(equity_btc: float = 0.1, collateral_usd: float = 100_000.0, debt: float = 50_000.0) -> Snapshot:
    return Snapshot(
        now_ms=0,
        btc_price=60_000.0,
        lending=LendingView(
            collateral_asset="ETH",
            collateral_amount=collateral_usd / 3_000,
            collateral_price_usd=3_000.0,
            total_collateral_usd=collateral_usd,
            debt_usd=debt,
            health_factor=collateral_usd * 0.825 / debt,
            liquidation_price_usd=debt / (collateral_usd / 3_000 * 0.825),
            liquidation_threshold=0.825,
        ),
        hedge=HedgeView(contracts=0, entry_price=0.0, equity_btc=equity_btc),
        instrument=BINANCE,
    )


def plan(contracts: int, leverage: float = 5.0, stops: tuple[StopTranche, ...] | None = None) -> HedgePlan:
    return HedgePlan(
        hedge_usd=contracts * 100.0,
        contracts=contracts,
        leverage=leverage,
        stops=(StopTranche(66_000.0, contracts),) if stops is None else stops,
        reason="test",
    )


def test_a_plan_within_limits_is_untouched() -> None:
    p = plan(50)
    assert apply_limits(p, snap(), RiskLimits(), leverage_cap=10).plan is p


def test_leverage_is_capped_by_strategy_and_limits() -> None:
    checked = apply_limits(plan(50, leverage=50), snap(), RiskLimits(max_leverage=20), leverage_cap=10)
    assert checked.plan.leverage == 10
    assert "cap" in checked.clipped[0]


def test_notional_cap() -> None:
    checked = apply_limits(plan(300), snap(equity_btc=1.0), RiskLimits(max_notional_usd=20_000), leverage_cap=10)
    assert checked.plan.contracts == 200
    assert checked.plan.stopped_contracts == 200


def test_margin_on_the_futures_leg_limits_size() -> None:
    # 0.1 BTC = 6,000 USD of equity at 5x carries 30,000 USD: 300 contracts, less room for the 0.05 %
    # taker fee, without which the exchange rejects the order: 299.
    checked = apply_limits(plan(400), snap(equity_btc=0.1), RiskLimits(), leverage_cap=10)
    assert checked.plan.contracts == 299


def test_no_position_without_a_protective_stop() -> None:
    checked = apply_limits(plan(50, stops=()), snap(), RiskLimits(default_stop_pct=0.1), leverage_cap=10)
    assert checked.plan.stopped_contracts == 50
    assert checked.plan.stop_price == pytest.approx(66_000.0)
    assert "without a protective stop" in checked.plan.reason


def test_capital_at_risk_counts_only_the_short_beyond_collateral_and_margin() -> None:
    # 20,000 USD of collateral, 12,000 debt, 0.1 BTC margin: covered = 26,000 USD. A 1,000-contract short
    # (100,000 USD) has 74,000 uncovered; a stop 3.33 % up (below the 20x liquidation price, 62,905) loses
    # 2,467 > 5 % of 14,000 capital (700).
    s = snap(equity_btc=0.1, collateral_usd=20_000.0, debt=12_000.0)
    checked = apply_limits(
        plan(1_000, leverage=20, stops=(StopTranche(62_000.0, 1_000),)),
        s,
        RiskLimits(max_notional_usd=1e9),
        leverage_cap=20,
    )
    allowed = checked.plan.contracts
    rise = 62_000 / 60_000 - 1
    assert allowed * 100 <= 26_000 + 700 / rise + 100
    assert allowed * 100 > 26_000 + 700 / rise - 200
    assert checked.plan.stops == (StopTranche(62_000.0, allowed),)
    assert any("capital" in r for r in checked.clipped)


def test_conditional_entry_with_a_stop_below_its_trigger_is_dropped() -> None:
    p = plan(10).with_(conditional=(ConditionalEntry(50_000.0, 5, 49_000.0), ConditionalEntry(50_000.0, 5, 52_000.0)))
    checked = apply_limits(p, snap(), RiskLimits(), leverage_cap=10)
    assert len(checked.plan.conditional) == 1
