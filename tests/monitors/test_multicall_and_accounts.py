"""Pure parts of the monitor: aggregate3 encoding against the ABI codec, and e-mode in the account math."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_abi import decode, encode
from hypothesis import given
from hypothesis import strategies as st

from bot.devnet.chain.rpc import create_address
from bot.domain.lending.aave_math import ReserveBalance, account_data
from bot.domain.lending.account import ChainAccountData, EModeCategory, ReserveState, UserReserve, account_health
from bot.monitors.lending_feed import lending_view
from bot.monitors.multicall import AGGREGATE3, Call, decode_aggregate3, encode_aggregate3

addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())


@given(st.lists(st.tuples(addresses, st.binary(max_size=100)), max_size=8))
def test_aggregate3_calldata_matches_the_abi_codec(calls: list[tuple[str, bytes]]) -> None:
    ours = encode_aggregate3([Call(t, d) for t, d in calls])
    theirs = AGGREGATE3 + encode(["(address,bool,bytes)[]"], [[(t, True, d) for t, d in calls]])
    assert ours == theirs


@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=100)), max_size=8))
def test_aggregate3_results_decode_like_the_abi_codec(results: list[tuple[bool, bytes]]) -> None:
    raw = encode(["(bool,bytes)[]"], [results])
    (expected,) = decode(["(bool,bytes)[]"], raw)
    assert decode_aggregate3(raw) == [data if ok else None for ok, data in expected]


def test_create_address_matches_anvils_first_deployment() -> None:
    assert (
        create_address("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266", 0) == "0x5FbDB2315678afecb367f032d93F642f64180aa3"
    )


def test_emode_threshold_and_price_apply_to_reserves_of_the_users_category() -> None:
    # Two stablecoins in e-mode 1 (LT 95 %): the account is judged at 95 %, not the base 78 %.
    usdc = ReserveState("0xA", "USDC", 6, 10**8, 7500, 7800, 1)
    dai = ReserveState("0xB", "DAI", 18, 10**8, 7500, 7800, 1)
    balances = [UserReserve(10_000 * 10**6, 0, 0, True), UserReserve(0, 0, 9_000 * 10**18, False)]
    emode = EModeCategory(1, 9300, 9500, 0)
    rows = [
        ReserveBalance("0xA", 10**8, 6, 9500, collateral=10_000 * 10**6),
        ReserveBalance("0xB", 10**8, 18, 9500, debt=9_000 * 10**18, used_as_collateral=False),
    ]
    expected = account_data(rows)
    chain = ChainAccountData(expected.total_collateral_base, expected.total_debt_base, 0, 9500, 9300,
                             expected.health_factor_wad)  # fmt: skip
    health = account_health("0xU", [usdc, dai], balances, chain, emode, 10**8, 1, 1, False)
    assert health.matches_chain
    assert health.health_factor == expected.health_factor_wad / 10**18
    assert health.collaterals[0].liquidation_threshold == 0.95
    assert health.emode_category == 1


def test_a_replica_that_disagrees_with_the_pool_is_not_traded_on() -> None:
    # The Pool says HF 1.25 for 10 WETH at 3,000; the replica (a fork's math it does not follow) says more.
    usdc = ReserveState("0xA", "USDC", 6, 10**8, 7700, 8000, 0)
    weth = ReserveState("0xW", "WETH", 18, 3_000 * 10**8, 8050, 8300, 0)
    balances = [UserReserve(0, 0, 16_600 * 10**6, False), UserReserve(10 * 10**18, 0, 0, True)]
    chain = ChainAccountData(30_000 * 10**8, 16_600 * 10**8, 0, 6917, 8050, 1_250_000_000_000_000_000)
    health = account_health("0xU", [usdc, weth], balances, chain, None, 10**8, 1, 1, False)
    assert not health.matches_chain
    assert health.collaterals[0].liquidation_price_usd == pytest.approx(2_000.0)  # the replica's own figure
    view = lending_view(health, "WETH")
    assert view.health_factor == 1.25  # always the Pool's
    # The bound price / HF: above the replica's 2,000, so the hedge errs on the safe side.
    assert view.liquidation_price_usd == pytest.approx(3_000 / 1.25)
    agreeing = account_health("0xU", [usdc, weth], balances, replace(chain, liquidation_threshold_bps=8300,
                              health_factor_wad=1_500_000_000_000_000_000), None, 10**8, 1, 1, False)  # fmt: skip
    assert agreeing.matches_chain and lending_view(agreeing, "WETH").liquidation_price_usd == pytest.approx(2_000.0)
