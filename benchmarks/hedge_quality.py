"""Hedge quality on the shared data: effectiveness in four crashes and the cost in a bull quarter, for every
built-in strategy at its defaults, the static 50 % hedge and the best static ratio hindsight would pick.

Standard position: 100k USD of ETH at HF 1.5 (LT 0.825, bonus 5 %), 20k USD of hedge capital.
Prints a Markdown table (the one in docs/backtest.md).
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.backtest.data import SHARED_DATA_DIR as DATA  # noqa: E402
from bot.backtest.data import Candles, align, load_candles, load_funding, parse_time_ms  # noqa: E402
from bot.backtest.run import Backtest, LendingSetup, backtest  # noqa: E402
from bot.plugins import loader as plugins  # noqa: E402
from bot.venues.ccxt.registry import builtin_instrument  # noqa: E402
from strategies.base import Strategy  # noqa: E402

H1 = ("binance_BTCUSDT_1h.csv.gz", "binance_ETHUSDT_1h.csv.gz")
M5_21 = ("binance_BTCUSDT_5m_20201201-20210717.csv.gz", "binance_ETHUSDT_5m_20201201-20210717.csv.gz")
M5_22 = ("binance_BTCUSDT_5m_20220101-20220804.csv.gz", "binance_ETHUSDT_5m_20220101-20220804.csv.gz")
CRASHES = {
    "2020-03 COVID (1h)": (H1, "2020-03-05", "2020-03-19"),
    "2021-05 (5m)": (M5_21, "2021-05-12", "2021-05-26"),
    "2022-05 LUNA (5m)": (M5_22, "2022-05-03", "2022-05-17"),
    "2022-06 3AC (5m)": (M5_22, "2022-06-08", "2022-06-22"),
}
BULL = ("2020-Q3 bull (1h)", (H1, "2020-07-01", "2020-10-01"))
STATIC_RATIOS = [round(0.1 * k, 1) for k in range(0, 16)]


@cache
def _candles(name: str) -> Candles:
    return load_candles(DATA / name)


def run(window: tuple[tuple[str, str], str, str], strategies: list[tuple[str, Strategy[Any]]]) -> Backtest:
    (btc, coll), start, end = window
    start_ms = parse_time_ms(start)
    bars = align(_candles(btc), _candles(coll), start_ms - 7 * 86_400_000, parse_time_ms(end))
    funding = load_funding(DATA / "binance_BTCUSDT_perp_funding_8h.csv")
    return backtest(bars, start_ms, LendingSetup(), strategies, builtin_instrument("binancecoinm"), funding)


def contenders() -> list[tuple[str, Strategy[Any]]]:
    out: list[tuple[str, Strategy[Any]]] = [("static 50 %", plugins.load("percentage", {"hedge_ratio": 0.5}))]
    for name, cls in plugins.available().items():
        if name != "percentage":
            out.append((name, cls.from_params({})))
    return out


def table() -> list[str]:
    names = [label for label, _ in contenders()]
    crash_cols = list(CRASHES)
    lines = [
        "| strategy | " + " | ".join(f"{c} effectiveness" for c in crash_cols) + f" | {BULL[0]} cost (USD) |",
        "|---|" + "---|" * (len(crash_cols) + 1),
    ]
    cells: dict[str, list[str]] = {n: [] for n in names}
    best: list[str] = []
    unhedged: list[str] = []
    for title, window in [*CRASHES.items(), BULL]:
        result = run(window, contenders())
        is_bull = title == BULL[0]
        for r in result.runs:
            cost = result.unhedged.final_equity_usd - r.portfolio.final_equity_usd
            liq = " (liq.)" if r.portfolio.liquidated else ""
            cells[r.label].append(f"{cost:,.0f}" if is_bull else f"{r.effectiveness:.2f}{liq}")
        sweep = run(window, [(f"{x}", plugins.load("percentage", {"hedge_ratio": x})) for x in STATIC_RATIOS])
        if is_bull:
            top = min(sweep.runs, key=lambda r: result.unhedged.final_equity_usd - r.portfolio.final_equity_usd)
            best.append(f"{result.unhedged.final_equity_usd - top.portfolio.final_equity_usd:,.0f} (ratio {top.label})")
            unhedged.append(f"final {result.unhedged.final_equity_usd:,.0f}")
        else:
            top = max(sweep.runs, key=lambda r: r.effectiveness)
            best.append(f"{top.effectiveness:.2f} (ratio {top.label})")
            u = result.unhedged
            unhedged.append(f"max DD {u.max_drawdown_usd:,.0f}, {u.liquidation_events} liq.")
    lines += [f"| {n} | " + " | ".join(cells[n]) + " |" for n in names]
    lines.append("| best static ratio (hindsight) | " + " | ".join(best) + " |")
    lines.append("| unhedged | " + " | ".join(unhedged) + " |")
    return lines


if __name__ == "__main__":
    print("\n".join(table()))
