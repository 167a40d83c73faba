"""The replica against both devnets (Aave v3.6 and v3.0): e-mode, e-mode-only collateral, a volatile debt,
random two-collateral accounts. Every figure equals Pool.getUserAccountData to the wei, and every
liquidation price is the on-chain crossing to one oracle unit."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from typing import Any

import pytest

from bot.devnet.chain.market import set_answer, set_price
from bot.devnet.chain.positions import fund, open_positions
from bot.devnet.chain.rpc import DevRpc, RpcError
from bot.domain.lending.account import PriceCheck
from bot.domain.lending.betas import fallback_beta
from bot.monitors.aave import AaveMonitor, HealthSnapshot
from bot.monitors.lending_feed import reading
from bot.monitors.rpc import RpcPool
from tests.integration.chain.conftest import START_PRICES
from tests.integration.chain.helpers import (
    account_data,
    assert_liquidation_boundary,
    assert_matches_chain,
    new_borrower,
    position,
    ready_liquidator,
    snapshot,
)

pytestmark = pytest.mark.integration
ETH_EMODE = 1


def test_the_pool_revision_picks_the_math(devnet: dict[str, Any], chain: DevRpc) -> None:
    account = snapshot(devnet, [devnet["accounts"]["borrower"]["address"]]).accounts[0]
    assert account.aave_release == devnet["aave_version"]
    assert account.pool_revision == {"3.6": 10, "3.0": 1}[devnet["aave_version"]]


def test_an_eth_emode_account_is_judged_at_the_categorys_threshold(devnet: dict[str, Any], chain: DevRpc) -> None:
    # wstETH against WETH in the ETH e-mode: 95 %, not wstETH's own 81 %. Reading the category from the
    # reserve's old configuration bits on v3.6 finds none and prices the liquidation 17 % too high.
    user = new_borrower(chain, devnet, supply={"wstETH": 4.2}, borrow={"WETH": 4.4}, emode=ETH_EMODE)
    snap = snapshot(devnet, [user])
    account = snap.accounts[0]
    assert_matches_chain(chain, devnet, account, snap.block_number)
    assert account.emode_category == ETH_EMODE
    [wsteth] = account.collaterals
    assert wsteth.liquidation_threshold == 0.95
    liquidator = ready_liquidator(chain, devnet, "WETH", 10)
    liq = assert_liquidation_boundary(chain, devnet, user, "wstETH", liquidator)
    assert liq / 1e8 == pytest.approx(4.4 * 3000 / (4.2 * 0.95), rel=1e-4)


def test_an_emode_only_collateral_counts_from_v3_6(devnet: dict[str, Any], chain: DevRpc) -> None:
    # weETH has no threshold of its own, 95 % in the ETH e-mode: v3.6 counts it there, earlier versions never.
    v36 = devnet["aave_version"] == "3.6"
    borrow = {"WETH": 3.8 if v36 else 0.9}  # before v3.6 only the wstETH backs the loan
    user = new_borrower(chain, devnet, supply={"weETH": 3.0, "wstETH": 1.0}, borrow=borrow, emode=ETH_EMODE)
    snap = snapshot(devnet, [user])
    account = snap.accounts[0]
    assert_matches_chain(chain, devnet, account, snap.block_number)
    symbols = [c.symbol for c in account.collaterals]
    if v36:
        assert symbols == ["wstETH", "weETH"] or sorted(symbols) == ["weETH", "wstETH"]
        liquidator = ready_liquidator(chain, devnet, "WETH", 10)
        assert_liquidation_boundary(chain, devnet, user, "weETH", liquidator)
        assert_liquidation_boundary(chain, devnet, user, "wstETH", liquidator)
    else:
        assert symbols == ["wstETH"]


def test_a_volatile_debt_against_wbtc(devnet: dict[str, Any], chain: DevRpc) -> None:
    user = new_borrower(chain, devnet, supply={"WBTC": 0.3}, borrow={"WETH": 3.21})
    snap = snapshot(devnet, [user])
    assert_matches_chain(chain, devnet, snap.accounts[0], snap.block_number)
    assert [d.symbol for d in snap.accounts[0].debts] == ["WETH"]
    liquidator = ready_liquidator(chain, devnet, "WETH", 10)
    liq = assert_liquidation_boundary(chain, devnet, user, "WBTC", liquidator)
    assert liq / 1e8 == pytest.approx(3.21 * 3000 / (0.3 * 0.78), rel=1e-4)


def test_a_stablecoin_emode_account(devnet: dict[str, Any], chain: DevRpc) -> None:
    user = new_borrower(chain, devnet, supply={"USDC": 10_000, "WETH": 1}, borrow={"USDC": 10_500}, emode=2)
    snap = snapshot(devnet, [user])
    account = snap.accounts[0]
    assert_matches_chain(chain, devnet, account, snap.block_number)
    thresholds = {c.symbol: c.liquidation_threshold for c in account.collaterals}
    assert thresholds == {"USDC": 0.95, "WETH": 0.83}  # WETH is no collateral of the category


def test_random_two_collateral_accounts_equal_the_chain_to_the_wei(devnet: dict[str, Any], chain: DevRpc) -> None:
    # Awkward amounts and thresholds make every rounding of both formulas show: the v3.0 replica on
    # v3.6 is off on almost every one of these (the weighted threshold floored, the debt rounded down).
    rng = random.Random(13)
    pairs = [("WETH", "WBTC"), ("WETH", "wstETH"), ("wstETH", "WBTC")]
    amounts = {"WETH": 5.0, "WBTC": 0.3, "wstETH": 4.0}
    specs = []
    for i in range(12):
        a, b = pairs[i % 3]
        supply = {a: round(amounts[a] * rng.uniform(0.05, 1), 9), b: round(amounts[b] * rng.uniform(0.05, 1), 7)}
        value = supply[a] * {"WETH": 3000, "WBTC": 60000, "wstETH": 3600}[a] + supply[b] * {
            "WETH": 3000, "WBTC": 60000, "wstETH": 3600}[b]  # fmt: skip
        specs.append(position(devnet, supply, {"USDC": round(value * rng.uniform(0.2, 0.7), 6)}))
    fund(chain, [s.account for s in specs])
    open_positions(chain, devnet, specs)
    snap = snapshot(devnet, [s.account for s in specs])
    for account in snap.accounts:
        assert_matches_chain(chain, devnet, account, snap.block_number)
    liquidator = ready_liquidator(chain, devnet, "USDC", 200_000)
    probed = 0
    for account in snap.accounts[:6]:
        for collateral in account.collaterals:
            if collateral.liquidation_price_raw:  # 0: the other collateral alone covers the debt
                assert_liquidation_boundary(chain, devnet, account.account, collateral.symbol, liquidator)
                probed += 1
    assert probed >= 4


def test_a_replica_that_disagrees_with_the_pool_hands_the_bot_a_conservative_bound(
    devnet: dict[str, Any], chain: DevRpc
) -> None:
    # The monitor as on a fork whose math it does not follow: the other devnet's rules on this Pool.
    user = new_borrower(chain, devnet, supply={"WETH": 2.345678, "WBTC": 0.0876543}, borrow={"USDC": 7_777.77})

    async def wrong_rules() -> HealthSnapshot:
        rpc = RpcPool([devnet["rpc_url"]])
        try:
            monitor = AaveMonitor(rpc, devnet["pool_addresses_provider"])
            market = await monitor.discover()
            monitor.market = replace(market, rules=replace(market.rules, revision=11 - market.rules.revision))
            return await monitor.snapshot([user])
        finally:
            await rpc.close()

    snap = asyncio.run(wrong_rules())
    off = reading(snap, "WETH")
    assert not off.matches_chain
    exact = snapshot(devnet, [user]).accounts[0]
    true_liq = next(c for c in exact.collaterals if c.symbol == "WETH").liquidation_price_usd
    assert true_liq is not None
    assert off.lending.health_factor == exact.health_factor  # the Pool's own, always
    bound = off.lending.liquidation_price_usd
    assert bound == pytest.approx(3000 / exact.health_factor)
    assert bound > true_liq  # the bot hedges as if liquidation were nearer than it is
    set_price(devnet, "WETH", bound)
    assert account_data(chain, devnet, user, int(chain.call("eth_blockNumber"), 16))[5] >= 10**18


def test_prices_behind_capo_adapters_are_checked_for_freshness_underneath(
    devnet: dict[str, Any], chain: DevRpc
) -> None:
    # wstETH and weETH are priced, as on mainnet, through CAPO-shaped adapters: latestAnswer, no latestRoundData.
    wsteth = devnet["reserves"]["wstETH"]
    assert wsteth["oracle_source"] != wsteth["price_feed"]
    with pytest.raises(RpcError):
        chain.call("eth_call", {"to": wsteth["oracle_source"], "data": "0xfeaf968c"}, "latest")  # latestRoundData()
    set_price(devnet, "wstETH", 3_650.0)  # a new round underneath, stamped with this block's time
    stamped = int(chain.call("eth_getBlockByNumber", "latest", False)["timestamp"], 16)

    async def checks(hours_later: float) -> dict[str, PriceCheck]:
        rpc = RpcPool([devnet["rpc_url"]])
        try:
            monitor = AaveMonitor(rpc, devnet["pool_addresses_provider"], oracle_heartbeat_s=3600,
                                  clock=lambda: int((stamped + hours_later * 3600) * 1000))  # fmt: skip
            snap = await monitor.snapshot([devnet["accounts"]["borrower"]["address"]])
            return {p.symbol: p for p in snap.prices}
        finally:
            await rpc.close()

    now = asyncio.run(checks(0))
    assert now["wstETH"].updated_at == stamped and now["wstETH"].price_usd == 3_650.0
    assert now["weETH"].updated_at is not None and not now["weETH"].stale
    later = asyncio.run(checks(2))  # the same rounds seen two hours on: past the one-hour heartbeat
    assert later["wstETH"].stale and later["weETH"].stale and later["WETH"].stale


def test_the_market_wide_fall_is_exact_when_every_feed_moves_together(devnet: dict[str, Any], chain: DevRpc) -> None:
    # Two collaterals and a volatile debt besides the USDC one; every asset but USDC falls together.
    user = new_borrower(chain, devnet, supply={"WETH": 2.5, "WBTC": 0.05, "wstETH": 1.0},
                        borrow={"USDC": 6_000, "WETH": 0.7})  # fmt: skip
    snap = snapshot(devnet, [user])
    account = snap.accounts[0]
    assert_matches_chain(chain, devnet, account, snap.block_number)
    fall = account.market_wide_fall
    assert fall is not None and 0.1 < fall < 0.9 and account.hedgeable_with_a_short

    def hf_after(fall_at: float) -> int:
        # Storage only, no block mined: the probes read the same block, with no interest in between.
        for symbol in devnet["reserves"]:
            if symbol != "USDC":
                set_answer(chain, devnet, symbol, int(START_PRICES[symbol] * (1 - fall_at)), mine=False)
        return account_data(chain, devnet, user, snap.block_number)[5]

    assert hf_after(fall - 0.0001) >= 10**18  # one basis point less: still healthy on chain
    assert hf_after(fall) < 10**18
    for symbol in devnet["reserves"]:
        set_answer(chain, devnet, symbol, START_PRICES[symbol], mine=False)


def test_the_market_wide_fall_at_the_bots_betas_is_exact_when_each_feed_moves_by_its_beta(
    devnet: dict[str, Any], chain: DevRpc
) -> None:
    # As `run` reads it: every asset at its class's beta (ETH and its staking tokens 1.1, WBTC 1, USDC 0).
    user = new_borrower(chain, devnet, supply={"WETH": 2.5, "WBTC": 0.05, "wstETH": 1.0},
                        borrow={"USDC": 6_000, "WETH": 0.7})  # fmt: skip

    async def read() -> HealthSnapshot:
        rpc = RpcPool([devnet["rpc_url"]])
        try:
            monitor = AaveMonitor(rpc, devnet["pool_addresses_provider"])
            return await monitor.snapshot([user], betas=lambda symbol: fallback_beta(symbol).beta)
        finally:
            await rpc.close()

    snap = asyncio.run(read())
    account = snap.accounts[0]
    fall = account.market_wide_fall
    assert fall is not None and 0.1 < fall < 0.9
    plain = snapshot(devnet, [user]).accounts[0].market_wide_fall
    assert plain is not None and fall < plain  # ETH falling 1.1 times as far liquidates it sooner

    def hf_after(fall_at: float) -> int:
        units = round(fall_at * 10**6)  # the fall's resolution, one part per million; each price moves by its beta
        for symbol in devnet["reserves"]:
            moved = 10**6 - round(fallback_beta(symbol).beta * units)
            set_answer(chain, devnet, symbol, START_PRICES[symbol] * moved // 10**6, mine=False)
        return account_data(chain, devnet, user, snap.block_number)[5]

    assert hf_after(fall - 0.0001) >= 10**18  # one basis point less: still healthy on chain
    assert hf_after(fall) < 10**18
    for symbol in devnet["reserves"]:
        set_answer(chain, devnet, symbol, START_PRICES[symbol], mine=False)


def test_an_eth_emode_loop_is_reported_as_not_hedgeable_with_a_short(devnet: dict[str, Any], chain: DevRpc) -> None:
    user = new_borrower(chain, devnet, supply={"wstETH": 5.0}, borrow={"WETH": 5.5}, emode=ETH_EMODE)
    account = snapshot(devnet, [user]).accounts[0]
    assert account.health_factor < 1.2  # tight, and still no market-wide fall liquidates it
    assert account.market_wide_fall is None and not account.hedgeable_with_a_short
