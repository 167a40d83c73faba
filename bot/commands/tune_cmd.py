"""`hedgebot tune`: search a strategy's parameters for your position, walk-forward, and score the choice only
on the windows after the split."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from dataclasses import asdict, replace
from typing import Any

from bot.backtest.data import (
    SHARED_DATA_DIR,
    AlignedBars,
    FundingSeries,
    align,
    format_time,
    load_candles,
    load_funding,
    parse_time_ms,
)
from bot.commands.backtest_cmd import (
    add_data_arguments,
    add_position_arguments,
    check_files_exist,
    lending_setup,
    replay_settings,
    venue_instrument,
)
from bot.config import load_settings
from bot.errors import UsageError
from bot.evaluate.aggregate import Summary
from bot.evaluate.evaluation import evaluate
from bot.evaluate.report import HEADERS, LEGEND, rows
from bot.evaluate.score import RESERVE_USD, StrategySpec, whole_history
from bot.evaluate.walk_forward import COST_UNIT_USD, DEFAULT_FIRST_TEST
from bot.evaluate.windows import Window, bar_range, slice_bars
from bot.ops.output import format_value, print_grid, print_json, print_table, progress_bar
from bot.plugins import loader as plugins
from bot.tune import objective as scoring
from bot.tune import space as search
from bot.tune import study as studies
from bot.tune.split import split_date_ms, walk

DEFAULT_TRIALS = 20
BASELINE = StrategySpec("percentage", {"hedge_ratio": 0.5}, "static 50 %")


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "tune",
        help="search a strategy's parameters for your position, walk-forward (Optuna; resumable)",
        description="Search a strategy's parameters (built in or a plugin) on the 14-day windows and rising"
        " quarters before --split, for the position the flags describe, then score the best set only on the"
        " windows after it. The study is kept in SQLite: the same command again adds --trials more.",
    )
    p.add_argument("--strategy", default="dynamic", metavar="NAME", help="strategy or plugin (default dynamic)")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=LOW:HIGH[:log] | NAME=VALUE",
        help="search NAME over [LOW, HIGH] (within its bounds), or fix it at VALUE; repeatable",
    )
    p.add_argument("--only", action="store_true", help="search only the --param ranges; the rest keep defaults")
    # The data `hedgebot evaluate` reads by default: the shared 1h history and Binance's BTC perp funding.
    funding = SHARED_DATA_DIR / "binance_BTCUSDT_perp_funding_8h.csv"
    add_data_arguments(
        p,
        SHARED_DATA_DIR / "binance_BTCUSDT_1h.csv.gz",
        SHARED_DATA_DIR / "binance_ETHUSDT_1h.csv.gz",
        funding if funding.is_file() else None,
    )
    add_position_arguments(p)
    # The guardian as `hedgebot evaluate` runs it (its 20k reserve), so a tuned row compares with its rows.
    p.set_defaults(reserve_usd=RESERVE_USD)
    p.add_argument("--start", help="first bar of the data used, ISO time (default: the file's first)")
    p.add_argument("--end", help="end of the data used (exclusive), ISO time (default: the file's end)")
    p.add_argument(
        "--split",
        help=f"choose on windows ending before this date, score on windows starting from it (default"
        f" {DEFAULT_FIRST_TEST} when the data spans it, else two thirds into the data)",
    )
    p.add_argument("--trials", type=int, default=DEFAULT_TRIALS, help=f"trials to add (default {DEFAULT_TRIALS})")
    p.add_argument("--seed", type=int, default=0, help="the sampler's seed (default 0): same seed, same study")
    p.add_argument(
        "--storage",
        help=f"study database: a file (SQLite) or an SQLAlchemy URL (default {studies.STUDY_FILE} beside the journal)",
    )
    p.add_argument("--study-name", help="study to create or resume (default: the strategy and a digest of the inputs)")
    p.add_argument("--processes", type=int, help="processes for the out-of-sample table (default: the cores)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def _inputs(args: argparse.Namespace, spec: str, space: search.SearchSpace, **more: Any) -> dict[str, Any]:
    """What the trials are scored against: a resumed study must have been run on the same."""
    return {
        "strategy": spec,
        "space": space.describe(),
        "position": {k: getattr(args, k) for k in ("collateral_asset", "exchange", "gas_usd", "config")},
        "objective": {"liquidation_rank": scoring.LIQUIDATION_RANK, "cost_unit_usd": COST_UNIT_USD},
        **more,
    }


def _digest(inputs: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()[:10]


def _load(args: argparse.Namespace) -> tuple[AlignedBars, FundingSeries | None]:
    """The bars in --start..--end of both files, and the funding rates if given."""
    start_ms = parse_time_ms(args.start) if args.start else None
    end_ms = parse_time_ms(args.end) if args.end else None
    if start_ms is not None and end_ms is not None and end_ms <= start_ms:
        raise UsageError(f"--end {args.end} is not after --start {args.start}")
    check_files_exist(args, start_ms)
    bars = align(load_candles(args.btc_data), load_candles(args.collateral_data), start_ms, end_ms)
    if len(bars) < 2:
        raise UsageError("too little data for the walk-forward split: fewer than two bars in --start..--end")
    return bars, load_funding(args.funding_data) if args.funding_data else None


def run(args: argparse.Namespace) -> int:
    if args.trials < 0:
        raise UsageError(f"--trials must be 0 or more, got {args.trials}")
    cls = plugins.resolve(args.strategy)
    try:
        given = plugins.parse_params(args.param)
        space = search.narrow(search.derive(cls.Params), cls.Params, given, args.only)
    except UsageError as exc:
        raise UsageError(f"strategy {cls.name}: {exc}") from None
    if not space.dimensions:
        raise UsageError(f"strategy {cls.name}: nothing to search (every parameter is fixed)")
    setup = lending_setup(args)
    instrument = venue_instrument(args)
    settings = replay_settings(args)
    bars, funding = _load(args)
    first_ms, last_ms = bars.ts_ms[0], bars.ts_ms[-1] + bars.bar_ms
    cut = split_date_ms(first_ms, last_ms, args.split)
    parts = walk(bars, cut)
    chosen, scored = list(parts.in_sample), list(parts.out_of_sample)

    data = {
        "btc": args.btc_data.name,
        "collateral": args.collateral_data.name,
        "funding": args.funding_data.name if args.funding_data else None,
        "from": format_time(first_ms),
        "to": format_time(last_ms),
        "split": format_time(cut),
    }
    inputs = _inputs(args, args.strategy, space, setup=asdict(setup), data=data)
    name = args.study_name or f"{cls.name}-{_digest(inputs)}"
    url = studies.storage_url(args.storage, load_settings(args.config).db_path.parent)
    study = studies.open_study(url, name, inputs, args.seed, warmup_windows=len(chosen) // 4)

    bar = _TrialBar(args.trials, len(chosen)) if sys.stderr.isatty() and not args.json else None

    def scores(params: dict[str, Any]) -> Iterator[float]:
        spec = StrategySpec(args.strategy, params, cls.name)
        for k, value in enumerate(scoring.running_objective(spec, bars, chosen, instrument, funding, setup, settings)):
            if bar is not None:
                bar.window(k + 1)
            yield value

    ran = studies.run_trials(study, space, scores, args.trials, bar.trial if bar is not None else None)
    if bar is not None and args.trials:
        print(file=sys.stderr)
    result = studies.outcome(study, url, space, ran)
    if result.best_value is None:
        raise UsageError(f"study {name!r} has no complete trial yet (all pruned or none run): add --trials")
    specs = [
        StrategySpec(args.strategy, result.best_params, f"{cls.name} tuned"),
        StrategySpec(args.strategy, {}, f"{cls.name} defaults"),
        BASELINE,
    ]
    table = evaluate(
        specs,
        bars,
        instrument,
        funding,
        windows=scored,
        setup=setup,
        settings=settings,
        history=False,
        processes=args.processes,
        progress=_window_bar if bar is not None else None,
    )
    if bar is not None:
        print(file=sys.stderr)
    # The survival run too starts at the split: nothing before it is scored.
    lo, hi = bar_range(bars, cut, last_ms)
    after = slice_bars(bars, lo, hi)
    summaries = tuple(
        replace(s, history=whole_history(spec, after, instrument, funding, setup, settings))
        for spec, s in zip(specs, table.summaries, strict=True)
    )
    in_sample = _describe(chosen, first_ms, cut)
    out_of_sample = _describe(scored, cut, last_ms)
    if args.json:
        print_json(_to_json(result, space, in_sample, out_of_sample, summaries))
    else:
        _print(result, space, in_sample, out_of_sample, rows(table, summaries))
    return 0


def _describe(windows: list[Window], from_ms: int, until_ms: int) -> dict[str, Any]:
    return {
        "from": format_time(from_ms),
        "until": format_time(until_ms),
        "fortnights": sum(w.kind == "fortnight" for w in windows),
        "crash_windows": sum(w.crash for w in windows),
        "rising_quarters": sum(w.rising for w in windows),
    }


def _to_json(
    result: studies.Outcome,
    space: search.SearchSpace,
    in_sample: dict[str, Any],
    out_of_sample: dict[str, Any],
    summaries: tuple[Summary, ...],
) -> dict[str, Any]:
    return {
        "study": result.study_name,
        "storage": result.storage,
        "trials_run": result.trials_run,
        "trials_complete": result.complete,
        "trials_pruned": result.pruned,
        "search_space": space.describe(),
        "in_sample": in_sample,
        "best": {"trial": result.best_trial, "objective": result.best_value, "params": result.best_params},
        "out_of_sample": {**out_of_sample, "strategies": [s.as_dict() for s in summaries]},
    }


def _print(
    result: studies.Outcome,
    space: search.SearchSpace,
    in_sample: dict[str, Any],
    out_of_sample: dict[str, Any],
    table: list[list[str]],
) -> None:
    print(
        f"study {result.study_name} ({result.storage}): {result.trials_run} trials run now;"
        f" {result.complete} complete and {result.pruned} pruned in all"
    )
    for label, part in (("chosen on", in_sample), ("scored on", out_of_sample)):
        print(
            f"{label} {part['from'][:10]}..{part['until'][:10]}: {part['fortnights']} fortnights"
            f" ({part['crash_windows']} crashes), {part['rising_quarters']} rising quarters"
        )
    ranges = space.describe()
    print_table(
        [(k, f"{format_value(v)}   ({_range(ranges.get(k, ''))})") for k, v in result.best_params.items()],
        f"best trial #{result.best_trial}: in-sample objective {format_value(result.best_value)}",
    )
    print(f"out of sample ({out_of_sample['from'][:10]}..{out_of_sample['until'][:10]}), not seen by the search:")
    print_grid(HEADERS, table)
    print(LEGEND + "; here history low and wiped are over the out-of-sample stretch alone, from the split on")


def _range(text: str) -> str:
    return "fixed" if text.startswith("=") else f"searched {text}"


class _TrialBar:
    """One line on stderr: trials done, the window the current trial is on, the best objective so far."""

    def __init__(self, trials: int, windows: int) -> None:
        self.trials, self.windows = trials, windows
        self.done, self.best = 0, ""

    def window(self, k: int) -> None:
        share = (self.done + k / self.windows) / self.trials if self.trials else 1.0
        label = f"trial {self.done + 1}/{self.trials}, window {k}/{self.windows}{self.best}"
        progress_bar(int(share * 1000), 1000, label, sys.stderr)

    def trial(self, done: int, total: int, best: float | None) -> None:
        self.done = done
        self.best = f", best {best:.3f}" if best is not None else ""
        progress_bar(done, total, f"trial {done}/{total} done{self.best}" + " " * 12, sys.stderr)


def _window_bar(done: int, total: int) -> None:
    progress_bar(done, total, f"out of sample {done}/{total}", sys.stderr)
