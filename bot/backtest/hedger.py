"""One hedged portfolio over the bars: snapshot -> strategy -> risk layer -> reconciler -> paper engine.

The loop of the replay (see `bot.backtest.run` for the intrabar path and the rescue). It runs once per bar of a
year of minute bars, so it reads everything it can into locals and builds its per-bar values with the
fast constructors of `bot.domain.fast_init`; the results are the same, float for float.
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
from bot.domain.features.series import EMPTY_TRACKER_FEATURES, feature_series, make_features
from bot.domain.features.tracker import MarketFeatures
from bot.domain.instruments import Instrument
from bot.domain.inverse import EIGHT_HOURS_MS
from bot.domain.orders import Fill
from bot.domain.plan import HedgePlan
from bot.domain.risk import RiskLayer
from bot.domain.snapshot import StrategyState, make_hedge_view, make_lending_view, make_snapshot
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
        self.state: StrategyState = {}
        self.last_plan: HedgePlan | None = None
        self.fill_mark = -1
        self.seq = 0
        self.orders = 0
        self.rejected = 0
        self.funding_scale = EIGHT_HOURS_MS / engine.settings.funding_interval_ms
        # Read once: decide() runs on every bar.
        self._asset = setup.collateral_asset
        self._threshold = setup.liquidation_threshold
        self._decide = strategy.decide
        self._risk = RiskLayer(settings.risk, strategy.leverage_cap, instrument)
        self._band_share = settings.rebalance_band
        self._stop_share = settings.stop_move_bps / 10_000
        self._rate = 0.0
        self._last_stop: float | None = None  # last_plan.stop_price
        self._reconcile_settings: dict[int, ReconcileSettings] = {}
        self._rate_from = self._rate_until = -math.inf  # the funding rate holds in [from, until)

    def decide(
        self, now_ms: int, btc: float, collateral: float, health_factor: float, features: MarketFeatures
    ) -> None:
        """One decision at a close: `health_factor` is the loan's at `collateral`."""
        lending, engine = self.lending, self.engine
        amount = lending.amount
        view = make_lending_view(
            self._asset,
            amount,
            collateral,
            amount * collateral,
            lending.debt_usd,
            health_factor,
            lending.liquidation_price,
            self._threshold,
        )
        if not self._rate_from <= now_ms < self._rate_until:
            self._rate_from = now_ms
            rate, self._rate_until = engine.funding_rate_until(now_ms)
            self._rate = rate * self.funding_scale
        hedge = make_hedge_view(engine.contracts, engine.entry_price, engine.equity_btc(), self._last_stop)
        snap = make_snapshot(now_ms, btc, view, hedge, self.instrument, self._rate, features, self.state)
        plan = self._decide(snap)
        self.state = plan.state
        plan = self._risk.check(plan, snap).plan
        if self._changed(plan):
            self._reconcile(plan)

    def _changed(self, plan: HedgePlan) -> bool:
        last = self.last_plan
        engine = self.engine
        if last is None or engine.fill_count != self.fill_mark or plan.leverage != last.leverage:
            return True
        contracts, held = plan.contracts, engine.contracts
        # band = max(1, int(share * max(contracts, -held))), spelled without the builtin calls
        larger = -held if -held > contracts else contracts
        band = int(self._band_share * larger)
        gap = contracts + held
        if (gap if gap >= 0 else -gap) >= (band if band > 1 else 1):
            return True
        bps = self._stop_share
        stops, last_stops = plan.stops, last.stops
        count = len(stops)
        if count != len(last_stops):
            return True
        conditional = plan.conditional
        if (len(conditional) != len(last.conditional)) if conditional else bool(last.conditional):
            return True
        if count == 1:
            new_price, old_price = stops[0].price, last_stops[0].price
            if abs(new_price - old_price) > bps * old_price:
                return True
        elif count:
            for a, b in zip(stops, last_stops, strict=True):
                if abs(a.price - b.price) > bps * b.price:
                    return True
        return bool(conditional) and self._conditional_moved(plan, last, bps)

    @staticmethod
    def _conditional_moved(plan: HedgePlan, last: HedgePlan, bps: float) -> bool:
        return any(
            abs(a.trigger_price - b.trigger_price) > bps * b.trigger_price
            for a, b in zip(plan.conditional, last.conditional, strict=True)
        )

    def _reconcile(self, plan: HedgePlan) -> None:
        engine = self.engine
        if plan.leverage != engine.leverage:
            engine.configure(plan.leverage, engine.margin_mode)
        band = max(1, int(self.settings.rebalance_band * max(plan.contracts, -engine.contracts)))
        self.seq += 1
        actions = reconcile(
            plan,
            engine.account(),
            self.instrument,
            self.seq,
            self._reconcile_settings_for(band),
        )
        for action in actions:
            if isinstance(action, Cancel):
                engine.cancel(action.client_id)
                continue
            try:
                engine.submit(action.order)
                self.orders += 1
            except PaperRejected:
                self.rejected += 1
        self.last_plan = plan
        self._last_stop = plan.stop_price
        self.fill_mark = engine.fill_count

    def _reconcile_settings_for(self, band: int) -> ReconcileSettings:
        found = self._reconcile_settings.get(band)
        if found is None:
            found = ReconcileSettings(min_change_contracts=band, stop_move_bps=self.settings.stop_move_bps)
            self._reconcile_settings[band] = found
        return found

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
    f_bvol, f_cvol, f_beta = feats.btc_vol_annual, feats.collateral_vol_annual, feats.beta
    f_corr, f_high, f_low, f_samples = feats.correlation, feats.swing_high, feats.swing_low, feats.samples
    rescue_hf = settings.rescue_health_factor
    threshold = lending.liquidation_threshold
    peak, worst = -math.inf, 0.0
    funding_usd = 0.0
    move = engine.move
    move_bar = engine.move_bar
    fall = lending.fall
    decide = hedger.decide
    equity_btc = engine.equity_btc
    inf = math.inf
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
        debt = lending.debt_usd
        hf = lending.amount * close_c * threshold / debt if debt > 0 else inf  # LendingSim.health_factor
        if rescue_hf and debt > 0 and hf < rescue_hf:
            hedger.rescue(close_b, close_c)
            hf = lending.health_factor(close_c)
        k = i - first
        decide(
            now,
            close_b,
            close_c,
            hf,
            make_features(f_bvol[k], f_cvol[k], f_beta[k], f_corr[k], f_high[k], f_low[k], f_samples[k]),
        )
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
