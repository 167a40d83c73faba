"""Per-strategy figures from its window scores: pure arithmetic, no replay."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from bot.evaluate.score import HistoryRun, WindowScore


@dataclass(frozen=True, slots=True)
class Summary:
    """One strategy (one parameter set) over a set of windows.

    Effectiveness figures are over the crash fortnights; liquidations and lost capital over every
    fortnight; costs over the rising quarters. NaN where there is no such window.
    """

    label: str
    fortnights: int
    crash_windows: int
    effectiveness_mean: float
    effectiveness_median: float
    effectiveness_p10: float  # 10th percentile (linear interpolation, as numpy.percentile)
    effectiveness_worst: float
    liquidation_windows: int
    half_capital_lost_windows: int
    rising_quarters: int
    cost_mean_usd: float
    cost_worst_usd: float  # the highest cost (USD) in one rising quarter
    history: HistoryRun | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(label: str, scores: Sequence[WindowScore], history: HistoryRun | None = None) -> Summary:
    """The figures of issue 12 for one strategy from its scores (fortnights and quarters mixed)."""
    fortnights = [s for s in scores if s.window.kind == "fortnight"]
    crashes = [s.effectiveness for s in fortnights if s.window.crash and math.isfinite(s.effectiveness)]
    costs = [s.cost_usd for s in scores if s.window.rising]
    eff = np.array(crashes, dtype=float)
    nan = math.nan
    return Summary(
        label=label,
        fortnights=len(fortnights),
        crash_windows=len(crashes),
        effectiveness_mean=float(eff.mean()) if crashes else nan,
        effectiveness_median=float(np.median(eff)) if crashes else nan,
        effectiveness_p10=float(np.percentile(eff, 10)) if crashes else nan,
        effectiveness_worst=float(eff.min()) if crashes else nan,
        liquidation_windows=sum(s.liquidated for s in fortnights),
        half_capital_lost_windows=sum(s.hedge_lost_half for s in fortnights),
        rising_quarters=len(costs),
        cost_mean_usd=sum(costs) / len(costs) if costs else nan,
        cost_worst_usd=max(costs) if costs else nan,
        history=history,
    )
