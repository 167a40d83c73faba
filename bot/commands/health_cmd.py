"""`hedgebot health`: the health of Aave V3 accounts, read from the chain (read-only, no keys)."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from bot.domain.lending.account import AccountHealth
from bot.domain.lending.betas import fallback_beta
from bot.domain.lending.health import bounded_liquidation_price
from bot.errors import UsageError
from bot.monitors.aave import AaveMonitor, HealthSnapshot, normalize_account
from bot.monitors.rpc import RpcCallError, RpcPool, RpcUnavailable, redact
from bot.ops.output import print_grid, print_json


def net_delta_usd(account: AccountHealth) -> float:
    """The beta-weighted net delta `run` starts from: collaterals minus debts, each at its class's beta to BTC
    (`run` then measures each asset's own)."""
    collateral = sum(c.amount * c.price_usd * fallback_beta(c.symbol).beta for c in account.collaterals)
    return collateral - sum(d.amount * d.price_usd * fallback_beta(d.symbol).beta for d in account.debts)


def health_json(account: AccountHealth) -> dict[str, Any]:
    """One account as the --json output shows it."""
    return {
        "account": account.account,
        "health_factor": account.health_factor,
        "total_collateral_usd": account.total_collateral_usd,
        "total_debt_usd": account.total_debt_usd,
        "liquidation_threshold": account.liquidation_threshold,
        "emode_category": account.emode_category,
        "aave_release": account.aave_release,
        "pool_revision": account.pool_revision,
        "matches_chain": account.matches_chain,
        "market_wide_fall": account.market_wide_fall,
        "hedgeable_with_a_short": account.hedgeable_with_a_short,
        "net_delta_usd": net_delta_usd(account),
        "collaterals": [
            {
                "symbol": c.symbol,
                "address": c.address,
                "amount": c.amount,
                "price_usd": c.price_usd,
                "liquidation_threshold": c.liquidation_threshold,
                "liquidation_price_usd": c.liquidation_price_usd,
                "beta": fallback_beta(c.symbol).beta,
            }
            for c in account.collaterals
        ],
        "debts": [
            {
                "symbol": d.symbol,
                "address": d.address,
                "amount": d.amount,
                "price_usd": d.price_usd,
                "beta": fallback_beta(d.symbol).beta,
            }
            for d in account.debts
        ],
        "block_number": account.block_number,
        "stale": account.stale,
    }


async def read_health(args: argparse.Namespace) -> HealthSnapshot:
    """The snapshot the command prints; UsageError for an unreachable RPC or a wrong address."""
    accounts = [normalize_account(a) for a in args.account]
    rpc = RpcPool(args.rpc, call_timeout_s=args.timeout)
    monitor = AaveMonitor(rpc, args.pool_addresses_provider, stale_block_s=args.stale_block_s)
    try:
        await monitor.discover()
        return await monitor.snapshot(accounts)
    except RpcUnavailable as exc:
        raise UsageError(f"cannot reach the RPC: {exc}; check --rpc") from None
    except RpcCallError as exc:
        raise UsageError(f"the RPC refused a call: {exc}") from None
    finally:
        await rpc.close()


def _fmt_price(value: float | None) -> str:
    return "-" if value is None else f"{value:,.2f}"


def _run(args: argparse.Namespace) -> int:
    normalize_account(args.pool_addresses_provider)  # a malformed address fails before any network call
    snapshot = asyncio.run(read_health(args))
    if args.json:
        print_json([health_json(a) for a in snapshot.accounts])
        return 0
    stale = "  STALE: do not trade on this" if snapshot.stale else ""
    print(f"block {snapshot.block_number} ({snapshot.block_age_s:.0f} s old) via {redact(snapshot.rpc_url)}{stale}")
    if snapshot.accounts:
        first = snapshot.accounts[0]
        print(f"Aave v{first.aave_release} math (Pool revision {first.pool_revision})")
    for a in snapshot.accounts:
        print()
        print(
            f"{a.account}  HF {a.health_factor:.4f}  collateral {a.total_collateral_usd:,.2f} USD  "
            f"debt {a.total_debt_usd:,.2f} USD  e-mode {a.emode_category}  "
            f"matches_chain {'yes' if a.matches_chain else 'NO'}"
        )
        if a.market_wide_fall is not None:
            print(
                f"  liquidated by a market-wide fall of {a.market_wide_fall:.2%} (every asset but stablecoins together)"
            )
        elif a.total_debt_usd > 0:
            print(
                "  no market-wide fall liquidates it: its debt falls with its collateral (an e-mode loop: its risk "
                "is their peg, not the market) or faster; not hedgeable with a BTC short"
            )
        if a.collaterals and (a.market_wide_fall is not None or not a.total_debt_usd):
            symbols = dict.fromkeys([c.symbol for c in a.collaterals] + [d.symbol for d in a.debts])
            betas = ", ".join(f"{s} {fallback_beta(s).beta:g}" for s in symbols)
            print(
                f"  `run` hedges its beta-weighted net delta: {net_delta_usd(a):,.2f} USD of BTC at the class betas "
                f"({betas}; it measures each asset's own as it runs)"
            )
        if not a.matches_chain:
            bounds = ", ".join(
                f"{c.symbol} {_fmt_price(bounded_liquidation_price(c.price_usd, a.health_factor))}"
                for c in a.collaterals
            )
            print(
                "  the replica disagrees with the Pool's getUserAccountData: its liquidation prices are approximate; "
                f"the bot hedges on the bound price / HF instead ({bounds})"
            )
        if a.collaterals:
            print_grid(
                ["collateral", "amount", "price_usd", "liq_threshold", "liq_price_usd"],
                [
                    (c.symbol, c.amount, c.price_usd, c.liquidation_threshold, _fmt_price(c.liquidation_price_usd))
                    for c in a.collaterals
                ],
            )
        if a.debts:
            print_grid(["debt", "amount", "price_usd"], [(d.symbol, d.amount, d.price_usd) for d in a.debts])
    flagged = [p for p in snapshot.prices if p.flagged]
    for p in flagged:
        print(f"price of {p.symbol} flagged: stale={p.stale} age_s={p.age_s} diverged={p.diverged}")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("health", help="health factor and liquidation prices of Aave V3 accounts, read from the chain")
    p.add_argument("--rpc", action="append", required=True, help="JSON-RPC URL (http(s) or ws(s)); repeat to fail over")
    p.add_argument("--pool-addresses-provider", required=True, help="the market's Aave V3 PoolAddressesProvider")
    p.add_argument("--account", action="append", required=True, help="borrower address; repeat for several")
    p.add_argument("--timeout", type=float, default=10.0, help="timeout of one RPC request (s, default 10)")
    p.add_argument("--stale-block-s", type=float, default=60.0, help="a block older than this is stale (s)")
    p.add_argument("--json", action="store_true", help="print JSON for scripts")
    p.set_defaults(func=_run)
