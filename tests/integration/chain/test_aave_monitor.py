"""The monitor against a real Aave V3 on anvil: HF, liquidation prices at the boundary, liquidations."""

from __future__ import annotations

from typing import Any

import pytest

from bot.devnet.chain.deploy import encode
from bot.devnet.chain.market import set_answer, set_price
from bot.devnet.chain.rpc import DevRpc
from bot.domain.lending import health
from tests.integration.chain.helpers import (
    MAX_UINT,
    account_data,
    assert_liquidation_boundary,
    new_borrower,
    ready_liquidator,
    snapshot,
)

pytestmark = pytest.mark.integration


def test_health_factor_equals_get_user_account_data_as_weth_falls(devnet: dict[str, Any], chain: DevRpc) -> None:
    borrower = devnet["accounts"]["borrower"]["address"]
    seen = {}
    for price in (3000, 2800, 2500, 2222.22, 2100, 2000.01, 1999.99, 1800):
        set_price(devnet, "WETH", price)
        snap = snapshot(devnet, [borrower])
        account = snap.accounts[0]
        onchain = account_data(chain, devnet, borrower, snap.block_number)
        assert account.matches_chain
        assert account.health_factor_wad == onchain[5]
        assert account.total_collateral_usd == onchain[0] / 1e8
        assert account.total_debt_usd == onchain[1] / 1e8
        assert account.collaterals[0].price_usd == pytest.approx(price)
        assert [d.symbol for d in account.debts] == ["USDC"]
        seen[price] = account.health_factor
    # 10 WETH, LT 83 %, 16,600 USDC of debt: liquidatable below 2,000 USD.
    assert seen[2000.01] >= 1 > seen[1999.99]
    assert seen[3000] == pytest.approx(1.5, rel=1e-6)


def test_demo_borrower_starts_at_hf_1_5(devnet: dict[str, Any], chain: DevRpc) -> None:
    account = snapshot(devnet, [devnet["accounts"]["borrower"]["address"]]).accounts[0]
    assert account.health_factor == pytest.approx(1.5, abs=1e-6)
    assert account.collaterals[0].symbol == "WETH"
    assert account.collaterals[0].liquidation_price_usd == pytest.approx(2000, rel=1e-6)


def test_liquidation_price_is_the_onchain_crossing_with_one_collateral(devnet: dict[str, Any], chain: DevRpc) -> None:
    user = new_borrower(chain, devnet, supply={"WETH": 3.7}, borrow={"USDC": 6_123.45})
    liquidator = ready_liquidator(chain, devnet, "USDC", 10_000)
    liq = assert_liquidation_boundary(chain, devnet, user, "WETH", liquidator)
    assert liq / 1e8 == pytest.approx(6_123.45 / (3.7 * 0.83), rel=1e-6)


def test_liquidation_prices_hold_with_two_collaterals(devnet: dict[str, Any], chain: DevRpc) -> None:
    # Two thresholds (83 % and 78 %): Aave floors their weighted average to whole bps, which moves the
    # crossing away from the float formula's; the replica must land on the chain's one.
    user = new_borrower(chain, devnet, supply={"WETH": 2.345678, "WBTC": 0.0876543}, borrow={"USDC": 7_777.77})
    liquidator = ready_liquidator(chain, devnet, "USDC", 20_000)
    weth_liq = assert_liquidation_boundary(chain, devnet, user, "WETH", liquidator)
    wbtc_liq = assert_liquidation_boundary(chain, devnet, user, "WBTC", liquidator)
    legs = [
        health.CollateralLeg("WETH", 2.345678, 3000.0, 0.83),
        health.CollateralLeg("WBTC", 0.0876543, 60000.0, 0.78),
    ]
    float_weth = health.liquidation_price(legs, 7_777.77, "WETH")
    assert weth_liq / 1e8 == pytest.approx(float_weth, rel=1e-3)
    assert wbtc_liq / 1e8 == pytest.approx(health.liquidation_price(legs, 7_777.77, "WBTC"), rel=1e-3)


def test_liquidation_call_reverts_while_healthy_and_succeeds_below_the_price(
    devnet: dict[str, Any], chain: DevRpc
) -> None:
    user = new_borrower(chain, devnet, supply={"WETH": 5}, borrow={"USDC": 9_000})
    liquidator = ready_liquidator(chain, devnet, "USDC", 20_000)
    liq = snapshot(devnet, [user]).accounts[0].collaterals[0].liquidation_price_raw
    assert liq is not None
    r = devnet["reserves"]
    call = encode("Pool", "liquidationCall", r["WETH"]["address"], r["USDC"]["address"], user, MAX_UINT, False)
    tx = {"from": liquidator, "to": devnet["pool"], "data": call, "gas": hex(3_000_000)}

    set_answer(chain, devnet, "WETH", liq + liq // 100)  # 1 % above: healthy
    [receipt] = chain.wait_receipts([chain.call("eth_sendTransaction", tx)], check=False)
    assert int(receipt["status"], 16) == 0

    set_answer(chain, devnet, "WETH", liq - liq // 100)  # 1 % below: liquidatable
    before = snapshot(devnet, [user]).accounts[0]
    assert before.health_factor < 1
    [receipt] = chain.wait_receipts([chain.call("eth_sendTransaction", tx)], check=False)
    assert int(receipt["status"], 16) == 1
    after = snapshot(devnet, [user]).accounts[0]
    assert after.total_debt_usd < before.total_debt_usd
    assert after.collaterals[0].amount < before.collaterals[0].amount
