"""Which stretches of history a strategy is judged on: pure functions of the aligned bars.

- A *fortnight* is every 14-day window, started every 7 days, once the first 7 days of data have warmed
  the features. It is a *crash* when the collateral's max drawdown inside it (running high to a later
  low, the replay's intrabar order) is at least 20 %.
- A *rising quarter* is every 90-day window, on the same 7-day step, where the collateral closed above
  the price it opened at: where a hedge only costs.
Windows are half-open [start_ms, end_ms); a window the data does not cover to at least half its bars
(a long exchange outage) is left out rather than judged on a stub.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from typing import Literal

from bot.backtest.data import AlignedBars, Gap

DAY_MS = 86_400_000
FORTNIGHT_DAYS = 14.0
QUARTER_DAYS = 90.0
STEP_DAYS = 7.0
WARMUP_DAYS = 7.0  # the replay's own feature warm-up (ReplaySettings.warmup_days)
CRASH_DRAWDOWN = 0.20
MIN_COVERAGE = 0.5  # share of a window's bars that must be present

WindowKind = Literal["fortnight", "quarter"]


@dataclass(frozen=True, slots=True)
class Window:
    """One stretch of history, with what the collateral did in it."""

    kind: WindowKind
    start_ms: int
    end_ms: int
    collateral_drawdown: float  # max drawdown, high to later low (fraction, >= 0)
    collateral_change: float  # last close / first open - 1

    @property
    def crash(self) -> bool:
        return self.kind == "fortnight" and self.collateral_drawdown >= CRASH_DRAWDOWN

    @property
    def rising(self) -> bool:
        return self.kind == "quarter" and self.collateral_change > 0


def bar_range(bars: AlignedBars, start_ms: int, end_ms: int) -> tuple[int, int]:
    """The indices [lo, hi) of the bars whose open time lies in [start_ms, end_ms)."""
    return bisect_left(bars.ts_ms, start_ms), bisect_left(bars.ts_ms, end_ms)


def slice_bars(bars: AlignedBars, lo: int, hi: int) -> AlignedBars:
    """Bars lo..hi-1 as their own AlignedBars (a gap before the first one is not theirs to report)."""
    gap_before = bytearray(bars.gap_before[lo:hi])
    if gap_before:
        gap_before[0] = 0
    first, last = bars.ts_ms[lo], bars.ts_ms[hi - 1]
    gaps: tuple[Gap, ...] = tuple(g for g in bars.gaps if g.after_ms >= first and g.before_ms <= last)
    return AlignedBars(
        bars.ts_ms[lo:hi],
        (bars.btc[0][lo:hi], bars.btc[1][lo:hi], bars.btc[2][lo:hi], bars.btc[3][lo:hi]),
        (
            bars.collateral[0][lo:hi],
            bars.collateral[1][lo:hi],
            bars.collateral[2][lo:hi],
            bars.collateral[3][lo:hi],
        ),
        bytes(gap_before),
        gaps,
        bars.bar_ms,
    )


def collateral_moves(bars: AlignedBars, lo: int, hi: int) -> tuple[float, float]:
    """(max drawdown, change) of the collateral over bars lo..hi-1."""
    co, ch, cl, cc = bars.collateral
    peak = co[lo]
    worst = 0.0
    for i in range(lo, hi):
        peak = max(peak, ch[i])  # the replay visits a bar's high before its low
        worst = max(worst, 1.0 - cl[i] / peak)
    return worst, cc[hi - 1] / co[lo] - 1.0


def windows(
    bars: AlignedBars,
    kind: WindowKind,
    days: float,
    step_days: float = STEP_DAYS,
    warmup_days: float = WARMUP_DAYS,
) -> list[Window]:
    """Every `days`-long window on a `step_days` step, the first one `warmup_days` after the first bar."""
    if len(bars) < 2:
        return []
    span_ms, step_ms = int(days * DAY_MS), int(step_days * DAY_MS)
    expected = span_ms // bars.bar_ms
    out: list[Window] = []
    start = bars.ts_ms[0] + int(warmup_days * DAY_MS)
    while start + span_ms <= bars.ts_ms[-1] + bars.bar_ms:
        lo, hi = bar_range(bars, start, start + span_ms)
        if hi - lo >= max(2, int(expected * MIN_COVERAGE)):
            drawdown, change = collateral_moves(bars, lo, hi)
            out.append(Window(kind, start, start + span_ms, drawdown, change))
        start += step_ms
    return out


def fortnights(bars: AlignedBars, step_days: float = STEP_DAYS) -> list[Window]:
    """Every 14-day window on a 7-day step (crashes among them: `Window.crash`)."""
    return windows(bars, "fortnight", FORTNIGHT_DAYS, step_days)


def rising_quarters(bars: AlignedBars, step_days: float = STEP_DAYS) -> list[Window]:
    """Every 90-day window on a 7-day step in which the collateral rose."""
    return [w for w in windows(bars, "quarter", QUARTER_DAYS, step_days) if w.rising]
