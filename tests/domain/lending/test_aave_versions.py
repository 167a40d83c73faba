"""The replica's version rules: v3.5's unfloored health factor and rounded-up debt, v3.6's e-mode-only
collateral, and e-mode membership by bitmap (v3.2+) or by the reserve's own bits (before)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.lending import aave_math
from bot.domain.lending.aave_math import V3_0, V3_6, PoolRules, ReserveBalance, account_data
from bot.domain.lending.account import ChainAccountData, EModeCategory, ReserveState, UserReserve, account_health

ETH = 10**18
V3_5 = PoolRules(9, emode_bitmaps=True)


def test_each_revision_names_its_release() -> None:
    assert [PoolRules(r).release for r in (1, 3, 4, 5, 6, 7, 8, 9, 10, 11)] == [
        "3.0", "3.0", "3.1", "3.2", "3.2", "3.3", "3.4", "3.5", "3.6", "3.7",
    ]  # fmt: skip
    assert not V3_0.unfloored_health_factor and V3_0.threshold_gates_collateral
    assert V3_5.unfloored_health_factor and V3_5.threshold_gates_collateral
    assert V3_6.unfloored_health_factor and not V3_6.threshold_gates_collateral


def _two_collaterals() -> list[ReserveBalance]:
    # 1 WETH at 3,001 (LT 82.5 %) + 0.05 WBTC at 60,000 (LT 78 %); 4,000.000001 USDC of debt at 0.99999999.
    return [
        ReserveBalance("WETH", 300_100_000_000, 18, 8_250, collateral=ETH),
        ReserveBalance("WBTC", 6_000_000_000_000, 8, 7_800, collateral=5_000_000),
        ReserveBalance("USDC", 99_999_999, 6, 7_800, debt=4_000_000_001),
    ]


def test_v3_5_weighs_every_collateral_without_flooring_the_threshold() -> None:
    reserves = _two_collaterals()
    old, new = account_data(reserves, V3_0), account_data(reserves, V3_5)
    weighted = 300_100_000_000 * 8_250 + 300_000_000_000 * 7_800
    assert old.current_liquidation_threshold_bps == new.current_liquidation_threshold_bps == 8_025  # reported floored
    # Debt in base currency: 4,000.000001 * 0.99999999 = 3,999.99996... floored before v3.5, rounded up after.
    assert old.total_debt_base == 4_000_000_001 * 99_999_999 // 10**6
    assert new.total_debt_base == old.total_debt_base + 1
    assert old.health_factor_wad == aave_math.wad_div(
        aave_math.percent_mul(600_100_000_000, 8_025), old.total_debt_base
    )
    assert new.health_factor_wad == aave_math.wad_div(weighted, new.total_debt_base) // 10_000
    assert new.health_factor_wad > old.health_factor_wad  # the floored threshold understated it


def test_an_emode_only_collateral_counts_from_v3_6() -> None:
    # weETH: threshold 0 of its own, 95 % in the account's e-mode.
    weeth = ReserveBalance("weETH", 315_000_000_000, 18, 9_500, collateral=3 * ETH, base_liquidation_threshold_bps=0)
    debt = ReserveBalance("WETH", 300_000_000_000, 18, 9_500, debt=2 * ETH)
    assert account_data([weeth, debt], V3_6).total_collateral_base == 945_000_000_000
    for rules in (V3_0, V3_5):
        assert account_data([weeth, debt], rules).total_collateral_base == 0
        assert aave_math.liquidation_price([weeth, debt], "weETH", rules) is None
    liq = aave_math.liquidation_price([weeth, debt], "weETH", V3_6)
    assert liq is not None and liq / 1e8 == pytest.approx(6_000 / (3 * 0.95), rel=1e-8)
    # Outside e-mode it still counts on v3.6, with a threshold of 0: value without weight, no liquidation price.
    plain = ReserveBalance("weETH", 315_000_000_000, 18, 0, collateral=3 * ETH)
    data = account_data([plain, debt], V3_6)
    assert data.total_collateral_base == 945_000_000_000 and data.health_factor_wad == 0
    assert aave_math.liquidation_price([plain, debt], "weETH", V3_6) is None


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([V3_0, V3_5, V3_6]),
    st.integers(min_value=10**15, max_value=10**24),  # WETH wei
    st.integers(min_value=10_000_000_000, max_value=1_000_000_000_000),  # price 100..10,000 USD
    st.integers(min_value=10**6, max_value=10**13),  # USDC debt
    st.integers(min_value=0, max_value=10**10),  # WBTC sats (second collateral)
    st.integers(min_value=99_000_000, max_value=101_000_000),  # USDC's price, near 1
)
def test_liquidation_price_is_the_exact_crossing_under_every_version(
    rules: PoolRules, wei: int, price: int, debt: int, sats: int, usdc_price: int
) -> None:
    reserves = [
        ReserveBalance("WETH", price, 18, 8_300, collateral=wei),
        ReserveBalance("USDC", usdc_price, 6, 7_800, debt=debt),
    ]
    if sats:
        reserves.append(ReserveBalance("WBTC", 6_000_000_000_000, 8, 7_800, collateral=sats))
    liq = aave_math.liquidation_price(reserves, "WETH", rules)
    assert liq is not None
    if liq == 0:
        assert not aave_math.is_liquidatable(aave_math.with_prices(reserves, {0: 0}), rules)
        return
    assert not aave_math.is_liquidatable(aave_math.with_prices(reserves, {0: liq}), rules)
    assert aave_math.is_liquidatable(aave_math.with_prices(reserves, {0: liq - 1}), rules)


def _wsteth_account(emode: EModeCategory, wsteth_bits: int) -> tuple[list[ReserveState], list[UserReserve]]:
    weth = ReserveState("0xW", "WETH", 18, 300_000_000_000, 8050, 8300, 0, reserve_id=0)
    wsteth = ReserveState("0xS", "wstETH", 18, 360_000_000_000, 7850, 8100, wsteth_bits, reserve_id=3)
    return [weth, wsteth], [UserReserve(0, 0, 44 * ETH // 10, False), UserReserve(42 * ETH // 10, 0, 0, True)]


def test_emode_membership_comes_from_the_bitmap_from_v3_2() -> None:
    # The v3.6 Pool leaves the old category bits at 0; the bitmap says wstETH (reserve 3) is in category 1.
    category = EModeCategory(1, 9300, 9500, collateral_bitmap=0b1011)
    reserves, balances = _wsteth_account(category, wsteth_bits=0)
    chain = ChainAccountData(1_512_000_000_000, 1_320_000_000_000, 0, 9500, 9300, 0)
    health = account_health("0xU", reserves, balances, chain, category, 10**8, 1, 1, False, V3_6)
    [wsteth] = health.collaterals
    assert wsteth.liquidation_threshold == 0.95
    # HF 1 at 13,200 USD of WETH debt / (4.2 * 0.95): 3,308 USD, where the base 81 % would say 3,880.
    assert wsteth.liquidation_price_usd == pytest.approx(13_200 / (4.2 * 0.95), rel=1e-6)
    assert health.aave_release == "3.6"
    # Out of the bitmap: the reserve's own threshold, whatever its old bits say.
    stale = EModeCategory(1, 9300, 9500, collateral_bitmap=0b0011)
    reserves, balances = _wsteth_account(stale, wsteth_bits=1)
    health = account_health("0xU", reserves, balances, chain, stale, 10**8, 1, 1, False, V3_6)
    assert health.collaterals[0].liquidation_threshold == 0.81


def test_before_v3_2_membership_is_the_reserves_own_category_bits() -> None:
    legacy = EModeCategory(1, 9300, 9500)
    reserves, balances = _wsteth_account(legacy, wsteth_bits=1)
    chain = ChainAccountData(1_512_000_000_000, 1_320_000_000_000, 0, 9500, 9300, 0)
    health = account_health("0xU", reserves, balances, chain, legacy, 10**8, 1, 1, False, V3_0)
    assert health.collaterals[0].liquidation_threshold == 0.95
    reserves, balances = _wsteth_account(legacy, wsteth_bits=0)
    health = account_health("0xU", reserves, balances, chain, legacy, 10**8, 1, 1, False, V3_0)
    assert health.collaterals[0].liquidation_threshold == 0.81


def test_the_market_wide_fall_is_where_hf_crosses_1_with_every_volatile_asset_together() -> None:
    # 10 WETH at 3,000 (LT 83 %) against 16,600 USDC: HF 1.5, so a 1/3 fall of ETH (USDC held) liquidates.
    reserves = [
        ReserveBalance("WETH", 300_000_000_000, 18, 8_300, collateral=10 * ETH),
        ReserveBalance("USDC", 100_000_000, 6, 8_000, debt=16_600 * 10**6),
    ]
    for rules in (V3_0, V3_6):
        fall = aave_math.market_wide_fall(reserves, [1.0, 0.0], rules)
        assert fall == pytest.approx(1 / 3, abs=2e-6)
    # Half the beta: it takes twice the fall, and a fall that cannot reach it gives None.
    assert aave_math.market_wide_fall(reserves, [0.5, 0.0], V3_6) == pytest.approx(2 / 3, abs=2e-6)
    assert aave_math.market_wide_fall(reserves, [0.25, 0.0], V3_6) is None


def test_an_emode_loop_is_not_liquidated_by_any_market_wide_fall() -> None:
    # wstETH against WETH: both move with the market, HF stays put; its risk is the peg, not the market.
    loop = [
        ReserveBalance("wstETH", 360_000_000_000, 18, 9_500, collateral=10 * ETH),
        ReserveBalance("WETH", 300_000_000_000, 18, 9_500, debt=11 * ETH),
    ]
    assert aave_math.market_wide_fall(loop, [1.0, 1.0], V3_6) is None
    assert aave_math.market_wide_fall(loop[:1], [1.0], V3_6) is None  # no debt


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([V3_0, V3_6]),
    st.integers(min_value=10**16, max_value=10**22),  # WETH wei
    st.integers(min_value=0, max_value=10**9),  # WBTC sats
    st.integers(min_value=10**8, max_value=10**11),  # USDC debt
    st.integers(min_value=0, max_value=10**18),  # WETH debt (a volatile debt)
)
def test_the_market_wide_fall_is_exact_to_one_part_per_million(
    rules: PoolRules, wei: int, sats: int, usdc: int, weth_debt: int
) -> None:
    reserves = [
        ReserveBalance("WETH", 300_000_000_000, 18, 8_300, collateral=wei, debt=weth_debt),
        ReserveBalance("WBTC", 6_000_000_000_000, 8, 7_800, collateral=sats),
        ReserveBalance("USDC", 100_000_000, 6, 8_000, debt=usdc),
    ]
    betas = [1.0, 1.0, 0.0]
    fall = aave_math.market_wide_fall(reserves, betas, rules)
    if fall is None or fall == 0.0:
        return

    def moved(units: int) -> list[ReserveBalance]:
        factors = [aave_math.FALL_UNIT - units * int(b) for b in betas]
        return aave_math.with_prices(
            reserves,
            {i: r.price * f // aave_math.FALL_UNIT for i, (r, f) in enumerate(zip(reserves, factors, strict=True))},
        )

    units = round(fall * aave_math.FALL_UNIT)
    assert aave_math.is_liquidatable(moved(units), rules)
    assert not aave_math.is_liquidatable(moved(units - 1), rules)
