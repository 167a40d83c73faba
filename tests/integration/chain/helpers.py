"""Reading the Pool directly (the ground truth the monitor is checked against) and opening positions."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

from eth_utils.address import to_checksum_address

from bot.devnet.chain.deploy import encode
from bot.devnet.chain.positions import PositionSpec, fund, open_positions, units
from bot.devnet.chain.rpc import DevRpc, RpcError
from bot.monitors.aave import AaveMonitor, HealthSnapshot
from bot.monitors.rpc import RpcPool

MAX_UINT = 2**256 - 1


def account_data(rpc: DevRpc, devnet: dict[str, Any], account: str, block: int) -> list[int]:
    """Pool.getUserAccountData(account) at `block`, six integers."""
    data = rpc.call(
        "eth_call", {"to": devnet["pool"], "data": encode("Pool", "getUserAccountData", account)}, hex(block)
    )
    return [int(data[2 + 64 * i : 2 + 64 * (i + 1)], 16) for i in range(6)]


def new_borrower(rpc: DevRpc, devnet: dict[str, Any], supply: dict[str, float], borrow: dict[str, float]) -> str:
    """A fresh funded account with the given position open."""
    account = to_checksum_address("0x" + secrets.token_hex(20))
    fund(rpc, [account])
    decimals = {s: r["decimals"] for s, r in devnet["reserves"].items()}
    spec = PositionSpec(
        account,
        supply={s: units(v, decimals[s]) for s, v in supply.items()},
        borrow={s: units(v, decimals[s]) for s, v in borrow.items()},
    )
    open_positions(rpc, devnet, [spec])
    return account


def snapshot(devnet: dict[str, Any], accounts: list[str]) -> HealthSnapshot:
    """One monitor cycle over `accounts`, as the engine would run it."""

    async def run() -> HealthSnapshot:
        rpc = RpcPool([devnet["rpc_url"]])
        try:
            return await AaveMonitor(rpc, devnet["pool_addresses_provider"]).snapshot(accounts)
        finally:
            await rpc.close()

    return asyncio.run(run())


def liquidation_succeeds(
    rpc: DevRpc, devnet: dict[str, Any], liquidator: str, collateral: str, debt: str, user: str, block: int | str
) -> bool:
    """Whether liquidationCall would go through at `block` (a simulation: nothing changes)."""
    r = devnet["reserves"]
    data = encode("Pool", "liquidationCall", r[collateral]["address"], r[debt]["address"], user, MAX_UINT, False)
    tag = hex(block) if isinstance(block, int) else block
    try:
        rpc.call("eth_call", {"from": liquidator, "to": devnet["pool"], "data": data, "gas": hex(3_000_000)}, tag)
    except RpcError:
        return False
    return True


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
