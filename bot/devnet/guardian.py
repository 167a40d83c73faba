"""A guardian wallet on the devnet: one of anvil's dev accounts, given a reserve to defend the demo borrower with."""

from __future__ import annotations

from typing import Any

from bot.chain.calls import erc20_balance_of
from bot.devnet.chain.market import dev_accounts
from bot.devnet.chain.positions import units
from bot.devnet.chain.rpc import DevRpc
from bot.errors import UsageError
from bot.monitors.multicall import encode_call, word

GUARDIAN_ACCOUNT = 5  # anvil's dev account #5: not one of the devnet's roles (admin, supplier, borrower, liquidator)


def fund_guardian(
    info: dict[str, Any], amount: float, asset: str = "USDC", index: int = GUARDIAN_ACCOUNT
) -> dict[str, Any]:
    """Mints `amount` of `asset` to dev account `index` (it has ether already); its address, key and balance."""
    reserves = info["reserves"]
    if asset not in reserves:
        raise UsageError(f"unknown asset {asset}: the devnet lists {', '.join(sorted(reserves))}")
    account = dev_accounts()[index]
    rpc = DevRpc(info["rpc_url"])
    token, decimals = reserves[asset]["address"], reserves[asset]["decimals"]
    if amount > 0:
        data = "0x" + encode_call("mint(uint256)", word(units(amount, decimals))).hex()
        rpc.wait_receipts([rpc.call("eth_sendTransaction", {"from": account["address"], "to": token, "data": data})])
    balance = rpc.call("eth_call", {"to": token, "data": "0x" + erc20_balance_of(account["address"]).hex()}, "latest")
    return {**account, "asset": asset, "balance": int(balance, 16) / 10**decimals}
