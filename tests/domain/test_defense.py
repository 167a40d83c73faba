"""The guardian's amounts: exact ones from the Pool's integer math, and the decision step's USD plan."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.defense import (
    POOL_ROUNDING_UNITS,
    DefensePolicy,
    GuardianView,
    Spend,
    defense_status,
    defense_trigger_price,
    exact_spend,
    health_factor_wad,
    next_defense_usd,
    plan_defense,
    price_at_health_factor,
    repay_to_reach,
    repay_usd_to_reach,
    supply_to_reach,
    supply_usd_to_reach,
)
from bot.domain.lending.aave_math import WAD, ReserveBalance, account_data
from bot.domain.snapshot import LendingView

USD = 10**8  # oracle base unit
TARGET = health_factor_wad(1.35)


def demo_rows(weth: float = 10.0, weth_price: float = 3_000.0, debt_usdc: float = 16_600.0) -> list[ReserveBalance]:
    """The devnet's demo borrower: WETH collateral (LT 83 %), USDC debt; a WBTC row with nothing in it."""
    return [
        ReserveBalance("WETH", round(weth_price * USD), 18, 8300, collateral=round(weth * 10**18)),
        ReserveBalance("WBTC", 60_000 * USD, 8, 7800),
        ReserveBalance("USDC", USD, 6, 8000, debt=round(debt_usdc * 10**6)),
    ]


def hf(rows: list[ReserveBalance]) -> int:
    return account_data(rows).health_factor_wad


def with_debt(rows: list[ReserveBalance], symbol: str, delta: int) -> list[ReserveBalance]:
    return [replace(r, debt=r.debt + delta) if r.symbol == symbol else r for r in rows]


def with_collateral(rows: list[ReserveBalance], symbol: str, delta: int) -> list[ReserveBalance]:
    return [replace(r, collateral=r.collateral + delta) if r.symbol == symbol else r for r in rows]


def test_health_factor_wad_is_exact() -> None:
    assert health_factor_wad(1.35) == 1_350_000_000_000_000_000
    assert health_factor_wad(1.0) == WAD


def test_repaying_the_exact_amount_reaches_the_target_not_beyond() -> None:
    rows = demo_rows(weth_price=2_250.0)  # HF 1.125, under the 1.15 trigger
    amount = repay_to_reach(rows, "USDC", TARGET, margin_ppm=0)
    assert amount is not None
    after = hf(with_debt(rows, "USDC", -amount))
    assert after >= TARGET
    # One unit less than the amount without its rounding unit falls short: the amount is the smallest.
    assert hf(with_debt(rows, "USDC", -(amount - POOL_ROUNDING_UNITS - 1))) < TARGET
    assert after - TARGET < 10**12  # 1e-6 of HF


