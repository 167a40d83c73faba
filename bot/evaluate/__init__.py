"""Judging strategies on history: every window, not a handful (issue 12).

The stable entry points:
- `fortnights(bars)`, `rising_quarters(bars)` -> list[Window]: every 14-day window on a 7-day step (a crash
  when the collateral's max drawdown is >= 20 %), every 90-day window where the collateral rose.
- `score_window(spec, bars, window, instrument, ...)` -> WindowScore, `score_windows(...)`: the bot's own
  replay (bot.backtest.run) of one `StrategySpec` on windows, the guardian at its defaults with a 20k
  reserve; effectiveness, loan liquidated, hedge account lost > half its capital, cost.
- `whole_history(spec, bars, instrument, ...)` -> HistoryRun: one run over all the bars; was the hedge
  account wiped?
- `summarize(label, scores, history)` -> Summary: effectiveness mean / median / p10 / worst over crash
  windows, windows with a liquidation, windows with > half the hedge capital lost, mean and worst cost
  in rising quarters.
- `evaluate(specs, bars, instrument, funding, ...)` -> Evaluation: all of it for many specs, on several
  processes; `resummarize(evaluation, windows)` re-sums over a subset (a walk-forward split's part).
- `walk_forward_splits(start_ms, end_ms, ...)` -> list[Split]: choose on `split.in_sample(windows)`
  (`choose(summaries)`: fewest liquidation windows, then the best `objective`), score on
  `split.out_of_sample(windows)`, roll.
"""

from bot.evaluate.aggregate import Summary, summarize
from bot.evaluate.evaluation import Evaluation, default_processes, evaluate, resummarize
from bot.evaluate.score import (
    EVALUATION_SETUP,
    RESERVE_USD,
    HistoryRun,
    StrategySpec,
    WindowScore,
    bot_replay_settings,
    score_window,
    score_windows,
    whole_history,
)
from bot.evaluate.walk_forward import (
    COST_UNIT_USD,
    Split,
    choose,
    objective,
    out_of_sample_windows,
    walk_forward_splits,
)
from bot.evaluate.windows import CRASH_DRAWDOWN, Window, bar_range, fortnights, rising_quarters, slice_bars, windows

__all__ = [
    "COST_UNIT_USD",
    "CRASH_DRAWDOWN",
    "EVALUATION_SETUP",
    "RESERVE_USD",
    "Evaluation",
    "HistoryRun",
    "Split",
    "StrategySpec",
    "Summary",
    "Window",
    "WindowScore",
    "bar_range",
    "bot_replay_settings",
    "choose",
    "default_processes",
    "evaluate",
    "fortnights",
    "objective",
    "out_of_sample_windows",
    "resummarize",
    "rising_quarters",
    "score_window",
    "score_windows",
    "slice_bars",
    "summarize",
    "walk_forward_splits",
    "whole_history",
    "windows",
]
