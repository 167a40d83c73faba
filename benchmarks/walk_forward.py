"""Walk-forward over the shared 1h history: each built-in strategy's parameters are chosen on the windows
before a date only, and scored on the windows after it; then the date moves on a year and the choice is
made again (bot.evaluate.walk_forward: choose on 2018-2020, score 2021; choose on 2018-2021, score 2022).

The choice, on the in-sample windows: fewest windows with a liquidation, then the highest mean + 10th
percentile effectiveness over the crash windows less the mean cost in rising quarters per 10,000 USD
(`bot.evaluate.choose`). The grid is small, over each strategy's own Params.

Prints Markdown: the parameters chosen at each split, and the out-of-sample table (every scored window
judged with parameters chosen before it began), with static 50 % and the best single static ratio chosen
with hindsight on the same out-of-sample windows, and the issue-12 targets checked. The built-in defaults
are the last split's choice (the one made on the most data); docs/backtest.md shows this output.

    .venv/bin/python benchmarks/walk_forward.py [--processes N] [--save scores.pickle | --load scores.pickle]
"""

from __future__ import annotations

import argparse
import itertools
import pickle
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.backtest.data import SHARED_DATA_DIR as DATA  # noqa: E402
from bot.backtest.data import align, format_time, load_candles, load_funding  # noqa: E402
from bot.evaluate import (  # noqa: E402
    Evaluation,
    StrategySpec,
    Summary,
    choose,
    evaluate,
    fortnights,
    rising_quarters,
    summarize,
    walk_forward_splits,
)
from bot.evaluate.report import HEADERS, label, markdown, row  # noqa: E402
from bot.venues.ccxt.registry import builtin_instrument  # noqa: E402

# Small on purpose: every point is a replay of every window (the 2-core machine replays ~5,000 bar-steps/s).
GRID: dict[str, dict[str, list[Any]]] = {
    "percentage": {"hedge_ratio": [0.25, 0.5, 0.75, 1.0]},
    "dynamic": {"z_off": [3.0, 4.0], "leverage": [5.0, 10.0]},
    "dca": {},
    "layered-stop": {},
    "stop-hunt-scalp": {},  # opt-in, a trading strategy: scored at its defaults, not tuned
}
# Rising quarters on a 28-day step here (every 90-day window would be on a 7-day step, as `hedgebot
# evaluate` does): overlapping quarters are most of the replay work and add little to a mean cost.
QUARTER_STEP_DAYS = 28.0
STATIC_50 = StrategySpec("percentage", {"hedge_ratio": 0.5})


def grid_specs() -> dict[str, list[StrategySpec]]:
    out: dict[str, list[StrategySpec]] = {}
    for name, axes in GRID.items():
        keys = list(axes)
        out[name] = [
            StrategySpec(name, dict(zip(keys, values, strict=True))) for values in itertools.product(*axes.values())
        ]
    return out


def run_all(processes: int | None) -> Evaluation:
    bars = align(load_candles(DATA / "binance_BTCUSDT_1h.csv.gz"), load_candles(DATA / "binance_ETHUSDT_1h.csv.gz"))
    funding = load_funding(DATA / "binance_BTCUSDT_perp_funding_8h.csv")
    specs = [spec for specs in grid_specs().values() for spec in specs]
    windows = [*fortnights(bars), *rising_quarters(bars, QUARTER_STEP_DAYS)]
    return evaluate(
        specs, bars, builtin_instrument("binancecoinm"), funding, windows=windows, history=False, processes=processes
    )


def _keys(windows: Any) -> set[tuple[str, int]]:
    return {(w.kind, w.start_ms) for w in windows}


