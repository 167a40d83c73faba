"""Hedge quality on the shared 1h history (2018-01 .. 2022-10), on every window (`hedgebot evaluate`):
each built-in strategy at its defaults and static hedges of 25, 50, 75 and 100 %, over every 14-day window
(7-day step; the crash windows are those where ETH fell >= 20 % from a high), every rising 90-day window,
and one run over the whole history.

Standard position: 100k USD of ETH at HF 1.5 (LT 0.825, bonus 5 %), 20k USD of hedge capital, the
guardian at its defaults with a 20k USD reserve (benchmarks/defense.py). The built-in defaults were chosen
by walk-forward on 2018-2021 (benchmarks/walk_forward.py), so this whole-history table is partly
in-sample; the out-of-sample table is walk_forward.py's. Prints the Markdown table of docs/backtest.md,
then the best static ratio with hindsight and the time taken.

    .venv/bin/python benchmarks/hedge_quality.py [--processes N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.backtest.data import SHARED_DATA_DIR as DATA  # noqa: E402
from bot.backtest.data import align, load_candles, load_funding  # noqa: E402
from bot.evaluate import Evaluation, StrategySpec, evaluate  # noqa: E402
from bot.evaluate.report import HEADERS, describe, markdown, rows  # noqa: E402
from bot.plugins import loader as plugins  # noqa: E402
from bot.venues.ccxt.registry import builtin_instrument  # noqa: E402
from strategies import BUILTIN  # noqa: E402

STATIC_RATIOS = (0.25, 0.5, 0.75, 1.0)


def contenders() -> list[StrategySpec]:
    """Static hedges at each ratio, then every built-in at its defaults (percentage only when its default
    ratio is not one of the static ones)."""
    specs = [StrategySpec("percentage", {"hedge_ratio": r}, f"static {r:.0%}") for r in STATIC_RATIOS]
    default_ratio = plugins.load("percentage").params.hedge_ratio
    for name in BUILTIN:
        if name != "percentage" or default_ratio not in STATIC_RATIOS:
            specs.append(StrategySpec(name))
    return specs


def run(processes: int | None = None) -> Evaluation:
    bars = align(load_candles(DATA / "binance_BTCUSDT_1h.csv.gz"), load_candles(DATA / "binance_ETHUSDT_1h.csv.gz"))
    funding = load_funding(DATA / "binance_BTCUSDT_perp_funding_8h.csv")
    return evaluate(contenders(), bars, builtin_instrument("binancecoinm"), funding, processes=processes)


def table(ev: Evaluation) -> list[str]:
    statics = [s for s in ev.summaries if s.label.startswith("static ")]
    best = max(statics, key=lambda s: s.effectiveness_mean)
    return [
        *markdown(HEADERS, rows(ev)),
        "",
        f"Best static ratio with hindsight (highest mean effectiveness over these windows): {best.label},"
        f" {best.effectiveness_mean:.2f}.",
        "",
        describe(ev),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="hedge quality on every window of the shared history")
    parser.add_argument("--processes", type=int)
    args = parser.parse_args()
    print("\n".join(table(run(args.processes))))


if __name__ == "__main__":
    main()
