"""Walk-forward: parameters are chosen on windows that end before a date, and scored only on windows that
start on or after it; then the date moves on and the choice is made again.

The default split (`DEFAULT_FIRST_TEST`, `DEFAULT_TEST_DAYS`) over the shared 2018-01..2022-10 history:
choose on 2018-2020, score on 2021; choose on 2018-2021, score on 2022 (to the end of the data). The
out-of-sample record is the scored parts, end to end: every window in it was judged with parameters
chosen without seeing it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from bot.backtest.data import parse_time_ms
from bot.errors import UsageError
from bot.evaluate.aggregate import Summary
from bot.evaluate.windows import DAY_MS, Window

DEFAULT_FIRST_TEST = "2021-01-01"
DEFAULT_TEST_DAYS = 365.0


@dataclass(frozen=True, slots=True)
class Split:
    """Choose on windows inside [choose_from_ms, choose_until_ms); score on those that start in
    [score_from_ms, score_until_ms) (a scored window may run past score_until_ms: its parameters were still
    chosen before it began)."""

    choose_from_ms: int
    choose_until_ms: int
    score_from_ms: int
    score_until_ms: int

    def in_sample(self, windows: Sequence[Window]) -> list[Window]:
        """The windows wholly before the split: what the parameters may be chosen on."""
        return [w for w in windows if w.start_ms >= self.choose_from_ms and w.end_ms <= self.choose_until_ms]

    def out_of_sample(self, windows: Sequence[Window]) -> list[Window]:
        """The windows that start inside the scored part."""
        return [w for w in windows if self.score_from_ms <= w.start_ms < self.score_until_ms]


def walk_forward_splits(
    start_ms: int,
    end_ms: int,
    first_test_ms: int | None = None,
    test_days: float = DEFAULT_TEST_DAYS,
    anchored: bool = True,
    train_days: float | None = None,
) -> list[Split]:
    """Consecutive splits whose scored parts tile [first_test_ms, end_ms).

    Anchored (the default), each choice uses all history from `start_ms`; otherwise the last `train_days`.
    The last scored part runs to `end_ms` when less than `test_days` remain. UsageError when the data
    leaves nothing on one side.
    """
    first = first_test_ms if first_test_ms is not None else parse_time_ms(DEFAULT_FIRST_TEST)
    if not start_ms < first < end_ms:
        raise UsageError("too little data for the walk-forward split: the split date must fall inside the data")
    test_ms = int(test_days * DAY_MS)
    if test_ms <= 0:
        raise UsageError(f"the scored part must be longer than 0 days, got {test_days}")
    splits: list[Split] = []
    cut = first
    while cut < end_ms:
        until = cut + test_ms
        if end_ms - until < test_ms // 2:  # a stub at the end joins the last part
            until = end_ms
        until = min(until, end_ms)
        begin = start_ms if anchored or train_days is None else max(start_ms, cut - int(train_days * DAY_MS))
        splits.append(Split(begin, cut, cut, until))
        cut = until
    return splits


def out_of_sample_windows(splits: Sequence[Split], windows: Sequence[Window]) -> list[tuple[Split, list[Window]]]:
    """Each split with its scored windows (a window lies in one scored part at most)."""
    return [(s, s.out_of_sample(windows)) for s in splits]


# How a parameter set is chosen on a split's in-sample windows: fewest windows with a liquidation first,
# then the highest objective. 10,000 USD of mean cost in a rising quarter (10 % of the standard 100k
# collateral) weighs as much as one unit of effectiveness.
COST_UNIT_USD = 10_000.0


def objective(summary: Summary) -> float:
    """Mean plus 10th-percentile effectiveness over the crash windows, less the mean cost in rising quarters
    in units of COST_UNIT_USD (a strategy with no such window scores -inf on what it lacks)."""
    eff = summary.effectiveness_mean + summary.effectiveness_p10
    cost = summary.cost_mean_usd / COST_UNIT_USD if summary.rising_quarters else 0.0
    value = eff - cost
    return value if math.isfinite(value) else -math.inf


def choose(summaries: Sequence[Summary]) -> Summary:
    """The in-sample pick: fewest liquidation windows, then the highest `objective`, then the first given."""
    if not summaries:
        raise UsageError("nothing to choose from")
    return min(summaries, key=lambda s: (s.liquidation_windows, -objective(s)))
