"""How an evaluation is shown: the table rows (terminal and Markdown), the --json object and the chart.
Presentation only; the figures come from `bot.evaluate.evaluate`."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bot.backtest.data import format_time
from bot.evaluate.aggregate import Summary
from bot.evaluate.evaluation import Evaluation
from bot.evaluate.score import StrategySpec
from bot.plugins import loader as plugins

NOT_A_HEDGE = "a trading strategy, not a hedge"
HEADERS = [
    "strategy",
    "crashes",
    "eff. mean",
    "eff. median",
    "eff. p10",
    "eff. worst",
    "liquidated",
    "lost > 1/2",
    "rising Q",
    "cost mean",
    "cost worst",
    "history low",
    "wiped",
]
LEGEND = (
    "crashes: 14-day windows (7-day step) where the collateral fell >= 20 % from a high; eff. = effectiveness,"
    " 1 - hedged max drawdown / unhedged max drawdown, over those; liquidated / lost > 1/2: of all 14-day"
    " windows, those where the loan was liquidated (guardian at its defaults) / the hedge account fell below half"
    " its capital; rising Q: 90-day windows where the collateral rose; cost (USD) = unhedged - hedged final"
    " equity over them; history low: the hedge account's lowest equity (USD) over the whole history, wiped when"
    " it fell to 10 % of its capital"
)


def label(spec: StrategySpec) -> str:
    """The row's name: a trading strategy (not a hedge) says so."""
    cls = plugins.resolve(spec.strategy)
    return f"{spec.name} ({NOT_A_HEDGE})" if not getattr(cls, "is_hedge", True) else spec.name


def _f(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "n/a"


def _usd(value: float) -> str:
    return f"{value:,.0f}" if math.isfinite(value) else "n/a"


def row(name: str, s: Summary) -> list[str]:
    h = s.history
    return [
        name,
        str(s.crash_windows),
        _f(s.effectiveness_mean),
        _f(s.effectiveness_median),
        _f(s.effectiveness_p10),
        _f(s.effectiveness_worst),
        f"{s.liquidation_windows}/{s.fortnights}",
        f"{s.half_capital_lost_windows}/{s.fortnights}",
        str(s.rising_quarters),
        _usd(s.cost_mean_usd),
        _usd(s.cost_worst_usd),
        _usd(h.hedge_min_equity_usd) if h else "-",
        ("yes" if h.wiped else "no") if h else "-",
    ]


def rows(evaluation: Evaluation, summaries: Sequence[Summary] | None = None) -> list[list[str]]:
    """One row per strategy (the evaluation's summaries, or `summaries` re-summed over fewer windows)."""
    names = {spec.name: label(spec) for spec in evaluation.specs}
    return [row(names.get(s.label, s.label), s) for s in (summaries or evaluation.summaries)]


def markdown(headers: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    return [
        "| " + " | ".join(headers) + " |",
        "|" + "---|" * len(headers),
        *("| " + " | ".join(r) + " |" for r in body),
    ]


def describe(evaluation: Evaluation) -> str:
    """One line: the data, the windows, the position and how long it took."""
    fortnights = [w for w in evaluation.windows if w.kind == "fortnight"]
    crashes = sum(w.crash for w in fortnights)
    quarters = sum(w.rising for w in evaluation.windows)
    s = evaluation.setup
    return (
        f"{format_time(evaluation.first_ms)} .. {format_time(evaluation.last_ms)}, {evaluation.bar_minutes:g}-min bars:"
        f" {len(fortnights)} fortnights ({crashes} crashes: collateral drawdown >= 20 %), {quarters} rising"
        f" quarters; {s.collateral_usd:,.0f} USD of {s.collateral_asset} at HF {s.start_health_factor:g},"
        f" hedge capital {s.hedge_capital_usd:,.0f} USD, guardian reserve {s.reserve_usd:,.0f} USD;"
        f" {evaluation.elapsed_s:.1f} s on {evaluation.processes} process(es)"
    )


def to_json(evaluation: Evaluation) -> dict[str, Any]:
    """The --json object: the data and windows, then one entry per strategy (its summary and whole-history run)."""
    fortnights = [w for w in evaluation.windows if w.kind == "fortnight"]
    return {
        "data": {
            "start": format_time(evaluation.first_ms),
            "end": format_time(evaluation.last_ms),
            "bar_minutes": evaluation.bar_minutes,
        },
        "windows": {
            "fortnights": len(fortnights),
            "crashes": sum(w.crash for w in fortnights),
            "rising_quarters": sum(w.rising for w in evaluation.windows),
        },
        "position": asdict(evaluation.setup),
        "elapsed_s": round(evaluation.elapsed_s, 3),
        "processes": evaluation.processes,
        "strategies": [
            {
                "strategy": spec.strategy,
                "params": dict(spec.params),
                "is_hedge": not label(spec).endswith(f"({NOT_A_HEDGE})"),
                **summary.as_dict(),
            }
            for spec, summary in zip(evaluation.specs, evaluation.summaries, strict=True)
        ],
    }


def write_chart(evaluation: Evaluation, path: Path, summaries: Sequence[Summary] | None = None) -> None:
    """Effectiveness (mean over crash windows, bar down to the 10th percentile) against the mean cost in
    rising quarters: one point per strategy and parameter set."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6))
    for s in summaries or evaluation.summaries:
        if not (math.isfinite(s.cost_mean_usd) and math.isfinite(s.effectiveness_mean)):
            continue
        low = s.effectiveness_mean - s.effectiveness_p10
        ax.errorbar(s.cost_mean_usd, s.effectiveness_mean, yerr=[[low], [0.0]], fmt="o", capsize=3)
        ax.annotate(s.label, (s.cost_mean_usd, s.effectiveness_mean), textcoords="offset points", xytext=(5, 5))
    ax.set_xlabel("mean cost in rising quarters (USD)")
    ax.set_ylabel("effectiveness over crash windows (mean; bar to the 10th percentile)")
    ax.set_title(f"{format_time(evaluation.first_ms)[:10]} .. {format_time(evaluation.last_ms)[:10]}")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
