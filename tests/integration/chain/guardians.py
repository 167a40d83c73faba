"""Guardian wallets on the devnet and guardians over them, as the bot builds them (shared by the chain tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account import Account

from bot.chain.calls import erc20_allowance, erc20_balance_of
from bot.chain.guardian import Guardian
from bot.chain.tx import GWEI, TxHooks
from bot.config import Mode
from bot.devnet.chain.positions import fund, units
from bot.devnet.chain.rpc import DevRpc
from bot.domain.defense import DefensePolicy
from bot.journal.aio import AsyncJournal
from bot.monitors.aave import AaveMonitor
from bot.monitors.multicall import encode_call, word
from bot.monitors.rpc import RpcPool


@dataclass(frozen=True)
class GuardianWallet:
    address: str
    key: str


def guardian_wallet(rpc: DevRpc, devnet: dict[str, Any], usdc: float = 50_000.0, eth: float = 10.0) -> GuardianWallet:
    """A fresh key holding `usdc` of the devnet's USDC and `eth` for gas."""
    acct = Account.create()
    fund(rpc, [acct.address], wei=int(eth * 10**18))
    if usdc:
        token = devnet["reserves"]["USDC"]["address"]
        data = "0x" + encode_call("mint(uint256)", word(units(usdc, 6))).hex()
        rpc.wait_receipts([rpc.call("eth_sendTransaction", {"from": acct.address, "to": token, "data": data})])
    return GuardianWallet(acct.address, "0x" + bytes(acct.key).hex())


def nonce(rpc: DevRpc, address: str) -> int:
    return int(rpc.call("eth_getTransactionCount", address, "latest"), 16)


def erc20(rpc: DevRpc, token: str, data: bytes) -> int:
    return int(rpc.call("eth_call", {"to": token, "data": "0x" + data.hex()}, "latest"), 16)


def usdc_balance(rpc: DevRpc, devnet: dict[str, Any], owner: str) -> int:
    return erc20(rpc, devnet["reserves"]["USDC"]["address"], erc20_balance_of(owner))


def usdc_allowance(rpc: DevRpc, devnet: dict[str, Any], owner: str) -> int:
    return erc20(rpc, devnet["reserves"]["USDC"]["address"], erc20_allowance(owner, devnet["pool"]))


def variable_debt(rpc: DevRpc, devnet: dict[str, Any], borrower: str) -> int:
    token = devnet["reserves"]["USDC"]["variable_debt_token"]
    return erc20(rpc, token, erc20_balance_of(borrower))


def make_guardian(
    devnet: dict[str, Any],
    borrower: str,
    key: str,
    mode: Mode = "testnet",
    policy: DefensePolicy | None = None,
    hooks: TxHooks | None = None,
    max_gas_gwei: float = 100.0,
) -> Guardian:
    """A guardian as `Guardian.from_settings` makes it: its own monitor over the devnet's RPC."""
    monitor = AaveMonitor(RpcPool([devnet["rpc_url"]]), devnet["pool_addresses_provider"])
    return Guardian(
        monitor=monitor,
        borrower=borrower,
        signer=Account.from_key(key),
        policy=policy or DefensePolicy(),
        mode=mode,
        max_fee_per_gas=round(max_gas_gwei * GWEI),
        hooks=hooks,
    )


async def started(guardian: Guardian, db: Path, alerts: list[Any] | None = None) -> AsyncJournal:
    """Start `guardian` on the journal at `db`; its journal (close it with the guardian's RPC)."""
    journal = await AsyncJournal.open(db)
    await guardian.start(journal, alerts.append if alerts is not None else None)
    return journal


async def close(guardian: Guardian, journal: AsyncJournal) -> None:
    await journal.close()
    await guardian.monitor.rpc.close()
