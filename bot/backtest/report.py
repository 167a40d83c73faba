"""What a backtest gives back: the --json object, the readable summary, and the report folder (Markdown,
PNG chart, trades CSV). Presentation only; the figures come from `bot.backtest.run`."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.backtest.data import format_time
from bot.backtest.run import Backtest, StrategyRun
from bot.ops.output import format_value, print_grid
from bot.venues.reconcile import CONDITIONAL, ENTRY, STOP, role_of

ROLES = {ENTRY: "entry", STOP: "stop", CONDITIONAL: "conditional entry"}


def _run_dict(run: StrategyRun) -> dict[str, Any]:
    return {**run.portfolio.as_dict(), **run.hedge.as_dict()}


def to_json(result: Backtest) -> dict[str, Any]:
    """The --json object: unhedged, hedged (the first strategy), effectiveness, bars, elapsed_s, and
    every strategy side by side under "strategies"."""
    first = result.runs[0]
    bars = result.bars
    return {
        "unhedged": result.unhedged.as_dict(),
        "hedged": _run_dict(first),
        "effectiveness": first.effectiveness,
        "bars": result.window_bars,
        "elapsed_s": round(result.elapsed_s, 3),
        "strategy": first.label,
        "strategies": [{"strategy": r.label, "effectiveness": r.effectiveness, **_run_dict(r)} for r in result.runs],
        "window": {"start": format_time(bars.ts_ms[result.start]), "end": format_time(bars.ts_ms[-1])},
        "bar_minutes": bars.bar_ms / 60_000,
        "gaps": [
            {"after": format_time(g.after_ms), "before": format_time(g.before_ms), "missing_bars": g.missing_bars}
            for g in bars.gaps
            if g.before_ms > bars.ts_ms[result.start]
        ],
        "funding": result.funding_source,
        "liquidation_rules": result.liquidation_rules,
    }


def summary_rows(result: Backtest) -> tuple[list[str], list[list[Any]]]:
    """A table: one row per figure, one column per portfolio."""
    headers = ["", "unhedged", *[r.label for r in result.runs]]
    u = result.unhedged.as_dict()
    keys = list(u)
    rows: list[list[Any]] = [[k, u[k], *[r.portfolio.as_dict()[k] for r in result.runs]] for k in keys]
    for k in (
        "hedge_pnl_usd",
        "fees_usd",
        "funding_usd",
        "orders",
        "hedge_liquidated",
        "decisions",
        "defense_txs",
        "defended_usd",
        "reserve_left_usd",
    ):
        rows.append([k, "", *[r.hedge.as_dict()[k] for r in result.runs]])
    rows.append(["effectiveness", "", *[r.effectiveness for r in result.runs]])
    return headers, rows


def print_summary(result: Backtest) -> None:

    bars = result.bars
    s = result.setup
    print(
        f"backtest {format_time(bars.ts_ms[result.start])} .. {format_time(bars.ts_ms[-1])}: {result.window_bars} bars"
        f" of {bars.bar_ms / 60_000:g} min, {s.collateral_usd:,.0f} USD of {s.collateral_asset} at HF"
        f" {s.start_health_factor:g}, hedge capital {s.hedge_capital_usd:,.0f} USD; funding: {result.funding_source};"
        f" Aave {result.liquidation_rules} liquidations"
    )
    gaps = [g for g in bars.gaps if g.before_ms > bars.ts_ms[result.start]]
    if gaps:
        worst = max(gaps, key=lambda g: g.missing_bars)
        print(
            f"data gaps (not filled): {len(gaps)}, largest {worst.missing_bars} bars"
            f" after {format_time(worst.after_ms)}"
        )
    headers, rows = summary_rows(result)
    print_grid(headers, rows)
    print(f"effectiveness = 1 - hedged max drawdown / unhedged max drawdown; {result.elapsed_s:.2f} s")


def _times(result: Backtest) -> list[datetime]:
    return [datetime.fromtimestamp(t / 1000, UTC) for t in result.bars.ts_ms[result.start :]]


def write_chart(result: Backtest, path: Path) -> None:
    """Prices, health factors, hedge size and equity of every portfolio, one panel each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = _times(result)
    start = result.start
    fig, axes = plt.subplots(4, 1, figsize=(11, 12), sharex=True)
    ax = axes[0]
    ax.plot(t, result.bars.btc[3][start:], color="tab:orange", label="BTC")
    ax.set_ylabel("BTC (USD)")
    ax2 = ax.twinx()
    ax2.plot(t, result.bars.collateral[3][start:], color="tab:blue", label=result.setup.collateral_asset)
    ax2.set_ylabel(f"{result.setup.collateral_asset} (USD)")
    ax.set_title("prices (close)")
    ax.legend(loc="upper left")
    ax2.legend(loc="upper right")
    ax = axes[1]
    ax.plot(t, _clip_hf(result.unhedged_series.health_factor), color="black", label="unhedged")
    for run in result.runs:
        ax.plot(t, _clip_hf(run.series.health_factor), label=run.label)
    ax.axhline(1.0, color="red", linestyle="--", linewidth=1)
    ax.set_ylabel("health factor")
    ax.legend()
    ax = axes[2]
    for run in result.runs:
        ax.plot(t, run.series.short_contracts, label=run.label)
    ax.set_ylabel("short (contracts)")
    ax.legend()
    ax = axes[3]
    ax.plot(t, result.unhedged_series.equity_usd, color="black", label="unhedged")
    for run in result.runs:
        ax.plot(t, run.series.equity_usd, label=run.label)
    ax.set_ylabel("total equity (USD)")
    ax.legend()
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _clip_hf(values: Any) -> list[float]:
    return [min(v, 5.0) if math.isfinite(v) else 5.0 for v in values]


def write_trades(result: Backtest, path: Path) -> None:
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["strategy", "time", "client_id", "role", "side", "contracts", "price", "fee_btc"])
        for run in result.runs:
            for f in run.fills:
                role = "liquidation" if f.client_id.startswith("autoclose") else ROLES.get(role_of(f.client_id), "?")
                out.writerow(
                    [run.label, format_time(f.timestamp_ms), f.client_id, role, f.side.value, f.contracts,
                     f"{f.price:.1f}", f"{f.fee_btc:.8f}"]
                )  # fmt: skip


def write_report(result: Backtest, folder: Path) -> list[Path]:
    """report.md, chart.png and trades.csv in `folder`; the paths written."""
    folder.mkdir(parents=True, exist_ok=True)
    chart, trades, report = folder / "chart.png", folder / "trades.csv", folder / "report.md"
    write_chart(result, chart)
    write_trades(result, trades)
    headers, rows = summary_rows(result)
    lines = [
        f"# Backtest {format_time(result.bars.ts_ms[result.start])} .. {format_time(result.bars.ts_ms[-1])}",
        "",
        f"{result.setup.collateral_usd:,.0f} USD of {result.setup.collateral_asset} at health factor"
        f" {result.setup.start_health_factor:g} (LT {result.setup.liquidation_threshold:g},"
        f" bonus {result.setup.liquidation_bonus:g}; Aave {result.liquidation_rules} liquidations),"
        f" hedge capital {result.setup.hedge_capital_usd:,.0f} USD."
        f" {result.window_bars} bars; funding: {result.funding_source}.",
        "",
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
        *("| " + " | ".join(format_value(v) for v in row) + " |" for row in rows),
        "",
        "![chart](chart.png)",
        "",
        "Trades: [trades.csv](trades.csv).",
    ]
    report.write_text("\n".join(lines) + "\n")
    return [report, chart, trades]
