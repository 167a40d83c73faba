"""`hedgebot evaluate`: every strategy on every 14-day window of the history, and one run over all of it.

Reads the shared 1h history by default; prints one row per strategy (effectiveness over crash windows,
windows with a liquidation or half the hedge capital lost, cost in rising quarters, whether the hedge
account survived the whole history), or --json, and draws effectiveness against cost with --chart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from bot.backtest.data import (
    SHARED_DATA_DIR,
    AlignedBars,
    align,
    format_time,
    load_candles,
    load_funding,
    parse_time_ms,
)
from bot.backtest.run import LendingSetup
from bot.domain.instruments import InstrumentError
from bot.errors import UsageError
from bot.evaluate import RESERVE_USD, StrategySpec, bot_replay_settings, evaluate, fortnights
from bot.evaluate.report import HEADERS, LEGEND, describe, rows, to_json, write_chart
from bot.ops.output import print_grid, print_json, progress_bar
from bot.plugins import loader as plugins
from bot.venues.ccxt.registry import VENUE_IDS, builtin_instrument

BTC_1H = SHARED_DATA_DIR / "binance_BTCUSDT_1h.csv.gz"
ETH_1H = SHARED_DATA_DIR / "binance_ETHUSDT_1h.csv.gz"
FUNDING = SHARED_DATA_DIR / "binance_BTCUSDT_perp_funding_8h.csv"
# The 5m files (BTC and ETH both) that --fine replays the windows they hold on.
FINE = [
    ("binance_BTCUSDT_5m_20201201-20210717.csv.gz", "binance_ETHUSDT_5m_20201201-20210717.csv.gz"),
    ("binance_BTCUSDT_5m_20220101-20220804.csv.gz", "binance_ETHUSDT_5m_20220101-20220804.csv.gz"),
]


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "evaluate",
        help="judge strategies on every 14-day window of the history (crashes, cost, survival)",
        description="Replay each strategy, with the guardian at its defaults, on every 14-day window (7-day step),"
        " every rising 90-day window, and the whole history; one row per strategy (see docs/backtest.md).",
    )
    p.add_argument(
        "--strategy",
        action="append",
        metavar="NAME[:K=V,...]",
        help="strategy and its parameters, e.g. dynamic:z_off=3,leverage=5 (repeatable; a plugin name,"
        " package.module:Class or file.py[:Class] too); default: every built-in hedge at its defaults",
    )
    p.add_argument("--btc-data", type=Path, default=BTC_1H, help="BTC OHLCV CSV (default: the shared 1h history)")
    p.add_argument("--collateral-data", type=Path, default=ETH_1H, help="collateral OHLCV CSV (default: shared ETH 1h)")
    p.add_argument("--funding-data", type=Path, help="funding CSV (default: the shared Binance BTC perp funding)")
    p.add_argument("--fine", action="store_true", help="replay the windows the shared 5m files hold on 5m bars")
    p.add_argument("--start", help="use data from this time (ISO)")
    p.add_argument("--end", help="use data before this time (ISO)")
    p.add_argument("--collateral-usd", type=float, default=100_000.0, help="collateral value at each window's start")
    p.add_argument("--start-health-factor", type=float, default=1.5, help="health factor at each window's start")
    p.add_argument("--hedge-capital-usd", type=float, default=20_000.0, help="capital of the hedge account (USD)")
    p.add_argument(
        "--reserve-usd", type=float, default=RESERVE_USD, help="the guardian's reserve (USD; 0: no guardian)"
    )
    p.add_argument("--exchange", default="binancecoinm", help=f"ccxt id of the venue: one of {', '.join(VENUE_IDS)}")
    p.add_argument("--config", type=Path, help="TOML settings file (risk limits, change policy, as `run` reads)")
    p.add_argument("--processes", type=int, help="worker processes (default: the cores available)")
    p.add_argument("--chart", type=Path, metavar="PATH", help="write effectiveness against cost as a PNG")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def parse_spec(text: str) -> StrategySpec:
    """`name[:k=v,...]`: the part after the last ':' is parameters when it holds '=' (so `module:Class` and
    `file.py:Class` stay names); a comma-separated piece without '=' continues the value before it
    (`layer_distances=0.3,0.2`)."""
    name, sep, tail = text.rpartition(":")
    if not sep or "=" not in tail:
        name, tail = text, ""
    if not name.strip():
        raise UsageError(f"--strategy wants NAME[:K=V,...], got {text!r}")
    params: dict[str, str] = {}
    last: str | None = None
    for piece in tail.split(",") if tail else []:
        key, eq, value = piece.partition("=")
        if eq and key.strip():
            last = key.strip()
            params[last] = value.strip()
        elif last is not None and not eq:
            params[last] += "," + piece.strip()
        else:
            raise UsageError(f"--strategy {text!r}: {piece!r} is not K=V")
    return StrategySpec(name.strip(), params)


def default_specs() -> list[StrategySpec]:
    """Every built-in hedge at its defaults (opt-in strategies only when named)."""
    return [StrategySpec(name) for name, cls in plugins.available().items() if not cls.opt_in]


def _bars(btc: Path, collateral: Path, start_ms: int | None, end_ms: int | None) -> AlignedBars:
    for path in (btc, collateral):
        if not path.is_file():
            raise UsageError(f"{path}: no such file (hedgebot data download writes candles)")
    return align(load_candles(btc), load_candles(collateral), start_ms, end_ms)


def run(args: argparse.Namespace) -> int:
    specs = [parse_spec(s) for s in args.strategy] if args.strategy else default_specs()
    if args.processes is not None and args.processes < 1:
        raise UsageError(f"--processes must be at least 1, got {args.processes}")
    setup = LendingSetup(
        collateral_usd=args.collateral_usd,
        start_health_factor=args.start_health_factor,
        hedge_capital_usd=args.hedge_capital_usd,
        reserve_usd=args.reserve_usd,
    )
    setup.validate()
    try:
        instrument = builtin_instrument(args.exchange)
    except InstrumentError as exc:
        raise UsageError(str(exc)) from None
    start_ms = parse_time_ms(args.start) if args.start else None
    end_ms = parse_time_ms(args.end) if args.end else None
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise UsageError(f"--end {args.end} is not after --start {args.start}")
    for spec in specs:
        spec.build()  # an unknown strategy or parameter: one line, before any data is read
    bars = _bars(args.btc_data, args.collateral_data, start_ms, end_ms)
    if not fortnights(bars):
        raise UsageError(
            f"the data ({format_time(bars.ts_ms[0])} .. {format_time(bars.ts_ms[-1])}) holds no 14-day window"
            " after its 7-day warm-up: give at least 21 days"
        )
    funding_path = args.funding_data or (FUNDING if FUNDING.is_file() else None)
    if funding_path is not None and not funding_path.is_file():
        raise UsageError(f"{funding_path}: no such file")
    funding = load_funding(funding_path) if funding_path is not None else None
    finer = []
    if args.fine:
        for btc_name, coll_name in FINE:
            btc, coll = SHARED_DATA_DIR / btc_name, SHARED_DATA_DIR / coll_name
            if btc.is_file() and coll.is_file():
                finer.append(_bars(btc, coll, start_ms, end_ms))
    progress = _progress if sys.stderr.isatty() and not args.json else None
    result = evaluate(
        specs,
        bars,
        instrument,
        funding,
        finer=finer,
        setup=setup,
        settings=bot_replay_settings(args.config),
        processes=args.processes,
        progress=progress,
    )
    if progress is not None:
        print(file=sys.stderr)
    if args.chart:
        write_chart(result, args.chart)
    if args.json:
        print_json(to_json(result))
        return 0
    print(describe(result))
    print_grid(HEADERS, rows(result))
    print(LEGEND)
    if args.chart:
        print(f"wrote {args.chart}")
    return 0


def _progress(done: int, total: int) -> None:
    progress_bar(done, total, f"{done}/{total} tasks", sys.stderr)
