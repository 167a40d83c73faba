"""The simulated loan's liquidations under today's Aave (v3.3+) and under v3.0: small positions liquidated
in full, no dust left behind, bad debt burned rather than left with the borrower."""

from __future__ import annotations

import pytest

from bot.backtest.loan import LendingSim
from bot.domain.lending import health


def test_a_small_position_goes_in_full_from_v3_3_and_by_half_before() -> None:
    # 1 ETH at 1,900 against 1,600 of debt, LT 83 %: HF 0.986, under 2,000 USD of collateral.
    today = health.liquidate(1.0, 1_900.0, 1_600.0, 0.986, 0.05, "3.6")
    before = health.liquidate(1.0, 1_900.0, 1_600.0, 0.986, 0.05, "3.0")
    assert today.debt_repaid_usd == pytest.approx(1_600.0) and today.debt_usd == pytest.approx(0.0)
    assert before.debt_repaid_usd == pytest.approx(800.0)
    assert today.collateral_seized == pytest.approx(1_600 * 1.05 / 1_900)


def test_half_is_cut_back_so_that_no_dust_is_left() -> None:
    # E-mode at LT 95 %: 2,042 USD of collateral, 2,000 of debt, HF 0.97. Half the debt (1,000 plus a 5 %
    # bonus) would leave 992 USD of collateral, under the 1,000 floor: the Pool refuses that call, and the
    # liquidator covers what leaves exactly 1,000.
    result = health.liquidate(1.0, 2_042.0, 2_000.0, 0.97, 0.05, "3.6")
    assert result.debt_repaid_usd == pytest.approx((2_042 - 1_000) / 1.05)
    assert result.collateral_amount * 2_042 == pytest.approx(1_000.0)
    assert health.liquidate(1.0, 2_042.0, 2_000.0, 0.97, 0.05, "3.0").debt_repaid_usd == pytest.approx(1_000.0)


def test_debt_left_without_collateral_is_burned_from_v3_3() -> None:
    # A gap: 1 ETH now worth 1,000 against 2,000 of debt. All the collateral goes; the rest of the debt stays.
    today = health.liquidate(1.0, 1_000.0, 2_000.0, 0.415, 0.05, "3.6")
    before = health.liquidate(1.0, 1_000.0, 2_000.0, 0.415, 0.05, "3.0")
    assert today.collateral_amount == before.collateral_amount == 0.0
    assert before.debt_usd == pytest.approx(2_000 - 1_000 / 1.05)
    assert today.debt_usd == 0.0 and today.bad_debt_burned_usd == pytest.approx(before.debt_usd)


def test_the_simulated_loan_follows_its_release() -> None:
    # 1 ETH, 1,500 of debt, LT 83 %: liquidatable under 1,807. ETH gaps down to 1,200.
    today = LendingSim(1.0, 1_500.0, 0.83, 0.05)
    old = LendingSim(1.0, 1_500.0, 0.83, 0.05, release="3.0")
    for loan in (today, old):
        loan.fall(2_000.0, 1_200.0)
    assert today.release == "3.6"
    assert today.liquidation_events == 1 and today.debt_usd == pytest.approx(0.0)  # in full: under 2,000 USD
    assert old.liquidation_events >= 2  # half, then the rest once HF <= 0.95
    crossing = 1_500 / 0.83  # where the prompt liquidator acts
    assert today.amount == pytest.approx(1 - 1_500 * 1.05 / crossing)
