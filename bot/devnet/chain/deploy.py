"""What both devnet markets share: the reserves and e-modes listed, and the batched deployer.

aave_v30.py deploys Aave v3.0 (the @aave/core-v3 artifacts, the path Spark and older forks follow) and
aave_v36.py Aave v3.6 (compiled from @aave-dao/aave-v3-origin); market.deploy_market picks one.

Speed: no gas estimates and no waiting per transaction. Every transaction carries its own nonce and
gas limit, contract addresses are computed from (sender, nonce), and each phase is one JSON-RPC batch
whose receipts are checked once. Explicit gas also avoids anvil's too-low estimates for calls made in
the same second as a reserve update.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from eth_utils.address import to_checksum_address
from web3 import Web3

from bot.devnet.chain.artifacts import aave_artifact, multicall3_creation_code
from bot.devnet.chain.feeds import capo_creation_code
from bot.devnet.chain.feeds import creation_code as feed_creation_code
from bot.devnet.chain.rpc import DevRpc, RpcError, create_address
from bot.monitors.multicall import MULTICALL3_ADDRESS

RAY = 10**27
ZERO_ADDRESS = "0x" + "00" * 20
DEPLOY_GAS = 16_000_000  # under the 2**24 per-transaction cap of recent hardforks
CALL_GAS = 3_000_000


@dataclass(frozen=True, slots=True)
class ReserveSpec:
    """A reserve to list, with mainnet-like risk parameters (basis points) and rate curve (fractions)."""

    symbol: str
    name: str
    decimals: int
    price_usd: float
    ltv_bps: int  # 0 with a 0 threshold: not a collateral outside its e-modes
    liquidation_threshold_bps: int
    liquidation_bonus_bps: int  # 10_500 = a 5 % bonus
    reserve_factor_bps: int
    optimal_usage: float
    base_rate: float
    slope1: float
    slope2: float
    borrowable: bool = True
    capo: bool = False  # priced through a CAPO-shaped adapter over its feed, as Aave prices LSTs on mainnet


@dataclass(frozen=True, slots=True)
class EModeSpec:
    """An e-mode category: its risk parameters and the reserves that count as collateral or may be borrowed in it."""

    category_id: int
    label: str
    ltv_bps: int
    liquidation_threshold_bps: int
    liquidation_bonus_bps: int
    collaterals: tuple[str, ...]
    borrowables: tuple[str, ...]


# The reserve ids follow this order (0 = WETH): the e-mode bitmaps and the user configuration use them.
RESERVES = (
    ReserveSpec("WETH", "Wrapped Ether", 18, 3000.0, 8050, 8300, 10500, 1500, 0.80, 0.0, 0.033, 0.80),
    ReserveSpec("WBTC", "Wrapped BTC", 8, 60000.0, 7300, 7800, 10500, 2000, 0.45, 0.0, 0.04, 3.00),
    ReserveSpec("USDC", "USD Coin", 6, 1.0, 7700, 8000, 10450, 1000, 0.90, 0.0, 0.035, 0.60),
    ReserveSpec(
        "wstETH", "Wrapped liquid staked Ether", 18, 3600.0, 7850, 8100, 10600, 500, 0.45, 0.0, 0.045, 0.80, capo=True
    ),
    # A collateral only inside the ETH e-mode (threshold 0 outside it), as Aave v3.6 allows: outside
    # e-mode, and before v3.6 even inside it, the Pool does not count it.
    ReserveSpec("weETH", "Wrapped eETH", 18, 3150.0, 0, 0, 0, 1500, 0.45, 0.0, 0.07, 3.00, borrowable=False, capo=True),
)
EMODES = (
    EModeSpec(1, "ETH correlated", 9300, 9500, 10100, ("WETH", "wstETH", "weETH"), ("WETH",)),
    EModeSpec(2, "Stablecoins", 9300, 9500, 10100, ("USDC",), ("USDC",)),
)


@dataclass
class Sender:
    """One dev account sending transactions with locally tracked nonces."""

    address: str
    nonce: int


@dataclass
class Deployer:
    """Queues transactions per phase and sends each phase as one batch."""

    rpc: DevRpc
    version: str = "3.0"  # whose artifacts `deploy` and `call` use
    queued: list[tuple[str, list[Any]]] = field(default_factory=list)

    def send(self, sender: Sender, to: str | None, data: str, gas: int = CALL_GAS) -> str | None:
        """Queues a transaction; returns the address it deploys to when `to` is None."""
        tx: dict[str, Any] = {"from": sender.address, "data": data, "gas": hex(gas), "nonce": hex(sender.nonce)}
        created = None
        if to is None:
            created = create_address(sender.address, sender.nonce)
        else:
            tx["to"] = to
        sender.nonce += 1
        self.queued.append(("eth_sendTransaction", [tx]))
        return created

    def deploy(self, sender: Sender, name: str, *args: Any, libraries: dict[str, str] | None = None) -> str:
        """Queues the deployment of Aave artifact `name`; returns its address."""
        art = aave_artifact(name, self.version)
        code = art.linked(libraries or {})
        data = Web3().eth.contract(abi=art.abi, bytecode=code).constructor(*args).data_in_transaction
        address = self.send(sender, None, data, DEPLOY_GAS)
        assert address is not None
        return address

    def call(self, sender: Sender, name: str, at: str, fn: str, *args: Any) -> None:
        """Queues a call of `fn` on the Aave contract `name` at address `at`."""
        self.send(sender, at, encode(name, fn, *args, version=self.version))

    def flush(self, txs_per_block: int = 250) -> None:
        """Sends the queued transactions, mines them, and checks that every one succeeded.

        Automining is off meanwhile: with it on, anvil sometimes leaves a transaction that arrived
        ahead of a lower nonce in its queue for good. Blocks are kept to a few hundred transactions
        because anvil's block-receipts look-up grows with the square of a block's size.
        """
        queued, self.queued = self.queued, []
        if not queued:
            return
        self.rpc.call("evm_setAutomine", False)
        try:
            for start in range(0, len(queued), txs_per_block):
                chunk = queued[start : start + txs_per_block]
                hashes = [str(h) for h in self.rpc.batch(chunk)]
                self.rpc.call("evm_mine")
                if int(self.rpc.call("txpool_status")["pending"], 16):
                    raise RpcError("transactions left pending after mining: a block gas limit too low?")
                receipts = self.rpc.call("eth_getBlockReceipts", "latest")
                status = {r["transactionHash"]: int(r["status"], 16) for r in receipts}
                bad = [h for h in hashes if status.get(h) != 1]
                if bad:
                    raise RpcError(f"{len(bad)} transactions reverted or were not mined, e.g. {bad[0]}")
        finally:
            self.rpc.call("evm_setAutomine", True)


def encode(contract: str, fn: str, *args: Any, version: str = "3.0") -> str:
    """Calldata of `fn(*args)` on Aave contract `contract` (the Pool's and tokens' are the same in 3.0 and 3.6)."""
    abi = aave_artifact(contract, version).abi
    return str(Web3().eth.contract(abi=abi).encode_abi(fn, args=list(args)))


def install_multicall3(rpc: DevRpc) -> None:
    """Puts Multicall3 at its canonical address: its runtime code is what its creation code returns."""
    runtime = rpc.call("eth_call", {"data": multicall3_creation_code()}, "latest")
    rpc.call("anvil_setCode", MULTICALL3_ADDRESS, runtime)


def admin_sender(rpc: DevRpc, accounts: list[str]) -> Sender:
    """accounts[0], the market's admin, at its next nonce."""
    address = to_checksum_address(accounts[0])
    return Sender(address, int(rpc.call("eth_getTransactionCount", address, "latest"), 16))


