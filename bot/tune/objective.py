"""What a trial of `hedgebot tune` maximises, scored with `hedgebot evaluate`'s own scorer.

One number per parameter set, from the issue's figures over the in-sample windows:

    objective = mean effectiveness over crash fortnights
              - LIQUIDATION_WEIGHT x share of fortnights with a loan liquidation
              - HALF_LOST_WEIGHT x share of fortnights where the hedge account lost half its capital
              - mean cost in rising quarters / hedge capital

Effectiveness is what a hedge is for; a liquidation or a wiped account is what it must never allow, so
each weighs more than any gain in effectiveness (one liquidation in 20 fortnights costs 0.25); the cost
of holding the hedge while the collateral rises is counted in units of the capital put up for it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

from bot.backtest.data import AlignedBars, FundingSeries
from bot.backtest.run import LendingSetup, ReplaySettings
from bot.domain.instruments import Instrument
from bot.evaluate.aggregate import Summary, summarize
from bot.evaluate.score import StrategySpec, WindowScore, score_window
from bot.evaluate.windows import Window

LIQUIDATION_WEIGHT = 5.0
HALF_LOST_WEIGHT = 2.0


def objective(summary: Summary, hedge_capital_usd: float) -> float:
    """The number a trial maximises (see the module docstring); a term with no window to measure it is 0."""
    effectiveness = summary.effectiveness_mean if math.isfinite(summary.effectiveness_mean) else 0.0
    fortnights = max(1, summary.fortnights)
    liquidations = summary.liquidation_windows / fortnights
    half_lost = summary.half_capital_lost_windows / fortnights
    cost = summary.cost_mean_usd / hedge_capital_usd if math.isfinite(summary.cost_mean_usd) else 0.0
    return effectiveness - LIQUIDATION_WEIGHT * liquidations - HALF_LOST_WEIGHT * half_lost - cost


def running_objective(
    spec: StrategySpec,
    bars: AlignedBars,
    windows: Sequence[Window],
    instrument: Instrument,
    funding: FundingSeries | None,
    setup: LendingSetup,
    settings: ReplaySettings | None,
) -> Iterator[float]:
    """The objective over the windows scored so far, after each window in turn (the pruner's steps).

    UsageError before the first window when the parameters are refused by the strategy's model.
    """
    strategy = spec.build()
    scores: list[WindowScore] = []
    for window in windows:
        scores.append(score_window(spec, bars, window, instrument, funding, setup, settings, strategy))
        yield objective(summarize(spec.name, scores), setup.hedge_capital_usd)
