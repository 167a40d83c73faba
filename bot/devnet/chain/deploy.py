"""Deploys a full Aave V3 market (v3.0, from the @aave/core-v3 artifacts) on a fresh anvil.

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
from bot.devnet.chain.feeds import creation_code as feed_creation_code
from bot.devnet.chain.rpc import DevRpc, RpcError, create_address
from bot.monitors.multicall import MULTICALL3_ADDRESS

RAY = 10**27
DEPLOY_GAS = 16_000_000  # under the 2**24 per-transaction cap of recent hardforks
CALL_GAS = 3_000_000
LIBRARIES = ["BorrowLogic", "BridgeLogic", "EModeLogic", "LiquidationLogic", "PoolLogic", "SupplyLogic"]


@dataclass(frozen=True, slots=True)
class ReserveSpec:
    """A reserve to list, with mainnet-like risk parameters (basis points) and rate curve (fractions)."""

    symbol: str
    name: str
    decimals: int
    price_usd: float
    ltv_bps: int
    liquidation_threshold_bps: int
    liquidation_bonus_bps: int  # 10_500 = a 5 % bonus
    reserve_factor_bps: int
    optimal_usage: float
    base_rate: float
    slope1: float
    slope2: float


RESERVES = (
    ReserveSpec("WETH", "Wrapped Ether", 18, 3000.0, 8050, 8300, 10500, 1500, 0.80, 0.0, 0.033, 0.80),
    ReserveSpec("WBTC", "Wrapped BTC", 8, 60000.0, 7300, 7800, 10500, 2000, 0.45, 0.0, 0.04, 3.00),
    ReserveSpec("USDC", "USD Coin", 6, 1.0, 7700, 8000, 10450, 1000, 0.90, 0.0, 0.035, 0.60),
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
        art = aave_artifact(name)
        code = art.linked(libraries or {})
        data = Web3().eth.contract(abi=art.abi, bytecode=code).constructor(*args).data_in_transaction
        address = self.send(sender, None, data, DEPLOY_GAS)
        assert address is not None
        return address

    def call(self, sender: Sender, name: str, at: str, fn: str, *args: Any) -> None:
        """Queues a call of `fn` on the Aave contract `name` at address `at`."""
        self.send(sender, at, encode(name, fn, *args))

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


def encode(contract: str, fn: str, *args: Any) -> str:
    """Calldata of `fn(*args)` on Aave contract `contract`."""
    return str(Web3().eth.contract(abi=aave_artifact(contract).abi).encode_abi(fn, args=list(args)))


def install_multicall3(rpc: DevRpc) -> None:
    """Puts Multicall3 at its canonical address: its runtime code is what its creation code returns."""
    runtime = rpc.call("eth_call", {"data": multicall3_creation_code()}, "latest")
    rpc.call("anvil_setCode", MULTICALL3_ADDRESS, runtime)


def deploy_market(rpc: DevRpc, accounts: list[str]) -> dict[str, Any]:
    """Deploys the market with accounts[0] as admin; returns its addresses and reserves."""
    admin = Sender(
        to_checksum_address(accounts[0]), int(rpc.call("eth_getTransactionCount", accounts[0], "latest"), 16)
    )
    d = Deployer(rpc)
    install_multicall3(rpc)

    tokens = {r.symbol: d.deploy(admin, "MintableERC20", r.name, r.symbol, r.decimals) for r in RESERVES}
    feeds = {r.symbol: d.send(admin, None, feed_creation_code(round(r.price_usd * 10**8)), 500_000) for r in RESERVES}

    provider = d.deploy(admin, "PoolAddressesProvider", "hedgebot-devnet", admin.address)
    d.call(admin, "PoolAddressesProvider", provider, "setACLAdmin", admin.address)  # before ACLManager's constructor
    acl = d.deploy(admin, "ACLManager", provider)
    d.call(admin, "PoolAddressesProvider", provider, "setACLManager", acl)
    d.call(admin, "ACLManager", acl, "addPoolAdmin", admin.address)
    d.call(admin, "ACLManager", acl, "addRiskAdmin", admin.address)

    libs = {name: d.deploy(admin, name) for name in LIBRARIES}
    libs["FlashLoanLogic"] = d.deploy(admin, "FlashLoanLogic", libraries={"BorrowLogic": libs["BorrowLogic"]})
    pool_impl = d.deploy(admin, "Pool", provider, libraries=libs)
    # The provider creates the proxies itself, with CREATE at its own nonces 1 and 2.
    pool = create_address(provider, 1)
    d.call(admin, "PoolAddressesProvider", provider, "setPoolImpl", pool_impl)
    configurator_logic = d.deploy(admin, "ConfiguratorLogic")
    configurator_impl = d.deploy(admin, "PoolConfigurator", libraries={"ConfiguratorLogic": configurator_logic})
    # The configurator's proxy caches the Pool address when initialised: the Pool is set above.
    configurator = create_address(provider, 2)
    d.call(admin, "PoolAddressesProvider", provider, "setPoolConfiguratorImpl", configurator_impl)

    assets = [tokens[r.symbol] for r in RESERVES]
    sources = [feeds[r.symbol] for r in RESERVES]
    oracle = d.deploy(admin, "AaveOracle", provider, assets, sources, "0x" + "00" * 20, "0x" + "00" * 20, 10**8)
    d.call(admin, "PoolAddressesProvider", provider, "setPriceOracle", oracle)
    data_provider = d.deploy(admin, "AaveProtocolDataProvider", provider)
    d.call(admin, "PoolAddressesProvider", provider, "setPoolDataProvider", data_provider)

    # Token implementations take the Pool *proxy* address.
    a_token_impl = d.deploy(admin, "AToken", pool)
    variable_impl = d.deploy(admin, "VariableDebtToken", pool)
    stable_impl = d.deploy(admin, "StableDebtToken", pool)
    inputs = []
    for r in RESERVES:
        strategy = d.deploy(
            admin, "DefaultReserveInterestRateStrategy", provider, int(r.optimal_usage * RAY), int(r.base_rate * RAY),
            int(r.slope1 * RAY), int(r.slope2 * RAY), 0, 0, 0, 0, int(0.2 * RAY),
        )  # fmt: skip
        # v3.0 initReserves takes 15 fields, with a stable-debt implementation.
        inputs.append((
            a_token_impl, stable_impl, variable_impl, r.decimals, strategy, tokens[r.symbol], admin.address,
            "0x" + "00" * 20, f"Aave {r.symbol}", f"a{r.symbol}", f"Variable Debt {r.symbol}",
            f"variableDebt{r.symbol}", f"Stable Debt {r.symbol}", f"stableDebt{r.symbol}", b"",
        ))  # fmt: skip
    d.send(admin, configurator, encode("PoolConfigurator", "initReserves", inputs), DEPLOY_GAS)
    for r in RESERVES:
        asset = tokens[r.symbol]
        d.call(admin, "PoolConfigurator", configurator, "configureReserveAsCollateral", asset, r.ltv_bps,
               r.liquidation_threshold_bps, r.liquidation_bonus_bps)  # fmt: skip
        d.call(admin, "PoolConfigurator", configurator, "setReserveBorrowing", asset, True)
        d.call(admin, "PoolConfigurator", configurator, "setReserveFactor", asset, r.reserve_factor_bps)
    d.flush()

    reserves = {}
    for r in RESERVES:
        data = rpc.call("eth_call", {"to": pool, "data": encode("Pool", "getReserveData", tokens[r.symbol])}, "latest")
        words = bytes.fromhex(data[2:])
        word = [words[i : i + 32] for i in range(0, len(words), 32)]
        reserves[r.symbol] = {
            "address": tokens[r.symbol],
            "decimals": r.decimals,
            "price_feed": feeds[r.symbol],
            "a_token": to_checksum_address(word[8][12:]),
            "stable_debt_token": to_checksum_address(word[9][12:]),
            "variable_debt_token": to_checksum_address(word[10][12:]),
            "ltv_bps": r.ltv_bps,
            "liquidation_threshold_bps": r.liquidation_threshold_bps,
            "liquidation_bonus_bps": r.liquidation_bonus_bps,
        }
    return {
        "pool_addresses_provider": provider,
        "pool": pool,
        "pool_configurator": configurator,
        "acl_manager": acl,
        "oracle": oracle,
        "data_provider": data_provider,
        "multicall3": MULTICALL3_ADDRESS,
        "libraries": libs | {"ConfiguratorLogic": configurator_logic},
        "reserves": reserves,
    }
