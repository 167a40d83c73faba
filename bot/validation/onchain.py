"""The checks that read the chain through the configured RPC: the node answers, the PoolAddressesProvider is a
contract that answers getPool(), the Pool lists the collateral and each account holds it, and the guardian's
asset, reserve and gas. The reads are the bot's own (AaveMonitor.discover, the lending view, Guardian.check),
so what passes here is what `run` then finds.
"""

from __future__ import annotations

from bot.chain.account import reserve_by_symbol
from bot.chain.guardian import Guardian
from bot.config import Mode, Settings
from bot.errors import ConfigError, UsageError
from bot.monitors.aave import AaveMonitor, Market
from bot.monitors.lending_feed import lending_view
from bot.monitors.rpc import RpcCallError, RpcUnavailable
from bot.validation.offline import setting
from bot.validation.report import ENVIRONMENT, Finding

ONCHAIN_CHECKS = ("rpc", "pool addresses provider", "collateral", "guardian")


def skipped(why: str, checks: tuple[str, ...] = ONCHAIN_CHECKS) -> list[Finding]:
    return [Finding(name, "skipped", why) for name in checks]


async def chain_findings(settings: Settings, mode: Mode, *, unreachable_is_error: bool = True) -> list[Finding]:
    """Every on-chain check's finding, in ONCHAIN_CHECKS order.

    No RPC URL answering is an environment error (exit 1) when `unreachable_is_error`, else a warning (the
    bot's guards wait for the node); the checks after it are then skipped.
    """
    chain = settings.chain
    missing = chain.missing(accounts=False)
    if missing:
        return skipped(f"{', '.join(missing)} not set")
    monitor = AaveMonitor.from_settings(chain)
    found: list[Finding] = []
    try:
        found.append(await _rpc(monitor, settings))
        if found[-1].status != "ok":
            rpc = found[-1]
            if not unreachable_is_error:
                rpc = Finding("rpc", "warning", rpc.detail + "; the on-chain checks were skipped")
            return [rpc, *skipped("no RPC URL answered", ONCHAIN_CHECKS[1:])]
        found.append(await _provider(monitor))
        if found[-1].status != "ok" or monitor.market is None:
            return [*found, *skipped("no Aave market to read", ONCHAIN_CHECKS[2:])]
        found.append(await _collateral(monitor, monitor.market, settings))
        found.append(await _guardian(monitor, settings, mode))
    except (RpcUnavailable, RpcCallError) as exc:  # the node went away between two reads
        done = {f.check for f in found}
        failed = Finding(ONCHAIN_CHECKS[len(found)], "error", f"the node failed: {exc}", ENVIRONMENT)
        return [*found, failed, *skipped("the node failed", tuple(c for c in ONCHAIN_CHECKS if c not in done)[1:])]
    finally:
        await monitor.rpc.close()
    return found


async def _rpc(monitor: AaveMonitor, settings: Settings) -> Finding:
    try:
        chain_id = int(str(await monitor.rpc.request("eth_chainId")), 16)
        head = await monitor.rpc.latest_block()
    except (RpcUnavailable, RpcCallError) as exc:
        return Finding("rpc", "error", f"{setting('chain.rpc_urls')}: {exc}", ENVIRONMENT)
    age_s = monitor.clock() / 1000 - head.timestamp
    detail = f"chain id {chain_id}, block {head.number}, {age_s:.0f} s old"
    if age_s > settings.chain.stale_block_s:
        return Finding(
            "rpc",
            "warning",
            f"{detail}: older than HEDGEBOT_CHAIN__STALE_BLOCK_S ({settings.chain.stale_block_s:g}); "
            "the bot does not trade on a stale chain",
        )
    return Finding("rpc", "ok", detail)


async def _provider(monitor: AaveMonitor) -> Finding:
    """eth_getCode at the provider, its getPool(), the Pool's code and reserves: AaveMonitor.discover."""
    try:
        market = await monitor.discover()
    except UsageError as exc:  # NotAPoolAddressesProvider, or a chain without Multicall3
        return Finding("pool addresses provider", "error", f"{setting('chain.pool_addresses_provider')}: {exc}")
    listed = ", ".join(r.symbol for r in market.reserves)
    return Finding("pool addresses provider", "ok", f"a contract; getPool() = {market.pool}, which lists {listed}")


async def _collateral(monitor: AaveMonitor, market: Market, settings: Settings) -> Finding:
    symbol = settings.chain.collateral_asset
    if reserve_by_symbol(market, symbol) is None:
        listed = ", ".join(r.symbol for r in market.reserves)
        return Finding(
            "collateral",
            "error",
            f"HEDGEBOT_CHAIN__COLLATERAL_ASSET={symbol}: the Pool at {market.pool} does not list {symbol}; "
            f"it lists {listed}",
        )
    accounts = settings.chain.accounts
    if not accounts:
        return Finding("collateral", "ok", f"{symbol} listed by the Pool; no account set")
    snap = await monitor.snapshot(accounts)
    held, substituted = [], []
    for health in snap.accounts:
        try:
            view = lending_view(health, symbol)
        except UsageError as exc:  # the account has no collateral at all: there is nothing to hedge
            return Finding("collateral", "error", str(exc))
        if view.collateral_asset.upper() != symbol.upper():
            # The whole account is hedged whatever it holds; the setting only picks the trigger's collateral.
            has = ", ".join(c.symbol for c in view.collaterals)
            substituted.append(
                f"account {health.account} has no {symbol} collateral (it has: {has}): the whole account is "
                f"hedged, and its largest collateral, {view.collateral_asset}, drives the collateral trigger"
            )
            continue
        held.append(f"{health.account} holds {view.collateral_amount:,.6g} {symbol}, HF {view.health_factor:.3f}")
    if substituted:
        return Finding("collateral", "warning", "; ".join(substituted))
    return Finding("collateral", "ok", f"{symbol} listed by the Pool; " + "; ".join(held))


async def _guardian(monitor: AaveMonitor, settings: Settings, mode: Mode) -> Finding:
    if settings.defense.private_key is None or not settings.chain.accounts:
        return Finding("guardian", "skipped", "no HEDGEBOT_DEFENSE__PRIVATE_KEY: no on-chain defense")
    guardian = Guardian.from_settings(settings, mode, monitor)
    assert guardian is not None
    try:
        problem = await guardian.check()  # the guardian's own start-up reads
    except ConfigError as exc:  # an asset the Pool does not list
        return Finding("guardian", "error", str(exc))
    if problem:
        return Finding("guardian", "warning", f"the guardian cannot defend: {problem}; hedging goes on without it")
    what = settings.defense.asset or ("the largest debt" if settings.defense.action == "repay" else "the collateral")
    return Finding("guardian", "ok", f"{guardian.address} can {settings.defense.action} {what} (reserve and gas held)")
