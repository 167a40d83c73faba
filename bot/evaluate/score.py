"""Scoring one strategy, with one parameter set, on one window: the bot's own replay (bot.backtest.run).

Each window is replayed from a fresh start (the standard position opened at the window's first bar, the
features warmed on the 7 days before it), with the guardian at its defaults and a 20k USD reserve
(`EVALUATION_SETUP`, as benchmarks/defense.py), so that a strategy is judged with the defense it runs with.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.backtest.data import AlignedBars, FundingSeries
from bot.backtest.run import LendingSetup, ReplaySettings, StrategyRun, backtest
from bot.config import load_settings
from bot.domain.instruments import Instrument
from bot.evaluate.windows import DAY_MS, Window, bar_range, slice_bars
from bot.plugins import loader as plugins
from bot.runtime.config import EngineConfig
from strategies.base import Strategy

RESERVE_USD = 20_000.0  # the guardian's reserve in benchmarks/defense.py
EVALUATION_SETUP = LendingSetup(reserve_usd=RESERVE_USD)
WIPED_SHARE = 0.10  # an account down to 10 % of its capital (or liquidated) protects nothing more: wiped
HALF = 0.5


def bot_replay_settings(config: Path | None = None) -> ReplaySettings:
    """The replay plugged into the bot's own limits, reconciler, change policy, triggers and guards, as
    `hedgebot run` reads them from its settings (its defaults without `config`), as `hedgebot backtest` does."""
    engine = EngineConfig.from_settings(load_settings(config))
    return ReplaySettings(
        risk=engine.risk,
        reconcile=engine.reconcile,
        change=engine.change,
        triggers=engine.triggers,
        guard=engine.guard,
    )


@dataclass(frozen=True, slots=True)
class StrategySpec:
    """A strategy by name (built in, plugin entry point, `package.module:Class` or `file.py[:Class]`) and
    the parameters it runs with; picklable, so worker processes build their own instance."""

    strategy: str
    params: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""

    @property
    def name(self) -> str:
        """The label, else `strategy k=v ...`."""
        if self.label:
            return self.label
        return self.strategy + "".join(f" {k}={v}" for k, v in self.params.items())

    def build(self) -> Strategy[Any]:
        """The strategy instance (UsageError for an unknown strategy or a bad parameter)."""
        return plugins.load(self.strategy, dict(self.params))


@dataclass(frozen=True, slots=True)
class WindowScore:
    """What one strategy did in one window, beside the unhedged loan."""

    window: Window
    effectiveness: float  # 1 - hedged max drawdown / unhedged max drawdown (NaN when the loan never fell)
    liquidated: bool  # the loan was liquidated (guardian at its defaults)
    hedge_lost_half: bool  # the hedge account's USD equity fell below half its capital at some bar
    hedge_liquidated: bool  # the venue liquidated the short
    hedge_min_equity_usd: float
    hedge_final_equity_usd: float
    cost_usd: float  # unhedged final equity - hedged final equity (what the hedge cost; < 0: it earned)
    bars: int
    bar_minutes: float


@dataclass(frozen=True, slots=True)
class HistoryRun:
    """One run over the whole history: does the hedge account survive it?"""

    start_ms: int
    end_ms: int
    wiped: bool  # hedge equity <= WIPED_SHARE of its capital at some bar, or the short was liquidated
    hedge_liquidated: bool
    hedge_min_equity_usd: float
    hedge_min_equity_ms: int
    hedge_final_equity_usd: float
    loan_liquidations: int
    final_equity_usd: float
    unhedged_final_equity_usd: float
    effectiveness: float
    elapsed_s: float


def _hedge_equity(run: StrategyRun, bars: AlignedBars, start: int) -> tuple[float, int, float]:
    """(lowest USD equity of the futures account, the bar index it was at, its final USD equity)."""
    close = bars.btc[3]
    fut = run.series.futures_btc
    low, at = math.inf, start
    for j, btc in enumerate(fut):
        usd = btc * close[start + j]
        if usd < low:
            low, at = usd, start + j
    return low, at, fut[-1] * close[len(bars) - 1]


def pick_bars(sources: Sequence[AlignedBars], window: Window, warmup_days: float) -> AlignedBars:
    """The first of `sources` that holds the window and its warm-up (finest first); the last is the default."""
    need_from = window.start_ms - int(warmup_days * DAY_MS)
    for bars in sources[:-1]:
        if len(bars) and bars.ts_ms[0] <= need_from and bars.ts_ms[-1] + bars.bar_ms >= window.end_ms:
            return bars
    return sources[-1]


def score_window(
    spec: StrategySpec,
    bars: AlignedBars | Sequence[AlignedBars],
    window: Window,
    instrument: Instrument,
    funding: FundingSeries | None = None,
    setup: LendingSetup = EVALUATION_SETUP,
    settings: ReplaySettings | None = None,
    strategy: Strategy[Any] | None = None,
) -> WindowScore:
    """Replay `spec` over `window` (its warm-up included) and score it; `settings` default to the bot's
    own (`bot_replay_settings`).

    `bars` is one bar series or several, finest first: the first that covers the window is replayed.
    """
    settings = settings or bot_replay_settings()
    sources = [bars] if isinstance(bars, AlignedBars) else list(bars)
    chosen = pick_bars(sources, window, settings.warmup_days)
    lo, hi = bar_range(chosen, window.start_ms - int(settings.warmup_days * DAY_MS), window.end_ms)
    piece = slice_bars(chosen, lo, hi)
    strategy = strategy or spec.build()
    result = backtest(piece, window.start_ms, setup, [(spec.name, strategy)], instrument, funding, settings)
    run = result.runs[0]
    low, _, final = _hedge_equity(run, piece, result.start)
    return WindowScore(
        window=window,
        effectiveness=run.effectiveness,
        liquidated=run.portfolio.liquidated,
        hedge_lost_half=low < HALF * setup.hedge_capital_usd or run.hedge.hedge_liquidated,
        hedge_liquidated=run.hedge.hedge_liquidated,
        hedge_min_equity_usd=low,
        hedge_final_equity_usd=final,
        cost_usd=result.unhedged.final_equity_usd - run.portfolio.final_equity_usd,
        bars=result.window_bars,
        bar_minutes=piece.bar_ms / 60_000,
    )


def score_windows(
    spec: StrategySpec,
    bars: AlignedBars | Sequence[AlignedBars],
    windows: Sequence[Window],
    instrument: Instrument,
    funding: FundingSeries | None = None,
    setup: LendingSetup = EVALUATION_SETUP,
    settings: ReplaySettings | None = None,
) -> list[WindowScore]:
    """`score_window` for each window, in this process (`bot.evaluate.evaluate` spreads them over cores)."""
    strategy = spec.build()
    settings = settings or bot_replay_settings()
    return [score_window(spec, bars, w, instrument, funding, setup, settings, strategy) for w in windows]


def whole_history(
    spec: StrategySpec,
    bars: AlignedBars,
    instrument: Instrument,
    funding: FundingSeries | None = None,
    setup: LendingSetup = EVALUATION_SETUP,
    settings: ReplaySettings | None = None,
) -> HistoryRun:
    """One replay from the first bar to the last: the long run a hedge account has to survive."""
    settings = settings or bot_replay_settings()
    result = backtest(bars, None, setup, [(spec.name, spec.build())], instrument, funding, settings)
    run = result.runs[0]
    low, at, final = _hedge_equity(run, bars, result.start)
    return HistoryRun(
        start_ms=bars.ts_ms[result.start],
        end_ms=bars.ts_ms[-1] + bars.bar_ms,
        wiped=low <= WIPED_SHARE * setup.hedge_capital_usd or run.hedge.hedge_liquidated,
        hedge_liquidated=run.hedge.hedge_liquidated,
        hedge_min_equity_usd=low,
        hedge_min_equity_ms=bars.ts_ms[at],
        hedge_final_equity_usd=final,
        loan_liquidations=run.portfolio.liquidation_events,
        final_equity_usd=run.portfolio.final_equity_usd,
        unhedged_final_equity_usd=result.unhedged.final_equity_usd,
        effectiveness=run.effectiveness,
        elapsed_s=result.elapsed_s,
    )
