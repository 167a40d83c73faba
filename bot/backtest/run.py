"""The crash replay: the same strategies, risk layer, reconciler and paper engine, driven over candles.

Two portfolios start from the same capital: the loan (collateral - debt) plus the hedge capital, held as
USD cash (unhedged) or as BTC margin run by a strategy (hedged). Their total equity is, at every step,
collateral value - debt + cash (unhedged) or + the futures account's equity (hedged).

Intrabar path, the same for both legs: each bar goes open -> high -> low -> close.
- At the high, the BTC high: the hedge's buy-stops trigger and a short can be liquidated.
- At the low: the loan is liquidated where the collateral crosses HF 1 on its way to the bar low
  (conditional entries rest nowhere: the decision that sees one armed sells it at market, as the bot does).
So each bar visits the worst case for the hedge (squeezed before the drop) and for the loan; a cautious
read of both legs. Strategies decide at the close and market orders fill at the close (bid/ask plus
slippage). After a gap in the data the open is a jump: what it crossed fills at the open, never at a
level the data did not show.

Nothing moves from the exchange to the chain: a futures gain stays on the exchange, as it does live. The
loan is defended only by the guardian (`LendingSetup.reserve_usd` > 0), which repays debt from its own
reserve where the collateral's path crosses the trigger, as the bot's guardian does on chain; the
unhedged portfolio holds the same reserve as cash.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any

from bot.backtest.data import AlignedBars, FundingSeries
from bot.backtest.hedger import run_hedged
from bot.backtest.types import (
    Backtest,
    HedgeStats,
    LendingSetup,
    LiquidationRules,
    PortfolioResult,
    Progress,
    ReplaySettings,
    Series,
    StrategyRun,
    open_loan,
    portfolio_result,
)
from bot.domain.instruments import Instrument
from bot.errors import UsageError
from strategies.base import Strategy

__all__ = [
    "Backtest",
    "HedgeStats",
    "LendingSetup",
    "PortfolioResult",
    "Progress",
    "ReplaySettings",
    "Series",
    "StrategyRun",
    "backtest",
    "run_hedged",
    "run_unhedged",
    "warmup_start",
]


def warmup_start(bars: AlignedBars, window_start_ms: int | None, settings: ReplaySettings) -> tuple[int, int]:
    """(first bar to use, first bar of the window): up to `warmup_days` before the window warm the features."""
    start = 0
    if window_start_ms is not None:
        while start < len(bars) and bars.ts_ms[start] < window_start_ms:
            start += 1
    first = start
    warm_ms = int(settings.warmup_days * 86_400_000)
    while first > 0 and bars.ts_ms[start] - bars.ts_ms[first - 1] <= warm_ms:
        first -= 1
    if len(bars) - start < 2:
        raise UsageError("the window holds fewer than two bars of data")
    return first, start


def _drawdown(equity: float, peak: float, worst: float) -> tuple[float, float]:
    if equity > peak:
        peak = equity
    return peak, max(worst, peak - equity)


def run_unhedged(
    bars: AlignedBars, start: int, setup: LendingSetup, rules: LiquidationRules = "v3.3"
) -> tuple[PortfolioResult, Series]:
    """The loan alone plus the hedge capital as cash."""
    co, ch, cl, cc = bars.collateral
    gapb = bars.gap_before
    lending = open_loan(setup, co[start], rules)
    cash = setup.hedge_capital_usd + setup.reserve_usd
    series = Series()
    peak, worst = -math.inf, 0.0
    for i in range(start, len(bars)):
        if gapb[i] and i > start:
            lending.fall(co[i], co[i])  # a jump: the open is the first price seen
        lending.fall(ch[i], cl[i])
        close = cc[i]
        equity = lending.amount * close - lending.debt_usd + cash
        peak, worst = _drawdown(equity, peak, worst)
        series.equity_usd.append(equity)
        series.health_factor.append(lending.health_factor(close))
        series.collateral_amount.append(lending.amount)
        series.debt_usd.append(lending.debt_usd)
    return portfolio_result(lending, worst, series.equity_usd[-1]), series


def backtest(
    bars: AlignedBars,
    window_start_ms: int | None,
    setup: LendingSetup,
    strategies: Sequence[tuple[str, Strategy[Any]]],
    instrument: Instrument,
    funding: FundingSeries | None = None,
    settings: ReplaySettings | None = None,
    progress: Progress | None = None,
) -> Backtest:
    """The unhedged portfolio and one hedged portfolio per (label, strategy), side by side."""
    setup.validate()
    settings = settings or ReplaySettings()
    began = time.perf_counter()
    first, start = warmup_start(bars, window_start_ms, settings)
    unhedged, unhedged_series = run_unhedged(bars, start, setup, settings.liquidation_rules)
    runs = []
    for label, strategy in strategies:
        portfolio, stats, series, fills = run_hedged(
            bars, first, start, setup, strategy, instrument, funding, settings, progress
        )
        dd = unhedged.max_drawdown_usd
        effectiveness = 1.0 - portfolio.max_drawdown_usd / dd if dd > 0 else math.nan
        runs.append(StrategyRun(label, portfolio, stats, effectiveness, series, fills))
    source = funding.source if funding else f"fixed {settings.engine.fixed_funding_rate:.4%} per 8 h"
    return Backtest(
        bars,
        start,
        setup,
        unhedged,
        unhedged_series,
        tuple(runs),
        source,
        time.perf_counter() - began,
        settings.liquidation_rules,
    )
