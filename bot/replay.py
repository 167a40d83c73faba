"""The crash replay: the same strategies, risk layer, reconciler and paper engine, driven over candles.

Two portfolios start from the same capital: the loan (collateral - debt) plus the hedge capital, held as
USD cash (unhedged) or as BTC margin run by a strategy (hedged). Their total equity is, at every step,
collateral value - debt + cash (unhedged) or + the futures account's equity (hedged).

Intrabar path, the same for both legs: each bar goes open -> high -> low -> close.
- At the high, the BTC high: the hedge's buy-stops trigger and a short can be liquidated.
- At the low: the loan is liquidated where the collateral crosses HF 1 on its way to the bar low, and
  conditional sells trigger at the BTC low.
So each bar visits the worst case for the hedge (squeezed before the drop) and for the loan; a cautious
read of both legs. Strategies decide at the close and market orders fill at the close (bid/ask plus
slippage). After a gap in the data the open is a jump: what it crossed fills at the open, never at a
level the data did not show.

The hedged portfolio defends its loan: when the health factor closes below `rescue_health_factor`, the
futures account's free margin (beyond `rescue_max_leverage` on the short) is withdrawn and repays debt
toward the starting health factor, as the live bot's operator would.
"""

from __future__ import annotations

import math
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.domain.feature_series import EMPTY_TRACKER_FEATURES, feature_series, make_features
from bot.domain.features import MarketFeatures
from bot.domain.instruments import Instrument
from bot.domain.plan import HedgePlan
from bot.domain.risk import RiskLimits, apply_limits
from bot.domain.snapshot import StrategyState, make_hedge_view, make_lending_view, make_snapshot
from bot.errors import UsageError
from bot.lending_sim import LendingSim
from bot.marketdata import AlignedBars, FundingSeries
from bot.paper.engine import PaperEngine
from bot.paper.errors import PaperRejected
from bot.paper.orders import EngineSettings
from bot.venues.base import Fill
from bot.venues.reconcile import Cancel, ReconcileSettings, reconcile
from strategies.base import Strategy

EIGHT_HOURS_MS = 8 * 3600 * 1000
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class LendingSetup:
    """The standard position: collateral, starting health, Aave parameters, and the hedge capital."""

    collateral_asset: str = "ETH"
    collateral_usd: float = 100_000.0
    start_health_factor: float = 1.5
    liquidation_threshold: float = 0.825
    liquidation_bonus: float = 0.05
    hedge_capital_usd: float = 20_000.0

    def validate(self) -> None:
        """UsageError naming the first impossible parameter."""
        checks = [
            (self.collateral_usd > 0, f"collateral must be positive, got {self.collateral_usd} USD"),
            (
                0 < self.liquidation_threshold < 1,
                f"liquidation threshold must be in (0, 1), got {self.liquidation_threshold}",
            ),
            (0 <= self.liquidation_bonus < 0.5, f"liquidation bonus must be in [0, 0.5), got {self.liquidation_bonus}"),
            (
                self.liquidation_threshold * (1 + self.liquidation_bonus) < 1,
                "liquidation threshold x (1 + bonus) must stay under 1 (Aave refuses such a reserve)",
            ),
            (self.start_health_factor > 1, f"start health factor must be above 1, got {self.start_health_factor}"),
            (self.hedge_capital_usd > 0, f"hedge capital must be positive, got {self.hedge_capital_usd} USD"),
        ]
        for ok, message in checks:
            if not ok or not all(math.isfinite(v) for v in (self.collateral_usd, self.start_health_factor)):
                raise UsageError(f"impossible position: {message}")


@dataclass(frozen=True, slots=True)
class ReplaySettings:
    engine: EngineSettings = field(default_factory=lambda: EngineSettings(slippage_bps=2.0, spread_bps=2.0))
    risk: RiskLimits = field(default_factory=RiskLimits)
    rebalance_band: float = 0.02  # re-trade when the target drifts this share of the short
    stop_move_bps: float = 25.0
    rescue_health_factor: float = 1.25  # 0: the hedge never repays the loan
    rescue_max_leverage: float = 3.0
    warmup_days: float = 7.0  # bars before the window feed the features only