def report(ev: Evaluation) -> list[str]:
    splits = walk_forward_splits(ev.first_ms, ev.last_ms)
    grids = grid_specs()
    lines = [
        f"Data: {format_time(ev.first_ms)[:10]} .. {format_time(ev.last_ms)[:10]}, 1h bars;"
        f" {len(ev.specs)} parameter sets replayed on {len(ev.windows)} windows (14-day windows on a 7-day step,"
        f" rising quarters on a {QUARTER_STEP_DAYS:g}-day step) in {ev.elapsed_s:.0f} s on {ev.processes} processes.",
        "",
        "| split | chosen on (in-sample) | scored on (out-of-sample) |",
        "|---|---|---|",
    ]
    for k, s in enumerate(splits, 1):
        lines.append(
            f"| {k} | windows inside {format_time(s.choose_from_ms)[:10]} .. {format_time(s.choose_until_ms)[:10]}"
            f" | windows starting {format_time(s.score_from_ms)[:10]} .. {format_time(s.score_until_ms)[:10]} |"
        )
    lines += [
        "",
        "Parameters chosen at each split:",
        "",
        "| strategy | " + " | ".join(f"split {k}" for k in range(1, len(splits) + 1)) + " |",
        "|---|" + "---|" * len(splits),
    ]
    oos_rows: list[tuple[str, Summary]] = []
    for name, specs in grids.items():
        chosen_per_split = []
        oos_scores = []
        for s in splits:
            inside, scored = _keys(s.in_sample(ev.windows)), _keys(s.out_of_sample(ev.windows))
            ins = [
                summarize(sp.name, [x for x in ev.scores[sp.name] if (x.window.kind, x.window.start_ms) in inside])
                for sp in specs
            ]
            pick = choose(ins)
            spec = next(sp for sp in specs if sp.name == pick.label)
            chosen_per_split.append(spec)
            oos_scores += [x for x in ev.scores[spec.name] if (x.window.kind, x.window.start_ms) in scored]
        params = [", ".join(f"{k}={v:g}" for k, v in sp.params.items()) or "defaults" for sp in chosen_per_split]
        lines.append(f"| {label(StrategySpec(name))} | " + " | ".join(params) + " |")
        oos_rows.append((f"{label(StrategySpec(name))}, walk-forward", summarize(name, oos_scores)))
    scored_all = set().union(*(_keys(s.out_of_sample(ev.windows)) for s in splits))

    def oos(spec: StrategySpec) -> Summary:
        return summarize(
            spec.name, [x for x in ev.scores[spec.name] if (x.window.kind, x.window.start_ms) in scored_all]
        )

    static = oos(STATIC_50)
    statics = [oos(sp) for sp in grids["percentage"]]
    best = max(statics, key=lambda s: s.effectiveness_mean)
    ratio = best.label.split("hedge_ratio=")[1]
    oos_rows += [("static 50 %", static), (f"best static ratio with hindsight ({ratio})", best)]
    lines += ["", "Out of sample (only windows scored after their parameters were chosen):", ""]
    lines += markdown(HEADERS[:-2], [row(n, s)[:-2] for n, s in oos_rows])
    dyn = next(s for n, s in oos_rows if n.startswith("dynamic"))
    checks = [
        ("mean effectiveness above static 50 %", dyn.effectiveness_mean > static.effectiveness_mean,
         f"{dyn.effectiveness_mean:.2f} vs {static.effectiveness_mean:.2f}"),
        ("10th percentile above static 50 %", dyn.effectiveness_p10 > static.effectiveness_p10,
         f"{dyn.effectiveness_p10:.2f} vs {static.effectiveness_p10:.2f}"),
        ("no more windows with a liquidation", dyn.liquidation_windows <= static.liquidation_windows,
         f"{dyn.liquidation_windows} vs {static.liquidation_windows}"),
        ("mean cost at most a quarter of static 50 %'s", dyn.cost_mean_usd <= 0.25 * static.cost_mean_usd,
         f"{dyn.cost_mean_usd:,.0f} vs {static.cost_mean_usd:,.0f} USD"),
        ("stretch: mean effectiveness above the best static ratio with hindsight",
         dyn.effectiveness_mean > best.effectiveness_mean,
         f"{dyn.effectiveness_mean:.2f} vs {best.effectiveness_mean:.2f}"),
    ]  # fmt: skip
    lines += ["", "Issue 12 targets, dynamic (walk-forward) against static 50 %, out of sample:", ""]
    lines += [f"- {what}: {'reached' if ok else 'NOT reached'} ({figures})" for what, ok, figures in checks]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int)
    parser.add_argument("--save", type=Path, help="keep the replayed scores here")
    parser.add_argument("--load", type=Path, help="report from scores kept by --save")
    args = parser.parse_args()
    if args.load:
        ev = pickle.loads(args.load.read_bytes())
    else:
        ev = run_all(args.processes)
        if args.save:
            args.save.write_bytes(pickle.dumps(ev))
    print("\n".join(report(ev)))


if __name__ == "__main__":
    main()
