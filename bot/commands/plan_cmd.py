"""`hedgebot plan`: the offline calculator. One position, one strategy, the plan it gives."""

from __future__ import annotations

import argparse
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.config import load_settings
from bot.domain import inverse
from bot.domain.features.tracker import NEUTRAL_FEATURES
from bot.domain.instruments import InstrumentError
from bot.domain.lending import health
from bot.domain.plan import plan_problem
from bot.domain.protection import MARGIN_MODES, held_short
from bot.domain.risk import apply_limits
from bot.domain.snapshot import HedgeView, LendingView, Snapshot
from bot.errors import HedgebotError, UsageError
from bot.ops.output import print_json, print_table
from bot.plugins import loader as plugins
from bot.runtime.config import risk_limits
from bot.venues.ccxt.registry import VENUE_IDS, builtin_instrument


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("plan", help="offline calculator: the hedge a strategy wants for one position")
    p.add_argument("--collateral-asset", default="ETH", help="collateral symbol (default ETH)")
    p.add_argument("--collateral-amount", type=float, required=True, help="collateral amount (units of the asset)")
    p.add_argument("--collateral-price", type=float, required=True, help="collateral price (USD)")
    p.add_argument("--debt-usd", type=float, required=True, help="debt (USD)")
    p.add_argument("--liquidation-threshold", type=float, required=True, help="e.g. 0.825 for 82.5 %%")
    p.add_argument("--btc-price", type=float, required=True, help="BTC price (USD)")
    p.add_argument("--exchange", default="binancecoinm", help=f"ccxt id of the venue: one of {', '.join(VENUE_IDS)}")
    p.add_argument("--strategy", default="dynamic", help="strategy name, package.module:Class or file.py")
    p.add_argument("--param", action="append", metavar="NAME=VALUE", help="strategy parameter (repeatable)")
    p.add_argument("--margin-btc", type=float, default=0.0, help="BTC already in the futures account (long BTC)")
    p.add_argument(
        "--margin-mode",
        choices=MARGIN_MODES,
        help="the venue's margin mode (default: exchange.margin_mode from the settings, isolated unless set)",
    )
    p.add_argument("--beta", type=float, default=1.0, help="collateral beta to BTC (cross-hedge ratio; 1 for BTC)")
    p.add_argument("--funding-rate", type=float, default=0.0001, help="funding rate per 8 h (default 0.0001)")
    p.add_argument("--config", type=Path, help="TOML settings file (for the risk limits, as `run` applies them)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _validate(args: argparse.Namespace) -> None:
    checks = [
        (args.collateral_amount > 0, f"--collateral-amount must be positive, got {args.collateral_amount}"),
        (args.collateral_price > 0, f"--collateral-price must be positive, got {args.collateral_price}"),
        (args.debt_usd >= 0, f"--debt-usd must be zero or positive, got {args.debt_usd}"),
        (
            0 < args.liquidation_threshold <= 1,
            f"--liquidation-threshold must be a fraction in (0, 1], got {args.liquidation_threshold}",
        ),
        (args.btc_price > 0, f"--btc-price must be positive, got {args.btc_price}"),
        (args.margin_btc >= 0, f"--margin-btc must be zero or positive, got {args.margin_btc}"),
        (args.beta > 0, f"--beta must be positive, got {args.beta}"),
        (abs(args.funding_rate) < 0.05, f"--funding-rate is per 8 h, got {args.funding_rate}: that is absurd"),
    ]
    for ok, message in checks:
        if not (
            ok
            and all(
                math.isfinite(v)
                for v in (
                    args.collateral_amount,
                    args.collateral_price,
                    args.debt_usd,
                    args.btc_price,
                    args.margin_btc,
                    args.beta,
                )
            )
        ):
            raise UsageError(message)


def compute(args: argparse.Namespace) -> dict[str, Any]:
    """The plan as a flat dict of figures (what --json prints)."""
    _validate(args)
    try:
        instrument = builtin_instrument(args.exchange)
    except InstrumentError as exc:
        raise UsageError(str(exc)) from None
    strategy = plugins.load(args.strategy, plugins.parse_params(args.param))
    leg = health.CollateralLeg(
        args.collateral_asset, args.collateral_amount, args.collateral_price, args.liquidation_threshold
    )
    hf = health.health_factor([leg], args.debt_usd)
    liq = health.liquidation_price([leg], args.debt_usd, args.collateral_asset)
    lending = LendingView(
        collateral_asset=args.collateral_asset,
        collateral_amount=args.collateral_amount,
        collateral_price_usd=args.collateral_price,
        total_collateral_usd=leg.value_usd,
        debt_usd=args.debt_usd,
        health_factor=hf,
        liquidation_price_usd=liq,
        liquidation_threshold=args.liquidation_threshold,
    )
    features = replace(NEUTRAL_FEATURES, beta=args.beta, correlation=1.0, samples=10_000)
    snap = Snapshot(
        now_ms=0,
        btc_price=args.btc_price,
        lending=lending,
        hedge=HedgeView(contracts=0, entry_price=args.btc_price, equity_btc=args.margin_btc),
        instrument=instrument,
        funding_rate_8h=args.funding_rate,
        features=features,
    )
    try:
        plan = strategy.decide(snap)
        problem = plan_problem(plan)
    except Exception as exc:  # a plugin's bug is a message naming it, not a traceback (B8)
        problem = f"raised {type(exc).__name__}: {exc}"
    if problem is not None:
        raise HedgebotError(f"strategy {strategy.name} {problem}")
    settings = load_settings(args.config)
    margin_mode = args.margin_mode or settings.exchange.margin_mode
    checked = apply_limits(plan, snap, risk_limits(settings.risk, margin_mode), strategy.leverage_cap)
    plan = checked.plan
    size = instrument.contract_size_usd
    notional = plan.contracts * size
    required_margin = (
        inverse.initial_margin_btc(plan.contracts, size, args.btc_price, plan.leverage) if plan.contracts else 0.0
    )
    # As the venue prices it: isolated, from the margin allocated to the short at the plan's leverage (not
    # the whole wallet, which would hide a stop beyond it); cross, from the wallet.
    short = held_short(snap.hedge, args.btc_price, plan.leverage, margin_mode, instrument).resized(
        plan.contracts, args.btc_price, plan.leverage, margin_mode, instrument
    )
    hedge_liq = short.liquidation_price(instrument) if plan.contracts else math.nan
    return {
        "strategy": strategy.name,
        "exchange": instrument.exchange,
        "symbol": instrument.venue_symbol,
        "hedge_usd": plan.hedge_usd,
        "margin_btc": args.margin_btc,
        "order_notional_usd": notional,
        "contracts": plan.contracts,
        "contract_size_usd": size,
        "btc_equivalent": notional / args.btc_price,
        "leverage": plan.leverage,
        "required_margin_btc": required_margin,
        "net_delta_usd": inverse.net_delta_usd(args.margin_btc, args.btc_price, -plan.contracts, size),
        "margin_mode": margin_mode,
        "hedge_liquidation_price": hedge_liq,
        "stop_price": plan.stop_price,
        "stops": [{"price": s.price, "contracts": s.contracts, "label": s.label} for s in plan.stops],
        "conditional_entries": [
            {"trigger_price": c.trigger_price, "contracts": c.contracts, "stop_price": c.stop_price, "label": c.label}
            for c in plan.conditional
        ],
        "defi_health_factor": hf,
        "defi_liquidation_price": liq,
        "defi_distance_to_liquidation": lending.distance_to_liquidation,
        "funding_rate_8h": args.funding_rate,
        # Positive: the short receives it (a positive rate means longs pay shorts).
        "funding_per_day_btc": 3 * inverse.funding_btc(-plan.contracts, size, args.btc_price, args.funding_rate),
        "reason": plan.reason,
        "risk_clips": list(checked.clipped),
    }


def run(args: argparse.Namespace) -> int:
    result = compute(args)
    if args.json:
        print_json(result)
        return 0
    rows = [(k, v) for k, v in result.items() if k not in ("stops", "conditional_entries", "risk_clips")]
    print_table(rows, title=f"hedge plan ({result['strategy']} on {result['exchange']} {result['symbol']}):")
    for s in result["stops"]:
        print(f"  stop        buy {s['contracts']} at {s['price']:,.1f} ({s['label']})")
    for c in result["conditional_entries"]:
        print(f"  conditional sell {c['contracts']} at {c['trigger_price']:,.1f}, its stop {c['stop_price']:,.1f}")
    for clip in result["risk_clips"]:
        print(f"  risk clip:  {clip}")
    return 0
