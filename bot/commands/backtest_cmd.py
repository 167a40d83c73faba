"""`hedgebot backtest`: would this hedge have saved me? Replays candles through strategies and the paper venue."""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.backtest.data import align, format_time, load_candles, load_funding, parse_time_ms
from bot.backtest.download import download_command
from bot.backtest.report import print_summary, to_json, write_report
from bot.backtest.run import LendingSetup, ReplaySettings, backtest
from bot.backtest.types import LIQUIDATION_RULES, GuardianSettings
from bot.domain.instruments import Instrument, InstrumentError
from bot.errors import UsageError
from bot.evaluate.score import bot_replay_settings
from bot.monitors.history import collateral_perp
from bot.ops.output import print_json, progress_bar
from bot.plugins import loader as plugins
from bot.venues.ccxt.registry import VENUE_IDS, builtin_instrument

WARMUP_DAYS = 7  # the features warm up on up to this many days before --start


class _StrategyAction(argparse.Action):
    """--strategy NAME starts a column; each --param after it belongs to that column."""

    def __call__(self, parser: Any, namespace: argparse.Namespace, values: Any, option: str | None = None) -> None:
        columns: list[tuple[str, list[str]]] = list(getattr(namespace, "columns", None) or [])
        if option == "--strategy":
            columns.append((str(values), []))
        elif not columns:
            namespace.orphan_params = [*(getattr(namespace, "orphan_params", None) or []), str(values)]
        else:
            columns[-1][1].append(str(values))
        namespace.columns = columns


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "backtest",
        help="replay a crash: the loan with and without the hedge, over historical candles",
        description="Replay candles through strategies, the risk layer and the paper venue, with the loan under"
        " Aave V3 rules. Bars go open -> high -> low -> close for both legs (see docs/backtest.md).",
    )
    add_data_arguments(p)
    add_position_arguments(p)
    p.add_argument("--strategy", action=_StrategyAction, metavar="NAME", help="strategy (repeatable: one column each)")
    p.add_argument(
        "--param", action=_StrategyAction, metavar="NAME=VALUE", help="parameter of the --strategy before it"
    )
    p.add_argument("--start", help="window start, ISO time (features warm up on up to 7 days before it)")
    p.add_argument("--end", help="window end (exclusive), ISO time")
    p.add_argument("--report", type=Path, metavar="DIR", help="write report.md, chart.png and trades.csv here")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run, columns=None, orphan_params=None)


def add_data_arguments(
    p: argparse.ArgumentParser, btc: Path | None = None, collateral: Path | None = None, funding: Path | None = None
) -> None:
    """--btc-data, --collateral-data and --funding-data; the candles are required unless a default is given."""
    p.add_argument("--btc-data", type=Path, required=btc is None, default=btc, help=_file_help("BTC OHLCV", btc))
    p.add_argument(
        "--collateral-data",
        type=Path,
        required=collateral is None,
        default=collateral,
        help=_file_help("collateral OHLCV", collateral),
    )
    p.add_argument(
        "--funding-data",
        type=Path,
        default=funding,
        help="funding CSV (timestamp,funding_rate); default "
        + (f"{funding.name} from the shared data" if funding else "0.01 %% per 8 h"),
    )


def _file_help(what: str, default: Path | None) -> str:
    text = f"{what} CSV (.gz allowed)"
    return text if default is None else f"{text}; default {default.name} from the shared data"


def add_position_arguments(p: argparse.ArgumentParser) -> None:
    """The position a replay protects, the guardian, the venue and the settings file: one set of flags for
    every command that replays (`backtest`, `tune`)."""
    p.add_argument("--collateral-asset", default="ETH", help="collateral symbol (default ETH)")
    p.add_argument("--collateral-usd", type=float, default=100_000.0, help="collateral value at the start (USD)")
    p.add_argument("--start-health-factor", type=float, default=1.5, help="health factor at the start")
    p.add_argument("--liquidation-threshold", type=float, default=0.825, help="e.g. 0.825")
    p.add_argument("--liquidation-bonus", type=float, default=0.05, help="e.g. 0.05 for 5 %%")
    p.add_argument("--hedge-capital-usd", type=float, default=20_000.0, help="capital of the hedge (USD)")
    p.add_argument(
        "--reserve-usd",
        type=float,
        default=0.0,
        help="the guardian's reserve on chain, repaid on the borrower's behalf at the trigger HF (0: no guardian)",
    )
    p.add_argument(
        "--liquidation-rules",
        choices=LIQUIDATION_RULES,
        default="v3.3",
        help="whose liquidations the loan suffers: v3.3 (today's Aave: under 2,000 USD in full, no dust, bad debt "
        "burned; default) or v3.0 (half the debt per call; Spark and older forks)",
    )
    p.add_argument("--gas-usd", type=float, default=5.0, help="gas per guardian transaction (USD)")
    p.add_argument("--exchange", default="binancecoinm", help=f"ccxt id of the venue: one of {', '.join(VENUE_IDS)}")
    p.add_argument("--config", type=Path, help="TOML settings file (for the risk limits, as `run` applies them)")


