"""One hedged portfolio over the bars: snapshot -> strategy -> risk layer -> reconciler -> paper engine.

The loop of the replay (see `bot.backtest.run` for the intrabar path and the rescue). It runs once per bar of a
year of minute bars, so it takes every bar's features from one vectorised pass (`bot.domain.features.series`,
equal to the live tracker bit for bit), lets the paper engine skip bars that cross no trigger, and sends a
plan to the reconciler only when it differs enough from the last one.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import replace
from typing import Any

from bot.backtest.data import AlignedBars, FundingSeries
from bot.backtest.loan import LendingSim
from bot.backtest.types import (
    HedgeStats,
    LendingSetup,
    PortfolioResult,
    Progress,
    ReplaySettings,
    Series,
    open_loan,
    portfolio_result,
)
from bot.domain.features.series import EMPTY_TRACKER_FEATURES, feature_series
from bot.domain.features.tracker import MarketFeatures
from bot.domain.instruments import Instrument
from bot.domain.inverse import EIGHT_HOURS_MS
from bot.domain.orders import Fill
from bot.domain.plan import HedgePlan
from bot.domain.risk import apply_limits
from bot.domain.snapshot import EMPTY_STATE, HedgeView, LendingView, Snapshot, StrategyState
from bot.paper.engine import PaperEngine
from bot.paper.errors import PaperRejected
from bot.venues.reconcile import Cancel, ReconcileSettings, reconcile
from strategies.base import Strategy


class _Hedger:
    """Snapshot -> strategy -> risk layer -> (when the plan changed) reconciler -> paper engine."""

    def __init__(
        self,
        strategy: Strategy[Any],
        instrument: Instrument,
        engine: PaperEngine,
        lending: LendingSim,
        setup: LendingSetup,
        settings: ReplaySettings,
    ) -> None:
        self.strategy = strategy
        self.instrument = instrument
        self.engine = engine
        self.lending = lending
        self.setup = setup
        self.settings = settings
        # The risk layer prices the short's liquidation for the margin mode the simulated account has.
        self.risk = replace(settings.risk, margin_mode=engine.margin_mode)
        self.state: StrategyState = EMPTY_STATE
        self.last_plan: HedgePlan | None = None
        self.resting_stop: float | None = None  # the last reconciled plan's stop, which the venue now holds
        self.fill_mark = -1
        self.seq = 0
        self.orders = 0
        self.rejected = 0
        self.funding_scale = EIGHT_HOURS_MS / engine.settings.funding_interval_ms
        # The funding rate holds in [from, until): asking the engine's series only when it changes saves a
        # bisection on every bar.
        self._rate = 0.0
        self._rate_from = self._rate_until = -math.inf

    def decide(
        self, now_ms: int, btc: float, collateral: float, health_factor: float, features: MarketFeatures
    ) -> None:
        """One decision at a close: `health_factor` is the loan's at `collateral`."""
        lending, engine = self.lending, self.engine
        if not self._rate_from <= now_ms < self._rate_until:
            self._rate_from = now_ms
            rate, self._rate_until = engine.funding_rate_until(now_ms)
            self._rate = rate * self.funding_scale
        snapshot = Snapshot(
            now_ms=now_ms,
            btc_price=btc,
            lending=LendingView(
                collateral_asset=self.setup.collateral_asset,
                collateral_amount=lending.amount,
                collateral_price_usd=collateral,
                total_collateral_usd=lending.amount * collateral,
                debt_usd=lending.debt_usd,
                health_factor=health_factor,
                liquidation_price_usd=lending.liquidation_price,
                liquidation_threshold=self.setup.liquidation_threshold,
            ),
            hedge=HedgeView(
                contracts=engine.contracts,
                entry_price=engine.entry_price,
                equity_btc=engine.equity_btc(),
                stop_price=self.resting_stop,
                liquidation_price=_finite_or_none(engine.liquidation_price()),
            ),
            instrument=self.instrument,
            funding_rate_8h=self._rate,
            features=features,
            state=self.state,
        )
        plan = self.strategy.decide(snapshot)
        self.state = plan.state
        plan = apply_limits(plan, snapshot, self.risk, self.strategy.leverage_cap).plan
        if self._changed(plan):
            self._reconcile(plan)

    def _band(self, plan: HedgePlan) -> int:
        """Contracts the position may drift from the target before it is traded back (at least one)."""
        return max(1, int(self.settings.rebalance_band * max(plan.contracts, -self.engine.contracts)))

    def _changed(self, plan: HedgePlan) -> bool:
        """Whether `plan` is worth reconciling: something filled, the leverage changed, the position drifted
        out of the band, stops or entries were added or removed, or one moved more than `stop_move_bps`."""
        last = self.last_plan
        engine = self.engine
        if last is None or engine.fill_count != self.fill_mark or plan.leverage != last.leverage:
            return True
        if abs(plan.contracts + engine.contracts) >= self._band(plan):
            return True
        if len(plan.stops) != len(last.stops) or len(plan.conditional) != len(last.conditional):
            return True
        share = self.settings.stop_move_bps / 10_000
        stops_moved = any(
            abs(new.price - old.price) > share * old.price for new, old in zip(plan.stops, last.stops, strict=True)
        )
        entries_moved = any(
            abs(new.trigger_price - old.trigger_price) > share * old.trigger_price
            for new, old in zip(plan.conditional, last.conditional, strict=True)
        )
        return stops_moved or entries_moved

    def _reconcile(self, plan: HedgePlan) -> None:
        engine = self.engine
        if plan.leverage != engine.leverage:
            engine.configure(plan.leverage, engine.margin_mode)
        self.seq += 1
        settings = ReconcileSettings(min_change_contracts=self._band(plan), stop_move_bps=self.settings.stop_move_bps)
        for action in reconcile(plan, engine.account(), self.instrument, self.seq, settings):
            if isinstance(action, Cancel):
                engine.cancel(action.client_id)
                continue
            try:
                engine.submit(action.order)
                self.orders += 1
            except PaperRejected:
                self.rejected += 1
        self.last_plan = plan
        self.resting_stop = plan.stop_price
        self.fill_mark = engine.fill_count

    def rescue(self, btc: float, collateral: float) -> None:
        """Repay debt with the futures account's free margin when the loan's health is low."""
        lending, engine = self.lending, self.engine
        target = self.setup.start_health_factor
        value = lending.amount * collateral * lending.liquidation_threshold
        need_usd = lending.debt_usd - value / target
        if need_usd <= 0:
            return
        notional_btc = abs(engine.contracts) * self.instrument.contract_size_usd / btc
        free = min(engine.available_btc(), engine.equity_btc() - notional_btc / self.settings.rescue_max_leverage)
        take = min(need_usd / btc, free)
        if take > 1e-8:
            engine.withdraw(take)
            lending.repay(take * btc)


