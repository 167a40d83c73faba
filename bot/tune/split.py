"""The walk-forward split of `hedgebot tune`: one date; the search sees only the windows that end before
it, and the table at the end scores only the windows that start on or after it.

The windows are `hedgebot evaluate`'s (every 14-day window on a 7-day step, every rising 90-day quarter),
and the split is its `Split` with one scored part running to the end of the data.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.backtest.data import AlignedBars, format_time, parse_time_ms
from bot.errors import UsageError
from bot.evaluate.walk_forward import DEFAULT_FIRST_TEST, Split
from bot.evaluate.windows import DAY_MS, Window, fortnights, rising_quarters

MIN_IN_SAMPLE_FORTNIGHTS = 4  # fewer leave the sampler and the pruner nothing to compare
MIN_OUT_OF_SAMPLE_FORTNIGHTS = 1


@dataclass(frozen=True, slots=True)
class Walk:
    """The split and the windows on each side of it, in time order."""

    split: Split
    in_sample: tuple[Window, ...]
    out_of_sample: tuple[Window, ...]


def split_date_ms(first_ms: int, end_ms: int, given: str | None = None) -> int:
    """`given`, else evaluate's first scored date when the data spans it, else the day two thirds in."""
    if given:
        return parse_time_ms(given)
    default = parse_time_ms(DEFAULT_FIRST_TEST)
    if first_ms < default < end_ms:
        return default
    two_thirds = first_ms + (end_ms - first_ms) * 2 // 3
    return two_thirds - two_thirds % DAY_MS


def walk(bars: AlignedBars, split_ms: int) -> Walk:
    """The windows of `bars` on each side of `split_ms`; UsageError ("too little data for the walk-forward
    split") when the date lies outside the data, leaves too few fortnights on a side, or no crash before it
    (effectiveness, what a hedge is chosen for, is measured on crashes)."""
    first_ms, end_ms = bars.ts_ms[0], bars.ts_ms[-1] + bars.bar_ms
    at = format_time(split_ms)[:10]
    if not first_ms < split_ms < end_ms:
        raise UsageError(
            f"too little data for the walk-forward split: --split {at} is outside the data"
            f" ({format_time(first_ms)[:10]}..{format_time(end_ms)[:10]})"
        )
    split = Split(first_ms, split_ms, split_ms, end_ms)
    every = sorted([*fortnights(bars), *rising_quarters(bars)], key=lambda w: (w.start_ms, w.kind))
    chosen, scored = split.in_sample(every), split.out_of_sample(every)
    n_in = sum(w.kind == "fortnight" for w in chosen)
    n_out = sum(w.kind == "fortnight" for w in scored)
    crashes = sum(w.crash for w in chosen)
    if n_in < MIN_IN_SAMPLE_FORTNIGHTS or n_out < MIN_OUT_OF_SAMPLE_FORTNIGHTS or crashes == 0:
        raise UsageError(
            f"too little data for the walk-forward split at {at}: {n_in} fortnights end before it ({crashes}"
            f" of them crashes; at least {MIN_IN_SAMPLE_FORTNIGHTS} and one crash needed) and {n_out} start from"
            f" it (at least {MIN_OUT_OF_SAMPLE_FORTNIGHTS}); move --split or widen --start/--end"
        )
    return Walk(split, tuple(chosen), tuple(scored))