def lending_setup(args: argparse.Namespace) -> LendingSetup:
    """The position the position flags describe; UsageError names an impossible one."""
    setup = LendingSetup(
        args.collateral_asset,
        args.collateral_usd,
        args.start_health_factor,
        args.liquidation_threshold,
        args.liquidation_bonus,
        args.hedge_capital_usd,
        args.reserve_usd,
    )
    setup.validate()
    return setup


def venue_instrument(args: argparse.Namespace) -> Instrument:
    """The inverse perpetual of --exchange; UsageError for a venue hedgebot does not know."""
    try:
        return builtin_instrument(args.exchange)
    except InstrumentError as exc:
        raise UsageError(str(exc)) from None


def replay_settings(args: argparse.Namespace) -> ReplaySettings:
    """The bot's own limits, reconciler, triggers and guards (`bot_replay_settings`: the settings `hedgebot run`
    reads), with the flags' guardian gas and liquidation rules."""
    return replace(
        bot_replay_settings(args.config),
        guardian=GuardianSettings(gas_usd=args.gas_usd),
        liquidation_rules=args.liquidation_rules,
    )


def _label(name: str, params: dict[str, str], names: list[str]) -> str:
    if names.count(name) == 1 and not params:
        return name
    return name + "".join(f" {k}={v}" for k, v in params.items())


def run(args: argparse.Namespace) -> int:
    columns: list[tuple[str, list[str]]] = args.columns or [("dynamic", list(args.orphan_params or []))]
    if args.orphan_params and args.columns:
        raise UsageError("--param must follow the --strategy it belongs to")
    loaded = []
    for name, raw in columns:
        params = plugins.parse_params(raw)
        loaded.append((params, plugins.load(name, params)))
    # Labelled by the strategy's own name, never the file path or module it was loaded from (B19).
    names = [strategy.name for _, strategy in loaded]
    strategies = [(_label(strategy.name, params, names), strategy) for params, strategy in loaded]
    setup = lending_setup(args)
    instrument = venue_instrument(args)
    start_ms = parse_time_ms(args.start) if args.start else None
    end_ms = parse_time_ms(args.end) if args.end else None
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise UsageError(f"--end {args.end} is not after --start {args.start}")
    check_files_exist(args, start_ms)
    btc = load_candles(args.btc_data)
    collateral = load_candles(args.collateral_data)
    funding = load_funding(args.funding_data) if args.funding_data else None
    # Load up to 7 days before the window so the volatility and beta estimates are warm at its start.
    warm_from = start_ms - WARMUP_DAYS * 86_400_000 if start_ms is not None else None
    bars = align(btc, collateral, warm_from, end_ms)
    progress = _bars_done if sys.stderr.isatty() and not args.json else None
    replay = replay_settings(args)
    result = backtest(bars, start_ms, setup, strategies, instrument, funding, replay, progress)
    if progress is not None:
        print(file=sys.stderr)
    written = write_report(result, args.report) if args.report else []
    if args.json:
        print_json(to_json(result))
    else:
        print_summary(result)
        for path in written:
            print(f"wrote {path}")
    return 0


def check_files_exist(args: argparse.Namespace, start_ms: int | None) -> None:
    """UsageError naming a missing file and the `hedgebot data download` command that writes such files."""
    for path in (args.btc_data, args.collateral_data, args.funding_data):
        if path is not None and not path.is_file():
            btc = "BTC/USD:BTC"
            collateral = collateral_perp(args.collateral_asset, btc)
            since = format_time(start_ms - WARMUP_DAYS * 86_400_000)[:10] if start_ms is not None else None
            fetch = download_command(
                list(dict.fromkeys([btc, collateral])), since, args.end, "data", kinds=("ohlcv", "funding")
            )
            raise UsageError(
                f"{path}: no such file. Download candles and funding rates from the exchange's public API with"
                f"\n  {fetch}\nit lists the files it wrote and the backtest command that reads them"
            )


def _bars_done(done: int, total: int) -> None:
    progress_bar(done, total, f"{done}/{total} bars", sys.stderr)
