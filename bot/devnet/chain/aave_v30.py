"""Deploys Aave v3.0 (the @aave/core-v3 artifacts): the layout Spark and other v3.0/v3.1 forks still follow.

Differences from v3.6 that matter here: a stable-debt token per reserve, `initReserves` with 15 fields,
one rate strategy contract per reserve, and e-mode as a category number stored in each reserve's
configuration (`setAssetEModeCategory`), with an optional price source per category.
"""

from __future__ import annotations

from typing import Any

from bot.devnet.chain.deploy import (
    DEPLOY_GAS,
    EMODES,
    RAY,
    RESERVES,
    ZERO_ADDRESS,
    Deployer,
    admin_sender,
    deploy_tokens_and_feeds,
    encode,
    install_multicall3,
    read_reserves,
)
from bot.devnet.chain.rpc import DevRpc, create_address
from bot.monitors.multicall import MULTICALL3_ADDRESS

LIBRARIES = ["BorrowLogic", "BridgeLogic", "EModeLogic", "LiquidationLogic", "PoolLogic", "SupplyLogic"]


def deploy(rpc: DevRpc, accounts: list[str]) -> dict[str, Any]:
    """Deploys the market with accounts[0] as admin; its addresses and reserves."""
    admin = admin_sender(rpc, accounts)
    d = Deployer(rpc, "3.0")
    install_multicall3(rpc)
    tokens, prices = deploy_tokens_and_feeds(d, admin)

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
    sources = [prices.oracle_sources[r.symbol] for r in RESERVES]
    oracle = d.deploy(admin, "AaveOracle", provider, assets, sources, ZERO_ADDRESS, ZERO_ADDRESS, 10**8)
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
            ZERO_ADDRESS, f"Aave {r.symbol}", f"a{r.symbol}", f"Variable Debt {r.symbol}",
            f"variableDebt{r.symbol}", f"Stable Debt {r.symbol}", f"stableDebt{r.symbol}", b"",
        ))  # fmt: skip
    for one in inputs:  # one reserve per transaction: five in one would pass the per-transaction gas cap
        d.send(admin, configurator, encode("PoolConfigurator", "initReserves", [one]), DEPLOY_GAS)
    for r in RESERVES:
        asset = tokens[r.symbol]
        if r.liquidation_threshold_bps:
            d.call(admin, "PoolConfigurator", configurator, "configureReserveAsCollateral", asset, r.ltv_bps,
                   r.liquidation_threshold_bps, r.liquidation_bonus_bps)  # fmt: skip
        d.call(admin, "PoolConfigurator", configurator, "setReserveBorrowing", asset, r.borrowable)
        d.call(admin, "PoolConfigurator", configurator, "setReserveFactor", asset, r.reserve_factor_bps)
    for e in EMODES:
        d.call(admin, "PoolConfigurator", configurator, "setEModeCategory", e.category_id, e.ltv_bps,
               e.liquidation_threshold_bps, e.liquidation_bonus_bps, ZERO_ADDRESS, e.label)  # fmt: skip
        # v3.0 has one category per reserve, in its configuration: collateral and borrowable alike.
        for symbol in sorted(set(e.collaterals) | set(e.borrowables)):
            d.call(admin, "PoolConfigurator", configurator, "setAssetEModeCategory", tokens[symbol], e.category_id)
    d.flush()

    return {
        "pool_addresses_provider": provider,
        "pool": pool,
        "pool_configurator": configurator,
        "acl_manager": acl,
        "oracle": oracle,
        "data_provider": data_provider,
        "multicall3": MULTICALL3_ADDRESS,
        "libraries": libs | {"ConfiguratorLogic": configurator_logic},
        "reserves": read_reserves(rpc, pool, tokens, prices),
    }
