"""What a trial of `hedgebot tune` maximises: the walk-forward's own choice rule, as one number.

The built-in defaults are chosen on each split's in-sample windows by `bot.evaluate.walk_forward.choose`:
fewest windows with a loan liquidation first, then the highest `objective` (mean plus 10th-percentile
effectiveness over the crash windows, less the mean cost in rising quarters per 10,000 USD). A sampler
needs one number, so a liquidation window here costs LIQUIDATION_RANK, more than any difference in that
objective can make up: the order of the trials is `choose`'s order. Each window is scored with
`hedgebot evaluate`'s scorer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from bot.backtest.data import AlignedBars, FundingSeries
from bot.backtest.run import LendingSetup, ReplaySettings
from bot.domain.instruments import Instrument
from bot.evaluate.aggregate import Summary, summarize
from bot.evaluate.score import StrategySpec, WindowScore, score_window
from bot.evaluate.walk_forward import objective as choice_objective
from bot.evaluate.windows import Window

# Effectiveness figures lie within a few units and costs within a few 10,000 USD: 100 per liquidation
# window outranks them, as `choose` ranks liquidations first.
LIQUIDATION_RANK = 100.0


def objective(summary: Summary) -> float:
    """`choose`'s order as one number; -inf while no crash window has been scored (nothing to judge on)."""
    return choice_objective(summary) - LIQUIDATION_RANK * summary.liquidation_windows


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
        yield objective(summarize(spec.name, scores))
