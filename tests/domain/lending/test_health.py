"""Aave V3 health math: the float formulas and the exact on-chain integer replica."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.lending import aave_math, health
from bot.domain.lending.aave_math import ReserveBalance, account_data

ETH = 10**18


def test_health_factor_is_threshold_weighted_collateral_over_debt() -> None:
    legs = [health.CollateralLeg("ETH", 10.0, 3_000.0, 0.825), health.CollateralLeg("BTC", 0.5, 60_000.0, 0.78)]
    expected = (30_000 * 0.825 + 30_000 * 0.78) / 20_000
    assert health.health_factor(legs, 20_000.0) == pytest.approx(expected)
    assert health.health_factor(legs, 0.0) == math.inf


def test_liquidation_price_holds_other_prices() -> None:
    legs = [health.CollateralLeg("ETH", 10.0, 3_000.0, 0.825), health.CollateralLeg("BTC", 0.5, 60_000.0, 0.78)]
    liq = health.liquidation_price(legs, 40_000.0, "ETH")
    moved = [health.CollateralLeg("ETH", 10.0, liq, 0.825), legs[1]]
    assert health.health_factor(moved, 40_000.0) == pytest.approx(1.0)
    # Enough BTC alone: ETH can go to zero.
    assert health.liquidation_price(legs, 10_000.0, "ETH") == 0.0
    assert math.isnan(health.liquidation_price(legs, 0.0, "ETH"))


def test_distance_and_close_factor() -> None:
    assert health.distance_to_liquidation(3_000.0, 2_250.0) == pytest.approx(0.25)
    assert health.close_factor(0.99) == 0.5
    assert health.close_factor(0.95) == 1.0


def test_liquidation_seizes_repaid_debt_plus_bonus() -> None:
    # 10 ETH at 2,000, 17,000 debt, HF 0.97: half the debt is repaid, 8,500 * 1.05 of ETH seized.
    result = health.liquidate(10.0, 2_000.0, 17_000.0, 0.97, 0.05)
    assert result.debt_repaid_usd == pytest.approx(8_500.0)
    assert result.collateral_seized == pytest.approx(8_500 * 1.05 / 2_000)
    assert result.penalty_usd == pytest.approx(425.0)
    assert result.debt_usd == pytest.approx(8_500.0)
    # At HF <= 0.95 the whole debt can go; collateral short of covering it is all taken.
    deep = health.liquidate(10.0, 1_000.0, 17_000.0, 0.5, 0.05)
    assert deep.collateral_amount == 0.0
    assert deep.debt_repaid_usd == pytest.approx(10_000 / 1.05)


def weth(amount_wei: int, price: int, debt: int = 0) -> ReserveBalance:
    return ReserveBalance("WETH", price, 18, 8_250, collateral=amount_wei, debt=debt)


def usdc_debt(amount: int) -> ReserveBalance:
    return ReserveBalance("USDC", 100_000_000, 6, 7_800, collateral=0, debt=amount)


def test_exact_account_data_by_hand() -> None:
    # 10 WETH at 3,000.00000000 and 20,000 USDC of debt.
    data = account_data([weth(10 * ETH, 300_000_000_000), usdc_debt(20_000 * 10**6)])
    assert data.total_collateral_base == 3_000_000_000_000
    assert data.total_debt_base == 2_000_000_000_000
    assert data.current_liquidation_threshold_bps == 8_250
    # HF = 30,000 * 0.825 / 20,000 = 1.2375
    assert data.health_factor_wad == 1_237_500_000_000_000_000


def test_weighted_threshold_is_floored_to_whole_bps() -> None:
    # 1 WETH at 3,000 (LT 82.5 %) + 0.1 WBTC at 60,000 (LT 78 %): (3,000*8,250 + 6,000*7,800)/9,000 = 7,950.
    wbtc = ReserveBalance("WBTC", 6_000_000_000_000, 8, 7_800, collateral=10_000_000)
    exact = account_data([weth(ETH, 300_000_000_000), wbtc, usdc_debt(1_000 * 10**6)])
    assert exact.current_liquidation_threshold_bps == 7_950
    # 1 WETH at 3,001 + 0.05 WBTC at 60,000: (3,001*8,250 + 3,000*7,800)/6,001 = 8,025.04 bps, floored
    # to 8,025 on chain: the float formula is slightly optimistic.
    half = ReserveBalance("WBTC", 6_000_000_000_000, 8, 7_800, collateral=5_000_000)
    data = account_data([weth(ETH, 300_100_000_000), half, usdc_debt(4_000 * 10**6)])
    assert data.current_liquidation_threshold_bps == 8_025
    floats = (3_001 * 0.825 + 3_000 * 0.78) / 4_000
    assert data.health_factor_wad / 1e18 < floats
    assert data.health_factor_wad == 6_001 * 8_025 * 10**18 // 4_000 // 10_000


def test_no_debt_is_max_uint() -> None:
    assert account_data([weth(ETH, 300_000_000_000)]).health_factor_wad == aave_math.MAX_UINT256
    assert aave_math.liquidation_price([weth(ETH, 300_000_000_000)], "WETH") is None


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=10**15, max_value=10**24),  # WETH wei
    st.integers(min_value=10_000_000_000, max_value=1_000_000_000_000),  # price 100..10,000 USD
    st.integers(min_value=10**6, max_value=10**13),  # USDC debt
    st.integers(min_value=0, max_value=10**10),  # WBTC sats (second collateral)
)
def test_liquidation_price_is_the_exact_crossing(wei: int, price: int, debt: int, sats: int) -> None:
    reserves = [weth(wei, price), usdc_debt(debt)]
    if sats:
        reserves.append(ReserveBalance("WBTC", 6_000_000_000_000, 8, 7_800, collateral=sats))
    liq = aave_math.liquidation_price(reserves, "WETH")
    assert liq is not None
    if liq == 0:
        assert not aave_math.is_liquidatable([weth(wei, 0), *reserves[1:]])
        return
    at = [weth(wei, liq), *reserves[1:]]
    below = [weth(wei, liq - 1), *reserves[1:]]
    assert not aave_math.is_liquidatable(at)
    assert aave_math.is_liquidatable(below)


def test_exact_matches_float_for_one_collateral() -> None:
    reserves = [weth(10 * ETH, 300_000_000_000), usdc_debt(20_000 * 10**6)]
    liq = aave_math.liquidation_price(reserves, "WETH")
    assert liq is not None
    float_liq = health.liquidation_price([health.CollateralLeg("WETH", 10.0, 3_000.0, 0.825)], 20_000.0, "WETH")
    assert liq / 1e8 == pytest.approx(float_liq, rel=1e-8)
