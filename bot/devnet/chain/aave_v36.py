"""Deploys Aave v3.6 (compiled at install time from @aave-dao/aave-v3-origin 3.6.0): today's Aave.

What differs from v3.0: the Pool is `PoolInstance(provider, rateStrategy)`, one rate strategy for every
reserve with its rate data encoded into `initReserves`, which takes 9 fields (no stable debt token);
token implementations take the rewards controller (and the aToken its treasury); the data provider
caches the Pool, so it comes after the Pool is set; e-mode is a category (`setEModeCategory`) with
bitmaps of the reserves that count as collateral or may be borrowed in it.
"""

from __future__ import annotations

from typing import Any

from eth_abi.abi import encode as abi_encode

from bot.devnet.chain.deploy import (
    DEPLOY_GAS,
    EMODES,
    RESERVES,
    ZERO_ADDRESS,
    Deployer,
    ReserveSpec,
    admin_sender,
    deploy_tokens_and_feeds,
    encode,
    install_multicall3,
    read_reserves,
)
from bot.devnet.chain.rpc import DevRpc, create_address
from bot.monitors.multicall import MULTICALL3_ADDRESS

LIBRARIES = ["BorrowLogic", "LiquidationLogic", "PoolLogic", "SupplyLogic"]
V36 = "3.6"


def rate_data(r: ReserveSpec) -> bytes:
    """The reserve's rate curve as DefaultReserveInterestRateStrategyV2 decodes it: bps, in one static tuple."""
    fields = (r.optimal_usage, r.base_rate, r.slope1, r.slope2)
    return abi_encode(["(uint16,uint32,uint32,uint32)"], [tuple(round(f * 10_000) for f in fields)])


def deploy(rpc: DevRpc, accounts: list[str]) -> dict[str, Any]:
    """Deploys the market with accounts[0] as admin; its addresses and reserves."""
    admin = admin_sender(rpc, accounts)
    d = Deployer(rpc, V36)
    install_multicall3(rpc)
    tokens, prices = deploy_tokens_and_feeds(d, admin)

    provider = d.deploy(admin, "PoolAddressesProvider", "hedgebot-devnet", admin.address)
    d.call(admin, "PoolAddressesProvider", provider, "setACLAdmin", admin.address)  # before ACLManager's constructor
    acl = d.deploy(admin, "ACLManager", provider)
    d.call(admin, "PoolAddressesProvider", provider, "setACLManager", acl)
    d.call(admin, "ACLManager", acl, "addPoolAdmin", admin.address)
    d.call(admin, "ACLManager", acl, "addRiskAdmin", admin.address)
    rate_strategy = d.deploy(admin, "DefaultReserveInterestRateStrategyV2", provider)

    libs = {name: d.deploy(admin, name) for name in LIBRARIES}
    libs["FlashLoanLogic"] = d.deploy(admin, "FlashLoanLogic", libraries={"BorrowLogic": libs["BorrowLogic"]})
    pool_impl = d.deploy(admin, "PoolInstance", provider, rate_strategy, libraries=libs)
    # The provider creates the proxies itself, with CREATE at its own nonces 1 and 2.
    pool = create_address(provider, 1)
    d.call(admin, "PoolAddressesProvider", provider, "setPoolImpl", pool_impl)
    configurator_logic = d.deploy(admin, "ConfiguratorLogic")
    configurator_impl = d.deploy(admin, "PoolConfiguratorInstance", libraries={"ConfiguratorLogic": configurator_logic})
    configurator = create_address(provider, 2)
    d.call(admin, "PoolAddressesProvider", provider, "setPoolConfiguratorImpl", configurator_impl)

    assets = [tokens[r.symbol] for r in RESERVES]
    sources = [prices.oracle_sources[r.symbol] for r in RESERVES]
    oracle = d.deploy(admin, "AaveOracle", provider, assets, sources, ZERO_ADDRESS, ZERO_ADDRESS, 10**8)
    d.call(admin, "PoolAddressesProvider", provider, "setPriceOracle", oracle)
    data_provider = d.deploy(admin, "AaveProtocolDataProvider", provider)
    d.call(admin, "PoolAddressesProvider", provider, "setPoolDataProvider", data_provider)

    # Token implementations take the Pool *proxy*, no rewards controller, and the admin as treasury.
    a_token_impl = d.deploy(admin, "ATokenInstance", pool, ZERO_ADDRESS, admin.address)
    variable_impl = d.deploy(admin, "VariableDebtTokenInstance", pool, ZERO_ADDRESS)
    for r in RESERVES:  # one reserve per transaction: five in one would pass the per-transaction gas cap
        one = (
            a_token_impl, variable_impl, tokens[r.symbol], f"Aave {r.symbol}", f"a{r.symbol}",
            f"Variable Debt {r.symbol}", f"variableDebt{r.symbol}", b"", rate_data(r),
        )  # fmt: skip
        d.send(admin, configurator, encode("PoolConfiguratorInstance", "initReserves", [one], version=V36), DEPLOY_GAS)
    for r in RESERVES:
        asset = tokens[r.symbol]
        if r.liquidation_threshold_bps:
            d.call(admin, "PoolConfiguratorInstance", configurator, "configureReserveAsCollateral", asset, r.ltv_bps,
                   r.liquidation_threshold_bps, r.liquidation_bonus_bps)  # fmt: skip
        d.call(admin, "PoolConfiguratorInstance", configurator, "setReserveBorrowing", asset, r.borrowable)
        d.call(admin, "PoolConfiguratorInstance", configurator, "setReserveFactor", asset, r.reserve_factor_bps)
    for e in EMODES:
        d.call(admin, "PoolConfiguratorInstance", configurator, "setEModeCategory", e.category_id, e.ltv_bps,
               e.liquidation_threshold_bps, e.liquidation_bonus_bps, e.label)  # fmt: skip
        for symbol in e.collaterals:
            d.call(admin, "PoolConfiguratorInstance", configurator, "setAssetCollateralInEMode", tokens[symbol],
                   e.category_id, True)  # fmt: skip
        for symbol in e.borrowables:
            d.call(admin, "PoolConfiguratorInstance", configurator, "setAssetBorrowableInEMode", tokens[symbol],
                   e.category_id, True)  # fmt: skip
    d.flush()

    return {
        "pool_addresses_provider": provider,
        "pool": pool,
        "pool_configurator": configurator,
        "acl_manager": acl,
        "oracle": oracle,
        "data_provider": data_provider,
        "rate_strategy": rate_strategy,
        "multicall3": MULTICALL3_ADDRESS,
        "libraries": libs | {"ConfiguratorLogic": configurator_logic},
        "reserves": read_reserves(rpc, pool, tokens, prices),
    }