@dataclass(frozen=True, slots=True)
class PortfolioResult:
    liquidated: bool
    liquidation_events: int
    liquidation_penalty_usd: float
    min_health_factor: float
    max_drawdown_usd: float
    final_equity_usd: float

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class HedgeStats:
    hedge_pnl_usd: float  # futures equity now + what it repaid - the hedge capital, in USD
    fees_usd: float
    funding_usd: float  # positive: received
    orders: int
    hedge_liquidated: bool
    repaid_from_hedge_usd: float
    rejected_orders: int

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class Series:
    """Per bar, at the close: what the report draws and the tests check."""

    equity_usd: array[float] = field(default_factory=lambda: array("d"))
    health_factor: array[float] = field(default_factory=lambda: array("d"))
    collateral_amount: array[float] = field(default_factory=lambda: array("d"))
    debt_usd: array[float] = field(default_factory=lambda: array("d"))
    futures_btc: array[float] = field(default_factory=lambda: array("d"))
    short_contracts: array[float] = field(default_factory=lambda: array("d"))


@dataclass(frozen=True, slots=True)
class StrategyRun:
    label: str
    portfolio: PortfolioResult
    hedge: HedgeStats
    effectiveness: float
    series: Series
    fills: tuple[Fill, ...]


@dataclass(frozen=True, slots=True)
class Backtest:
    bars: AlignedBars
    start: int  # first bar of the window (earlier ones warmed the features)
    setup: LendingSetup
    unhedged: PortfolioResult
    unhedged_series: Series
    runs: tuple[StrategyRun, ...]
    funding_source: str
    elapsed_s: float

    @property
    def window_bars(self) -> int:
        return len(self.bars) - self.start


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


def run_unhedged(bars: AlignedBars, start: int, setup: LendingSetup) -> tuple[PortfolioResult, Series]:
    """The loan alone plus the hedge capital as cash."""
    co, ch, cl, cc = bars.collateral
    gapb = bars.gap_before
    lending = _open_loan(setup, co[start])
    cash = setup.hedge_capital_usd
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
    return _portfolio(lending, worst, series.equity_usd[-1]), series


def _open_loan(setup: LendingSetup, collateral_price: float) -> LendingSim:
    amount = setup.collateral_usd / collateral_price
    debt = setup.collateral_usd * setup.liquidation_threshold / setup.start_health_factor
    return LendingSim(amount, debt, setup.liquidation_threshold, setup.liquidation_bonus)


def _portfolio(lending: LendingSim, max_dd: float, final: float) -> PortfolioResult:
    return PortfolioResult(
        liquidated=lending.liquidation_events > 0,
        liquidation_events=lending.liquidation_events,
        liquidation_penalty_usd=lending.penalty_usd,
        min_health_factor=lending.min_health_factor,
        max_drawdown_usd=max_dd,
        final_equity_usd=final,
    )


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
        self._limits = settings.risk
        self._leverage_cap = strategy.leverage_cap
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
        plan = apply_limits(plan, snap, self._limits, self._leverage_cap).plan
        if self._changed(plan):
            self._reconcile(plan)

    def _changed(self, plan: HedgePlan) -> bool:
        last = self.last_plan
        engine = self.engine
        if last is None or engine.fill_count != self.fill_mark or plan.leverage != last.leverage:
            return True
        contracts, held = plan.contracts, engine.contracts
        band = max(1, int(self._band_share * max(contracts, -held)))
        if abs(contracts + held) >= band:
            return True
        bps = self._stop_share
        stops, last_stops = plan.stops, last.stops
        if len(stops) != len(last_stops) or len(plan.conditional) != len(last.conditional):
            return True
        if len(stops) == 1:
            new_price, old_price = stops[0].price, last_stops[0].price
            if abs(new_price - old_price) > bps * old_price:
                return True
            return bool(plan.conditional) and self._conditional_moved(plan, last, bps)
        for a, b in zip(stops, last_stops, strict=True):
            if abs(a.price - b.price) > bps * b.price:
                return True
        return self._conditional_moved(plan, last, bps)

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
    lending = _open_loan(setup, co[start])
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
    return _portfolio(lending, worst, eq_a[-1]), stats, series, fills


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
    unhedged, unhedged_series = run_unhedged(bars, start, setup)
    runs = []
    for label, strategy in strategies:
        portfolio, stats, series, fills = run_hedged(
            bars, first, start, setup, strategy, instrument, funding, settings, progress
        )
        dd = unhedged.max_drawdown_usd
        effectiveness = 1.0 - portfolio.max_drawdown_usd / dd if dd > 0 else math.nan
        runs.append(StrategyRun(label, portfolio, stats, effectiveness, series, fills))
    source = funding.source if funding else f"fixed {settings.engine.fixed_funding_rate:.4%} per 8 h"
    return Backtest(bars, start, setup, unhedged, unhedged_series, tuple(runs), source, time.perf_counter() - began)
