"""Opening lending positions on the devnet: suppliers of liquidity and borrowers, many at once.

All transactions of a call go out in one JSON-RPC batch with explicit nonces and gas, and are mined
together into as few blocks as their gas allows, which opens a thousand positions in seconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.devnet.chain.deploy import Deployer, Sender
from bot.devnet.chain.rpc import DevRpc
from bot.monitors.multicall import address_word, encode_call, word

MAX_UINT = 2**256 - 1
VARIABLE_RATE = 2


@dataclass(frozen=True, slots=True)
class PositionSpec:
    """An account that enters e-mode `emode` (0: none), supplies `supply` (symbol -> raw units) and
    borrows `borrow` at variable rate."""

    account: str
    supply: Mapping[str, int] = field(default_factory=dict)
    borrow: Mapping[str, int] = field(default_factory=dict)
    emode: int = 0


def units(amount: float, decimals: int) -> int:
    """`amount` tokens in raw units."""
    scale: int = 10**decimals
    return round(amount * scale)


def _calldata(signature: str, *args: int | str) -> str:
    """Calldata of a function with static arguments only (web3's encoder is too slow for thousands)."""
    words = [address_word(a) if isinstance(a, str) else word(a) for a in args]
    return "0x" + encode_call(signature, *words).hex()


def open_positions(rpc: DevRpc, market: Mapping[str, Any], specs: Sequence[PositionSpec]) -> None:
    """Mints, approves, supplies and borrows for each spec; raises if any transaction fails."""
    reserves = market["reserves"]
    pool = market["pool"]
    nonces = rpc.batch([("eth_getTransactionCount", [s.account, "pending"]) for s in specs])
    d = Deployer(rpc)
    for spec, nonce in zip(specs, nonces, strict=True):
        sender = Sender(spec.account, int(nonce, 16))
        if spec.emode:  # first, so that e-mode-only collateral is enabled as such when supplied
            d.send(sender, pool, _calldata("setUserEMode(uint8)", spec.emode), 300_000)
        for symbol, amount in spec.supply.items():
            token = reserves[symbol]["address"]
            d.send(sender, token, _calldata("mint(uint256)", amount), 150_000)
            d.send(sender, token, _calldata("approve(address,uint256)", pool, MAX_UINT), 100_000)
            d.send(
                sender,
                pool,
                _calldata("supply(address,uint256,address,uint16)", token, amount, spec.account, 0),
                500_000,
            )
        for symbol, amount in spec.borrow.items():
            token = reserves[symbol]["address"]
            sig = "borrow(address,uint256,uint256,uint16,address)"
            d.send(sender, pool, _calldata(sig, token, amount, VARIABLE_RATE, 0, spec.account), 800_000)
    d.flush()


def fund(rpc: DevRpc, accounts: Sequence[str], wei: int = 10**20) -> None:
    """Gives `accounts` ether for gas and lets anyone send from them (anvil impersonation)."""
    rpc.call("anvil_autoImpersonateAccount", True)
    rpc.batch([("anvil_setBalance", [a, hex(wei)]) for a in accounts])