@dataclass(frozen=True, slots=True)
class PriceSources:
    """Each reserve's settable USD feed, and what the Aave oracle reads: the feed, or a CAPO-shaped adapter over it."""

    feeds: dict[str, str]
    oracle_sources: dict[str, str]


def deploy_tokens_and_feeds(d: Deployer, admin: Sender) -> tuple[dict[str, str], PriceSources]:
    """Queues the reserves' tokens (anyone may mint them) and their price sources; their addresses."""
    tokens = {r.symbol: d.deploy(admin, "MintableERC20", r.name, r.symbol, r.decimals) for r in RESERVES}
    feeds, sources = {}, {}
    for r in RESERVES:
        feed = d.send(admin, None, feed_creation_code(round(r.price_usd * 10**8)), 500_000)
        assert feed is not None
        feeds[r.symbol] = sources[r.symbol] = feed
        if r.capo:
            adapter = d.send(admin, None, capo_creation_code(feed), 500_000)
            assert adapter is not None
            sources[r.symbol] = adapter
    return tokens, PriceSources(feeds, sources)


def read_reserves(rpc: DevRpc, pool: str, tokens: dict[str, str], prices: PriceSources) -> dict[str, Any]:
    """devnet.json's `reserves`: each one's token, feed (and the oracle's source when it is an adapter over
    it), aToken and debt tokens and risk parameters."""
    reserves = {}
    for r in RESERVES:
        data = rpc.call("eth_call", {"to": pool, "data": encode("Pool", "getReserveData", tokens[r.symbol])}, "latest")
        words = bytes.fromhex(data[2:])
        word = [words[i : i + 32] for i in range(0, len(words), 32)]
        reserves[r.symbol] = {
            "address": tokens[r.symbol],
            "decimals": r.decimals,
            "price_feed": prices.feeds[r.symbol],
            "oracle_source": prices.oracle_sources[r.symbol],
            "a_token": to_checksum_address(word[8][12:]),
            "stable_debt_token": to_checksum_address(word[9][12:]),  # the zero address from v3.2 on
            "variable_debt_token": to_checksum_address(word[10][12:]),
            "ltv_bps": r.ltv_bps,
            "liquidation_threshold_bps": r.liquidation_threshold_bps,
            "liquidation_bonus_bps": r.liquidation_bonus_bps,
        }
    return reserves


def emodes_json() -> dict[str, Any]:
    """devnet.json's `emodes`: each category's parameters and members, by id."""
    return {
        str(e.category_id): {
            "label": e.label,
            "ltv_bps": e.ltv_bps,
            "liquidation_threshold_bps": e.liquidation_threshold_bps,
            "liquidation_bonus_bps": e.liquidation_bonus_bps,
            "collaterals": list(e.collaterals),
            "borrowables": list(e.borrowables),
        }
        for e in EMODES
    }