def test_the_interest_margin_survives_the_debt_growing_until_the_transaction_lands() -> None:
    rows = demo_rows(weth_price=2_250.0)
    amount = repay_to_reach(rows, "USDC", TARGET)  # 5 ppm
    assert amount is not None
    grown = [replace(r, debt=r.debt + r.debt * 4 // 1_000_000) for r in rows]  # 4 ppm of interest
    assert hf(with_debt(grown, "USDC", -amount)) >= TARGET
    assert hf(with_debt(rows, "USDC", -amount)) < health_factor_wad(1.3501)


def test_nothing_to_repay_above_the_target_and_none_when_unreachable() -> None:
    assert repay_to_reach(demo_rows(), "USDC", health_factor_wad(1.2)) == 0  # HF 1.5 already
    # Repaying all of one debt leaves another: the target is out of reach with that asset.
    rows = demo_rows(weth_price=2_000.0)
    rows[1] = replace(rows[1], debt=25_000_000)  # 0.25 WBTC = 15,000 USD of debt
    assert repay_to_reach(rows, "USDC", TARGET) is None


def test_supplying_the_exact_amount_reaches_the_target() -> None:
    rows = demo_rows(weth_price=2_250.0)
    amount = supply_to_reach(rows, "USDC", TARGET, margin_ppm=0)  # USDC as new collateral, LT 80 %
    assert amount is not None and amount > 0
    assert hf(with_collateral(rows, "USDC", amount - POOL_ROUNDING_UNITS)) >= TARGET
    assert hf(with_collateral(rows, "USDC", amount - POOL_ROUNDING_UNITS - 1)) < TARGET


def test_supplying_a_reserve_the_borrower_keeps_off_collateral_cannot_help() -> None:
    rows = demo_rows(weth_price=2_250.0)
    rows[1] = replace(rows[1], collateral=10**8, used_as_collateral=False)
    assert supply_to_reach(rows, "WBTC", TARGET) is None


@settings(max_examples=150, deadline=None)
@given(
    weth=st.floats(0.5, 500.0),
    price=st.floats(500.0, 5_000.0),
    ltv=st.floats(0.5, 0.85),
    target=st.sampled_from([1.2, 1.35, 1.5, 2.0]),
)
def test_repay_amount_is_the_smallest_that_reaches_the_target(
    weth: float, price: float, ltv: float, target: float
) -> None:
    debt = weth * price * ltv
    rows = demo_rows(weth=weth, weth_price=price, debt_usdc=debt)
    target_wad = health_factor_wad(target)
    amount = repay_to_reach(rows, "USDC", target_wad, margin_ppm=0)
    assert amount is not None
    if amount == 0:
        assert hf(rows) >= target_wad
        return
    assert hf(with_debt(rows, "USDC", -amount + POOL_ROUNDING_UNITS)) >= target_wad
    assert hf(with_debt(rows, "USDC", -amount + POOL_ROUNDING_UNITS + 1)) < target_wad


@settings(max_examples=100, deadline=None)
@given(weth=st.floats(0.5, 500.0), price=st.floats(500.0, 5_000.0), ltv=st.floats(0.5, 0.85))
def test_price_at_health_factor_is_the_boundary(weth: float, price: float, ltv: float) -> None:
    rows = demo_rows(weth=weth, weth_price=price, debt_usdc=weth * price * ltv)
    trigger = health_factor_wad(1.15)
    at = price_at_health_factor(rows, "WETH", trigger)
    assert at is not None and at > 0
    repriced = [replace(r, price=at) if r.symbol == "WETH" else r for r in rows]
    assert hf(repriced) >= trigger
    assert hf([replace(r, price=at - 1) if r.symbol == "WETH" else r for r in rows]) < trigger


# --- USD floats -----------------------------------------------------------------------------------


def lending(price: float = 2_250.0, weth: float = 10.0, debt: float = 16_600.0) -> LendingView:
    hf_ = weth * price * 0.83 / debt
    return LendingView(
        collateral_asset="WETH",
        collateral_amount=weth,
        collateral_price_usd=price,
        total_collateral_usd=weth * price,
        debt_usd=debt,
        health_factor=hf_,
        liquidation_price_usd=debt / (weth * 0.83),
        liquidation_threshold=0.83,
    )


def guardian(reserve_usdc: float = 50_000.0, spent: float = 0.0, **kw: object) -> GuardianView:
    base = {
        "enabled": True,
        "address": "0x" + "9" * 40,
        "asset_symbol": "USDC",
        "asset_address": "0x" + "8" * 40,
        "decimals": 6,
        "reserve": round(reserve_usdc * 10**6),
        "price_usd": 1.0,
        "liquidation_threshold": 0.8,
        "spent_today_usd": spent,
    }
    return GuardianView(**{**base, **kw})  # type: ignore[arg-type]


def test_usd_amounts_reach_the_target() -> None:
    view = lending()
    repay = repay_usd_to_reach(view, 1.35)
    assert 10 * 2_250 * 0.83 / (16_600 - repay) == pytest.approx(1.35)
    supply = supply_usd_to_reach(view, 1.35, 0.8)
    assert (10 * 2_250 * 0.83 + supply * 0.8) / 16_600 == pytest.approx(1.35)
    assert repay_usd_to_reach(lending(price=3_000.0), 1.35) == 0.0


def test_the_trigger_price_is_where_the_health_factor_meets_the_trigger() -> None:
    view = lending(price=3_000.0)
    at = defense_trigger_price(view, 1.15)
    assert 10 * at * 0.83 / 16_600 == pytest.approx(1.15)
    assert math.isnan(defense_trigger_price(replace(view, debt_usd=0.0), 1.15))


def test_plan_defends_below_the_trigger_only() -> None:
    policy = DefensePolicy()
    assert plan_defense(lending(price=3_000.0), policy, guardian()) is None  # HF 1.5
    action = plan_defense(lending(), policy, guardian())  # HF 1.125
    assert action is not None
    assert action.kind == "repay" and action.asset_symbol == "USDC" and action.target_health_factor == 1.35
    wanted = repay_usd_to_reach(lending(), 1.35)
    assert action.amount == pytest.approx(wanted * 1.002 * 10**6, abs=1)
    assert "HF 1.125 < trigger 1.15" in action.reason


def test_plan_is_capped_by_the_daily_limit_and_the_reserve() -> None:
    policy = DefensePolicy(max_usd_per_day=3_000.0)
    capped = plan_defense(lending(), policy, guardian(spent=2_000.0))
    assert capped is not None and capped.amount == 1_000 * 10**6
    assert "capped by the daily limit" in capped.reason
    low = plan_defense(lending(), DefensePolicy(), guardian(reserve_usdc=500.0))
    assert low is not None and low.amount == 500 * 10**6 and "capped by the reserve" in low.reason
    assert plan_defense(lending(), policy, guardian(spent=3_000.0)) is None
    assert plan_defense(lending(), policy, guardian(in_flight=True)) is None
    assert plan_defense(lending(), policy, guardian(enabled=False)) is None


def test_status_says_where_the_next_defense_fires_and_what_it_needs() -> None:
    policy = DefensePolicy()
    status = defense_status(lending(price=3_000.0), policy, guardian(reserve_usdc=1_000.0))
    assert status.next_defense_price_usd == pytest.approx(1.15 * 16_600 / (10 * 0.83))
    assert status.next_defense_usd == pytest.approx(16_600 * (1 - 1.15 / 1.35))
    assert status.reserve_usd == pytest.approx(1_000.0)
    assert not status.reserve_covers_next
    assert next_defense_usd(DefensePolicy(action="supply"), 16_600.0, 0.8) == pytest.approx(0.2 * 16_600 / 0.8)


def test_exact_spend_is_the_exact_need_within_the_caps() -> None:
    rows = demo_rows(weth_price=2_250.0)
    need = repay_to_reach(rows, "USDC", TARGET)
    assert need is not None
    assert exact_spend("repay", rows, "USDC", 1.35, [10**12]) == Spend(need, need, False)
    assert exact_spend("repay", rows, "USDC", 1.35, [need - 5, 10**12]) == Spend(need, need - 5, True)
    assert exact_spend("repay", demo_rows(), "USDC", 1.35, [10**12]).exact == 0


def test_exact_spend_follows_the_chain_when_the_replica_disagrees() -> None:
    # A Pool whose HF reads 1 % lower than the replica (another version's rounding, say): the amount aims
    # so that the chain's HF, not the replica's, reaches the target.
    rows = demo_rows(weth_price=2_250.0)
    chain_hf = hf(rows) * 99 // 100
    spend = exact_spend("repay", rows, "USDC", 1.35, [10**12], chain_health_factor_wad=chain_hf)
    plain = exact_spend("repay", rows, "USDC", 1.35, [10**12])
    assert spend.exact is not None and plain.exact is not None and spend.exact > plain.exact
    assert hf(with_debt(rows, "USDC", -spend.amount)) * 99 // 100 >= TARGET