def _finite_or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _preallocated_series(bars: int) -> Series:
    """A Series of `bars` zeros in each column, filled in place (appends cost more than stores)."""
    zeros = bytes(8 * bars)
    return Series(*(array("d", zeros) for _ in range(6)))


def run_hedged(
    bars: AlignedBars,
    first: int,
    start: int,
    setup: LendingSetup,
    strategy: Strategy[Any],
    instrument: Instrument,
    funding: FundingSeries | None,
    settings: ReplaySettings,
    progress: Progress | None = None,
) -> tuple[PortfolioResult, HedgeStats, Series, tuple[Fill, ...]]:
    """One strategy over the window; bars from `first` to `start` only warm the features."""
    ts = bars.ts_ms
    bo, bh, bl, bc = bars.btc
    co, ch, cl, cc = bars.collateral
    gapb = bars.gap_before
    # Every bar's features in one pass (equal to FeatureTracker's bar by bar); index k is bar first + k.
    feats = feature_series(bc[first:], bh[first:], bl[first:], cc[first:], bars.bar_ms)
    engine_settings = settings.engine
    if funding is not None:
        engine_settings = replace(engine_settings, funding_interval_ms=funding.interval_ms)
    engine = PaperEngine(instrument, engine_settings, setup.hedge_capital_usd / bo[start], ts[start])
    if funding is not None:
        engine.set_funding_series(funding.times_ms, funding.rates)
    lending = open_loan(setup, co[start])
    hedger = _Hedger(strategy, instrument, engine, lending, setup, settings)
    engine.move(bo[start], continuous=False)
    warm = feats.at(start - 1 - first) if start > first else EMPTY_TRACKER_FEATURES
    hedger.decide(ts[start], bo[start], co[start], lending.health_factor(co[start]), warm)

    n = len(bars)
    series = _preallocated_series(n - start)
    eq_a, hf_a, amt_a, debt_a = series.equity_usd, series.health_factor, series.collateral_amount, series.debt_usd
    fut_a, short_a = series.futures_btc, series.short_contracts
    rescue_hf = settings.rescue_health_factor
    peak, worst = -math.inf, 0.0
    funding_usd = 0.0
    move = engine.move
    move_bar = engine.move_bar
    fall = lending.fall
    decide = hedger.decide
    equity_btc = engine.equity_btc
    tick = max(1, (n - start) // 100)
    for i in range(start, n):
        close_b = bc[i]
        close_c = cc[i]
        now = ts[i]
        if engine.next_funding_ms <= now:
            funding_usd += engine.advance_time(now) * engine.mark
        else:
            engine.now_ms = now
        if gapb[i] and i > start:
            move(bo[i], False)
            fall(co[i], co[i])
        # The legs are independent: the loan falls to its low, the hedge goes high -> low -> close.
        fall(ch[i], cl[i])
        move_bar(bh[i], bl[i], close_b)
        hf = lending.health_factor(close_c)
        if rescue_hf and hf < rescue_hf:
            hedger.rescue(close_b, close_c)
            hf = lending.health_factor(close_c)
        decide(now, close_b, close_c, hf, feats.at(i - first))
        fut = equity_btc()
        amount = lending.amount
        debt = lending.debt_usd
        equity = amount * close_c - debt + fut * close_b
        if equity > peak:
            peak = equity
        elif peak - equity > worst:
            worst = peak - equity
        j = i - start
        eq_a[j] = equity
        hf_a[j] = hf
        amt_a[j] = amount
        debt_a[j] = debt
        fut_a[j] = fut
        short_a[j] = -engine.contracts
        if progress is not None and j % tick == 0:
            progress(j, n - start)
    fills = tuple(engine.fills())
    last_btc = bc[n - 1]
    stats = HedgeStats(
        hedge_pnl_usd=fut_a[-1] * last_btc + lending.repaid_from_hedge_usd - setup.hedge_capital_usd,
        fees_usd=sum(f.fee_btc * f.price for f in fills),
        funding_usd=funding_usd,
        orders=hedger.orders,
        hedge_liquidated=engine.liquidations > 0,
        repaid_from_hedge_usd=lending.repaid_from_hedge_usd,
        rejected_orders=hedger.rejected,
    )
    return portfolio_result(lending, worst, eq_a[-1]), stats, series, fills
