"""Reading the Pool directly (the ground truth the monitor is checked against) and opening positions."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from bot.devnet.chain.deploy import encode
from bot.devnet.chain.market import set_answer
from bot.devnet.chain.positions import PositionSpec, fund, open_positions, units
from bot.devnet.chain.rpc import DevRpc, RpcError
from bot.domain.lending.account import AccountHealth
from bot.monitors.aave import AaveMonitor, HealthSnapshot
from bot.monitors.rpc import RpcPool

MAX_UINT = 2**256 - 1
WAD = 10**18
# How the Pool says "HF is not below 1": v3.6's custom error's selector, v3.0's error string "45".
HEALTH_NOT_BELOW_V36 = "0x" + keccak(text="HealthFactorNotBelowThreshold()")[:4].hex()
HEALTH_NOT_BELOW_V30 = "0x08c379a0" + "20".rjust(64, "0") + "2".rjust(64, "0") + b"45".hex().ljust(64, "0")
MUST_NOT_LEAVE_DUST = "0x" + keccak(text="MustNotLeaveDust()")[:4].hex()


def account_data(rpc: DevRpc, devnet: dict[str, Any], account: str, block: int) -> list[int]:
    """Pool.getUserAccountData(account) at `block`, six integers."""
    data = rpc.call(
        "eth_call", {"to": devnet["pool"], "data": encode("Pool", "getUserAccountData", account)}, hex(block)
    )
    return [int(data[2 + 64 * i : 2 + 64 * (i + 1)], 16) for i in range(6)]


def position(
    devnet: dict[str, Any], supply: dict[str, float], borrow: dict[str, float], emode: int = 0
) -> PositionSpec:
    """The spec of a fresh account with this position (amounts in tokens)."""
    decimals = {s: r["decimals"] for s, r in devnet["reserves"].items()}
    return PositionSpec(
        to_checksum_address("0x" + secrets.token_hex(20)),
        supply={s: units(v, decimals[s]) for s, v in supply.items()},
        borrow={s: units(v, decimals[s]) for s, v in borrow.items()},
        emode=emode,
    )


def new_borrower(
    rpc: DevRpc, devnet: dict[str, Any], supply: dict[str, float], borrow: dict[str, float], emode: int = 0
) -> str:
    """A fresh funded account with the given position open (in e-mode `emode` when not 0)."""
    spec = position(devnet, supply, borrow, emode)
    fund(rpc, [spec.account])
    open_positions(rpc, devnet, [spec])
    return spec.account


def snapshot(devnet: dict[str, Any], accounts: list[str]) -> HealthSnapshot:
    """One monitor cycle over `accounts`, as the engine would run it."""

    async def run() -> HealthSnapshot:
        rpc = RpcPool([devnet["rpc_url"]])
        try:
            return await AaveMonitor(rpc, devnet["pool_addresses_provider"]).snapshot(accounts)
        finally:
            await rpc.close()

    return asyncio.run(run())


def assert_matches_chain(rpc: DevRpc, devnet: dict[str, Any], health: AccountHealth, block: int) -> None:
    """Every figure of `health` equals Pool.getUserAccountData's at `block`, to the wei."""
    onchain = account_data(rpc, devnet, health.account, block)
    assert health.matches_chain, (health, onchain)
    assert health.total_collateral_usd == onchain[0] / 1e8
    assert health.total_debt_usd == onchain[1] / 1e8
    assert health.liquidation_threshold == onchain[3] / 1e4
    assert health.health_factor_wad == onchain[5]


def assert_liquidation_boundary(rpc: DevRpc, devnet: dict[str, Any], user: str, symbol: str, liquidator: str) -> int:
    """The predicted liquidation price of `symbol` is the on-chain crossing, to one oracle unit: at it HF >= 1
    and liquidationCall reverts, one unit below HF < 1 and it goes through. Returns the price."""
    snap = snapshot(devnet, [user])
    block = snap.block_number
    position = next(c for c in snap.accounts[0].collaterals if c.symbol == symbol)
    liq = position.liquidation_price_raw
    assert liq is not None and liq > 0
    debt = snap.accounts[0].debts[0].symbol
    # Move only the feed's storage: no block is mined, so no interest accrues between the probes.
    set_answer(rpc, devnet, symbol, liq, mine=False)
    assert account_data(rpc, devnet, user, block)[5] >= WAD
    assert liquidation_refusal(rpc, devnet, liquidator, symbol, debt, user, block) == "health"
    set_answer(rpc, devnet, symbol, liq - 1, mine=False)
    assert account_data(rpc, devnet, user, block)[5] < WAD
    # The Pool lets it be liquidated; from v3.3 a call that would leave under 1,000 USD of this collateral or
    # debt behind is refused for that reason alone (the liquidator has to take it all, another call).
    assert liquidation_refusal(rpc, devnet, liquidator, symbol, debt, user, block) in (None, "dust")
    set_answer(rpc, devnet, symbol, position.price_raw, mine=False)
    return liq


def liquidation_refusal(
    rpc: DevRpc, devnet: dict[str, Any], liquidator: str, collateral: str, debt: str, user: str, block: int | str
) -> str | None:
    """Why liquidationCall (for as much debt as allowed) would revert at `block`: "health" when the Pool finds
    HF >= 1, "dust" when v3.3+'s leftover rule refuses it, another revert's text; None when it would go through.
    A simulation: nothing changes."""
    r = devnet["reserves"]
    data = encode("Pool", "liquidationCall", r[collateral]["address"], r[debt]["address"], user, MAX_UINT, False)
    tag = hex(block) if isinstance(block, int) else block
    try:
        rpc.call("eth_call", {"from": liquidator, "to": devnet["pool"], "data": data, "gas": hex(3_000_000)}, tag)
    except RpcError as exc:
        text = str(exc)
        if HEALTH_NOT_BELOW_V36 in text or HEALTH_NOT_BELOW_V30 in text:
            return "health"
        if MUST_NOT_LEAVE_DUST in text:
            return "dust"
        return text
    return None


def ready_liquidator(rpc: DevRpc, devnet: dict[str, Any], debt: str, amount: float) -> str:
    """An account holding `amount` of `debt` and having approved the Pool for it."""
    account = to_checksum_address("0x" + secrets.token_hex(20))
    fund(rpc, [account])
    token = devnet["reserves"][debt]["address"]
    raw = units(amount, devnet["reserves"][debt]["decimals"])
    hashes = [
        rpc.call("eth_sendTransaction", {"from": account, "to": token, "data": encode("MintableERC20", "mint", raw),
                                         "gas": hex(200_000)}),
        rpc.call("eth_sendTransaction", {"from": account, "to": token,
                                         "data": encode("MintableERC20", "approve", devnet["pool"], MAX_UINT),
                                         "gas": hex(200_000)}),
    ]  # fmt: skip
    rpc.wait_receipts(hashes)
    return account
