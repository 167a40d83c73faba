"""`evaluate`: every strategy on every window, spread over processes, summed up per strategy."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.backtest.data import AlignedBars, FundingSeries
from bot.backtest.run import LendingSetup, ReplaySettings
from bot.domain.instruments import Instrument
from bot.errors import UsageError
from bot.evaluate.aggregate import Summary, summarize
from bot.evaluate.score import (
    EVALUATION_SETUP,
    HistoryRun,
    StrategySpec,
    WindowScore,
    bot_replay_settings,
    score_windows,
    whole_history,
)
from bot.evaluate.windows import Window, fortnights, rising_quarters

Progress = Callable[[int, int], None]
CHUNK = 6  # windows per task: enough to amortise a task, few enough to balance two cores


@dataclass(frozen=True, slots=True)
class Context:
    """What every task replays against; inherited by forked workers, not sent with each task."""

    sources: tuple[AlignedBars, ...]  # finest first; the last is the base series the windows come from
    instrument: Instrument
    funding: FundingSeries | None
    setup: LendingSetup
    settings: ReplaySettings | None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The result of `evaluate`: the windows, each strategy's scores and summary, the time it took."""

    specs: tuple[StrategySpec, ...]
    windows: tuple[Window, ...]
    scores: dict[str, list[WindowScore]]  # by spec label, in window order
    summaries: tuple[Summary, ...]  # in spec order
    elapsed_s: float
    processes: int
    setup: LendingSetup
    first_ms: int
    last_ms: int
    bar_minutes: float
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self, label: str) -> Summary:
        return next(s for s in self.summaries if s.label == label)


_context: Context | None = None


def _init(context: Context) -> None:
    global _context
    _context = context


def _task(job: tuple[int, StrategySpec, tuple[Window, ...] | None]) -> tuple[int, list[WindowScore] | HistoryRun]:
    index, spec, windows = job
    c = _context
    if c is None:  # pragma: no cover - set by the pool initializer
        raise RuntimeError("worker context not initialised")
    if windows is None:
        return index, whole_history(spec, c.sources[-1], c.instrument, c.funding, c.setup, c.settings)
    return index, score_windows(spec, c.sources, windows, c.instrument, c.funding, c.setup, c.settings)


def default_processes() -> int:
    return max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8))


def evaluate(
    specs: Sequence[StrategySpec],
    bars: AlignedBars,
    instrument: Instrument,
    funding: FundingSeries | None = None,
    *,
    windows: Sequence[Window] | None = None,
    finer: Sequence[AlignedBars] = (),
    setup: LendingSetup = EVALUATION_SETUP,
    settings: ReplaySettings | None = None,
    history: bool = True,
    processes: int | None = None,
    progress: Progress | None = None,
) -> Evaluation:
    """Score every spec on every window (by default all fortnights and rising quarters of `bars`), plus
    one whole-history run each, over `processes` worker processes (default: the cores this process may use).

    `finer` are finer bar series (the 5m files): a window they hold with its warm-up is replayed on them.
    Labels must be unique. UsageError for a bad spec, before any replay starts.
    """
    began = time.perf_counter()
    labels = [s.name for s in specs]
    if not specs:
        raise UsageError("no strategy to evaluate")
    if len(set(labels)) != len(labels):
        raise UsageError(f"two strategies share a label: {', '.join(labels)}")
    for spec in specs:
        spec.build()  # a bad name or parameter fails here, in one line
    if windows is None:
        windows = [*fortnights(bars), *rising_quarters(bars)]
    context = Context((*finer, bars), instrument, funding, setup, settings or bot_replay_settings())
    jobs: list[tuple[int, StrategySpec, tuple[Window, ...] | None]] = []
    for i, spec in enumerate(specs):
        if history:
            jobs.append((i, spec, None))
    # Longest first (quarters, then fortnights) so the pool ends evenly.
    ordered = sorted(windows, key=lambda w: w.start_ms - w.end_ms)
    for i, spec in enumerate(specs):
        for k in range(0, len(ordered), CHUNK):
            jobs.append((i, spec, tuple(ordered[k : k + CHUNK])))
    processes = processes or default_processes()
    scores: list[list[WindowScore]] = [[] for _ in specs]
    runs: list[HistoryRun | None] = [None for _ in specs]
    done = 0

    def collect(index: int, result: list[WindowScore] | HistoryRun) -> None:
        nonlocal done
        if isinstance(result, HistoryRun):
            runs[index] = result
        else:
            scores[index].extend(result)
        done += 1
        if progress is not None:
            progress(done, len(jobs))

    if processes == 1:
        _init(context)
        for job in jobs:
            collect(*_task(job))
    else:
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
        with multiprocessing.get_context(method).Pool(processes, _init, (context,)) as pool:
            for index, result in pool.imap_unordered(_task, jobs):
                collect(index, result)
    order = {(w.kind, w.start_ms): k for k, w in enumerate(windows)}
    by_label: dict[str, list[WindowScore]] = {}
    summaries = []
    for i, spec in enumerate(specs):
        mine = sorted(scores[i], key=lambda s: order[(s.window.kind, s.window.start_ms)])
        by_label[spec.name] = mine
        summaries.append(summarize(spec.name, mine, runs[i]))
    return Evaluation(
        specs=tuple(specs),
        windows=tuple(windows),
        scores=by_label,
        summaries=tuple(summaries),
        elapsed_s=time.perf_counter() - began,
        processes=processes,
        setup=setup,
        first_ms=bars.ts_ms[0],
        last_ms=bars.ts_ms[-1] + bars.bar_ms,
        bar_minutes=bars.bar_ms / 60_000,
    )


def resummarize(evaluation: Evaluation, windows: Sequence[Window]) -> list[Summary]:
    """Each strategy's summary over `windows` only (e.g. a walk-forward split's scored part), from the
    scores already computed; the whole-history runs are kept."""
    keep = {(w.kind, w.start_ms) for w in windows}
    return [
        summarize(
            s.label, [x for x in evaluation.scores[s.label] if (x.window.kind, x.window.start_ms) in keep], s.history
        )
        for s in evaluation.summaries
    ]
