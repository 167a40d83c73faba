"""One hedged portfolio over the bars, run by the bot's own decision step (bot.runtime.decision).

On every bar the replay asks the bot's `Triggers` whether a decision is due (a mark move, a 0.5 % oracle
move, a fill, the heartbeat), checks the bar with the bot's guards (a jump from the last trusted price, a
stale or absurd value), and runs `DecisionStep`: strategy -> plan check -> risk layer -> change test ->
the reconciler's orders, sent to the paper engine. The edges differ from `hedgebot run`: the paper engine
instead of a venue, a simulated loan instead of the chain, the bar clock instead of the wall clock, and
the guardian simulated on the loan's intrabar path (bot.backtest.loan). Features for every bar come from
one vectorised pass (`bot.domain.features.series`, equal to the live tracker bit for bit).
"""

from __future__ import annotations

import math
from array import array
from dataclasses import replace
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.backtest.data import AlignedBars, FundingSeries
from bot.backtest.loan import LendingSim, SimulatedGuardian
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
from bot.domain.features.series import EMPTY_TRACKER_FEATURES, FeatureSeries, feature_series
from bot.domain.features.tracker import MarketFeatures
from bot.domain.instruments import Instrument
from bot.domain.inverse import EIGHT_HOURS_MS
from bot.domain.orders import Fill, OrderRequest, is_protective_stop
from bot.domain.plan import WakeUp
from bot.domain.snapshot import LendingView, Snapshot
from bot.errors import HedgebotError
from bot.paper.engine import PaperEngine
from bot.paper.errors import PaperRejected
from bot.runtime.decision import Decided, DecisionStep
from bot.runtime.executor import cover_order, kept_after_refusal
from bot.runtime.guards import Anchor, FeedReadings, check, follow
from bot.runtime.views import hedge_view
from bot.venues.reconcile import Action, Cancel
from strategies.base import Strategy


class _ReplayEdges:
    """The replay's side of the decision step: the triggers' reference, the guards' anchors, the counters."""

    def __init__(
        self,
        strategy: Strategy[Any],
        instrument: Instrument,
        engine: PaperEngine,
        lending: LendingSim,
        setup: LendingSetup,
        settings: ReplaySettings,
    ) -> None:
        # The risk layer prices the short's liquidation for the margin mode the simulated account has.
        limits = replace(settings.risk, margin_mode=engine.margin_mode)
        self.step = DecisionStep(strategy, limits, settings.reconcile, settings.change)
        self.fills_seen = 0
        self.last_fill_ms: int | None = None
        self.instrument = instrument
        self.engine = engine
        self.lending = lending
        self.setup = setup
        self.settings = settings
        self.decided: Decided | None = None
        self.wake: WakeUp | None = None  # the last decision's, while it holds
        self.halted = False
        self.mark_anchor = Anchor()
        self.collateral_anchor = Anchor()
        self.seq = 0
        self.orders = 0
        self.rejected = 0
        self.decisions = 0
        self.halted_decisions = 0
        self.funding_scale = EIGHT_HOURS_MS / engine.settings.funding_interval_ms

    def at_close(self, now_ms: int, btc: float, collateral: float, health_factor: float, feats: MarketFeatures) -> None:
        """Decide at a bar's close when a trigger fires (and on every bar while the guards hold trading)."""
        engine = self.engine
        why = "halted" if self.halted else None
        why = why or self.settings.triggers.why(self.decided, now_ms, btc, collateral, engine.fill_count)
        self.wake = None  # a wake-up holds only from a decision that sent nothing
        if why is None:
            return
        self.decisions += 1
        guard = self.settings.guard
        readings = FeedReadings(
            now_ms=now_ms,
            block_time_ms=now_ms,
            btc_mark=btc,
            btc_mark_ms=now_ms,
            btc_mark_anchor=self.mark_anchor,
            collateral_price=collateral,
            collateral_anchor=self.collateral_anchor,
        )
        verdict = check(readings, guard)
        self.mark_anchor = follow(self.mark_anchor, btc, now_ms, guard)
        self.collateral_anchor = follow(self.collateral_anchor, collateral, now_ms, guard)
        self.halted = not verdict.ok
        if self.halted:
            self.halted_decisions += 1
            return
        self.decided = Decided(now_ms, btc, collateral, engine.fill_count)
        lending = self.lending
        account = engine.account()
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
            hedge=hedge_view(account),
            instrument=self.instrument,
            funding_rate_8h=engine.funding_rate_until(now_ms)[0] * self.funding_scale,
            features=feats,
            state=self.step.state,
        )
        if engine.fill_count != self.fills_seen:  # the change policy's cooldown counts from the last trade
            self.fills_seen = engine.fill_count
            last = engine.last_fill
            self.last_fill_ms = last.timestamp_ms if last is not None else None
        decision = self.step.decide(snapshot, account, self.last_fill_ms)
        if decision.plan is None:
            raise HedgebotError(decision.problem or "the strategy failed")
        if not decision.changed:
            self.wake = decision.wake
            return
        self.seq += 1
        actions = self.step.actions(decision, self.seq)
        if not actions:
            self.wake = decision.wake
        if actions and decision.plan.leverage != engine.leverage:
            # As the engine does: the venue is set to a plan the risk layer de-levered, before its orders.
            engine.configure(decision.plan.leverage, engine.margin_mode)
        self.send(actions)

    def send(self, actions: list[Action]) -> None:
        """The executor's rules (bot.runtime.executor) over the paper engine: in the reconciler's order; a
        refused protective stop keeps the stops it was to replace and the short is cut at once to what they
        cover."""
        engine = self.engine
        refused = False
        for action in actions:
            if kept_after_refusal(action, refused):
                continue
            if isinstance(action, Cancel):
                engine.cancel(action.client_id)
                continue
            refused = self._submit(action.order) or refused
        if refused:
            cover = cover_order(engine.account(), self.settings.reconcile.namespace, self.seq)
            if cover is not None:
                self._submit(cover)

    def _submit(self, order: OrderRequest) -> bool:
        """Send `order` to the paper engine; True when it was a protective stop the engine refused."""
        try:
            self.engine.submit(order)
            self.orders += 1
        except PaperRejected:
            self.rejected += 1
            return is_protective_stop(order.type, order.side, order.reduce_only)
        return False


_F64 = np.float64


class _Skipper:
    """The replay's fast path over bars on which nothing can change: one vectorised scan finds the next bar
    that needs a decision, and the bars before it are filled in one pass, with the same floating-point
    operations, in the same order, as the loop would have done them one by one.

    A bar needs its decision when the last decision's wake-up says so (a price leaves its band, the
    collateral's volatility leaves its band, the time comes) or when anything else can change a result:
    the BTC high or low reaches a resting order or the short's liquidation price (the paper engine's quiet
    band), the collateral low reaches the guardian's trigger or the loan's liquidation price, funding falls
    due or its rate changes, a price moves about half the guards' jump limit from the price they last trusted, or
    the data has a gap or a jump (that bar and the one before it are decided, so the guards see what they
    would have seen deciding every bar).
    """

    def __init__(
        self, bars: AlignedBars, feats: FeatureSeries, first: int, start: int, series: Series, settings: ReplaySettings
    ) -> None:
        def view(col: array[float]) -> npt.NDArray[np.float64]:
            return np.frombuffer(col, dtype=_F64)

        self.ts = np.frombuffer(bars.ts_ms, dtype=np.int64)
        self.bh, self.bl, self.bc = view(bars.btc[1]), view(bars.btc[2]), view(bars.btc[3])
        self.cl, self.cc = view(bars.collateral[2]), view(bars.collateral[3])
        self.vol = view(feats.collateral_vol_annual)
        self.feats = feats
        self.first, self.start = first, start
        # Two moves of this in a row stay within the guards' jump limit: (1 + j)^2 = 1 + max_price_jump.
        self.jump = math.sqrt(1.0 + settings.guard.max_price_jump) - 1.0
        n = len(bars)
        forced = np.zeros(n, dtype=bool)
        forced[1:] = np.frombuffer(bars.gap_before, dtype=np.uint8)[1:] != 0
        for col in (self.bc, self.cc):
            forced[1:] |= np.abs(col[1:] / col[:-1] - 1.0) > self.jump
        forced[:-1] |= forced[1:].copy()
        self.forced = forced
        self.series = {name: view(getattr(series, name)) for name in series.__dataclass_fields__}

    def next_wake(
        self, i: int, edges: _ReplayEdges, engine: PaperEngine, lending: LendingSim, guardian: SimulatedGuardian | None
    ) -> int:
        """The first bar from `i` on that needs its decision (len(bars) when none does)."""
        wake = edges.wake
        mark_anchor, coll_anchor = edges.mark_anchor.trusted, edges.collateral_anchor.trusted
        if wake is None or mark_anchor is None or coll_anchor is None:
            return i
        lo, hi = engine.quiet_band()
        btc_lo = max(wake.btc_below, mark_anchor * (1.0 - self.jump))
        btc_hi = min(wake.btc_above, mark_anchor * (1.0 + self.jump))
        coll_lo = max(wake.collateral_below, coll_anchor * (1.0 - self.jump))
        coll_hi = min(wake.collateral_above, coll_anchor * (1.0 + self.jump))
        if wake.health_factor_below > 0 and lending.amount > 0:
            coll_lo = max(
                coll_lo, wake.health_factor_below * lending.debt_usd / (lending.amount * lending.liquidation_threshold)
            )
        loan_lo = lending.liquidation_price  # the liquidator, and the guardian above it
        if guardian is not None:
            loan_lo = max(loan_lo, loan_lo * guardian.trigger)
        due = min(wake.at_ms, engine.next_funding_ms, engine.funding_rate_until(engine.now_ms)[1])
        n = len(self.ts)
        size = 1024
        while i < n:
            e = min(n, i + size)
            bc, cc = self.bc[i:e], self.cc[i:e]
            vol = self.vol[i - self.first : e - self.first]
            hit = (
                self.forced[i:e]
                | (self.bh[i:e] >= hi)
                | (self.bl[i:e] <= lo)
                | (bc >= btc_hi)
                | (bc <= btc_lo)
                | (cc >= coll_hi)
                | (cc <= coll_lo)
                | (self.cl[i:e] <= loan_lo)
                | (vol >= wake.collateral_vol_above)
                | (vol <= wake.collateral_vol_below)
                | (self.ts[i:e] >= due)
            )
            for name in wake.feature_changes:
                col = np.frombuffer(getattr(self.feats, name), dtype=_F64 if name != "samples" else np.int64)
                hit |= col[i - self.first : e - self.first] != col[i - 1 - self.first]
            k = int(np.argmax(hit))
            if hit[k]:
                return i + k
            i = e
            size = min(size * 4, 1 << 17)
        return n

    def skip(
        self, i: int, k: int, engine: PaperEngine, lending: LendingSim, reserve: float, peak: float, worst: float
    ) -> tuple[float, float]:
        """Bars i..k-1, on which nothing changes but the prices: the engine and the loan left as the loop would
        leave them, and the series filled; the drawdown's (peak, worst) after them."""
        last = k - 1
        engine.now_ms = int(self.ts[last])
        engine.move_bar(float(self.bh[last]), float(self.bl[last]), float(self.bc[last]))
        lending.min_health_factor = min(lending.min_health_factor, lending.health_factor(float(self.cl[i:k].min())))
        bc, cc = self.bc[i:k], self.cc[i:k]
        amount, debt = lending.amount, lending.debt_usd
        contracts = engine.contracts
        fut = np.full(k - i, engine.wallet_btc)
        if contracts != 0:
            # PaperAccount.equity_btc: wallet + contracts x size x (1/entry - 1/mark), in that order.
            fut = fut + contracts * engine.instrument.contract_size_usd * (1.0 / engine.entry_price - 1.0 / bc)
        # LendingSim.health_factor and the loop's equity, operation for operation.
        hf = amount * cc * lending.liquidation_threshold / debt if debt > 0 else np.full(k - i, math.inf)
        equity = amount * cc - debt + fut * bc + reserve
        s = self.series
        a, b = i - self.start, k - self.start
        s["equity_usd"][a:b] = equity
        s["health_factor"][a:b] = hf
        s["collateral_amount"][a:b] = amount
        s["debt_usd"][a:b] = debt
        s["futures_btc"][a:b] = fut
        s["short_contracts"][a:b] = -contracts
        peaks = np.maximum.accumulate(np.concatenate(([peak], equity)))[1:]
        return float(peaks[-1]), max(worst, float((peaks - equity).max()))


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
    # Leverage is set once, as `hedgebot run` configures the venue at start.
    leverage = min(getattr(strategy.params, "leverage", 5.0), strategy.leverage_cap, settings.risk.max_leverage)
    engine.configure(leverage, engine.margin_mode)
    lending = open_loan(setup, co[start], settings.liquidation_rules)
    g = settings.guardian
    guardian = (
        SimulatedGuardian(
            setup.reserve_usd, g.trigger_health_factor, g.target_health_factor, g.gas_usd, g.max_usd_per_day
        )
        if setup.reserve_usd > 0
        else None
    )
    edges = _ReplayEdges(strategy, instrument, engine, lending, setup, settings)
    engine.move(bo[start], continuous=False)
    warm = feats.at(start - 1 - first) if start > first else EMPTY_TRACKER_FEATURES
    edges.at_close(ts[start], bo[start], co[start], lending.health_factor(co[start]), warm)

    n = len(bars)
    series = _preallocated_series(n - start)
    eq_a, hf_a, amt_a, debt_a = series.equity_usd, series.health_factor, series.collateral_amount, series.debt_usd
    fut_a, short_a = series.futures_btc, series.short_contracts
    peak, worst = -math.inf, 0.0
    funding_usd = 0.0
    tick = max(1, (n - start) // 100)
    # Wake-ups: with a bar no shorter than the heartbeat every bar triggers a decision, so the bars the
    # skipper passes over are exactly those on which a decision would have changed nothing.
    skipper = (
        _Skipper(bars, feats, first, start, series, settings)
        if settings.wake_ups and bars.bar_ms >= settings.triggers.heartbeat_ms
        else None
    )
    i = start
    while i < n:
        close_b, close_c, now = bc[i], cc[i], ts[i]
        if engine.next_funding_ms <= now:
            funding_usd += engine.advance_time(now) * engine.mark
        else:
            engine.now_ms = now
        if gapb[i] and i > start:
            engine.move(bo[i], False)
            lending.fall(co[i], co[i], guardian, now)
        # The legs are independent: the loan falls to its low (the guardian acting where HF crosses its
        # trigger, a liquidator where it crosses 1), the hedge goes high -> low -> close.
        lending.fall(ch[i], cl[i], guardian, now)
        engine.move_bar(bh[i], bl[i], close_b)
        hf = lending.health_factor(close_c)
        edges.at_close(now, close_b, close_c, hf, feats.at(i - first))
        fut = engine.equity_btc()
        reserve = guardian.reserve_usd if guardian is not None else 0.0
        equity = lending.amount * close_c - lending.debt_usd + fut * close_b + reserve
        if equity > peak:
            peak = equity
        elif peak - equity > worst:
            worst = peak - equity
        j = i - start
        eq_a[j] = equity
        hf_a[j] = hf
        amt_a[j] = lending.amount
        debt_a[j] = lending.debt_usd
        fut_a[j] = fut
        short_a[j] = -engine.contracts
        if progress is not None and j % tick == 0:
            progress(j, n - start)
        i += 1
        if skipper is not None and edges.wake is not None and i < n:
            k = skipper.next_wake(i, edges, engine, lending, guardian)
            if k > i:
                peak, worst = skipper.skip(i, k, engine, lending, reserve, peak, worst)
                if progress is not None and (k - 1 - start) // tick != j // tick:
                    progress(k - 1 - start, n - start)
                i = k
    fills = tuple(engine.fills())
    stats = HedgeStats(
        hedge_pnl_usd=fut_a[-1] * bc[n - 1] - setup.hedge_capital_usd,
        fees_usd=sum(f.fee_btc * f.price for f in fills),
        funding_usd=funding_usd,
        orders=edges.orders,
        hedge_liquidated=engine.liquidations > 0,
        rejected_orders=edges.rejected,
        decisions=edges.decisions,
        halted_decisions=edges.halted_decisions,
        defense_txs=guardian.transactions if guardian is not None else 0,
        defended_usd=guardian.defended_usd if guardian is not None else 0.0,
        reserve_left_usd=guardian.reserve_usd if guardian is not None else 0.0,
    )
    return portfolio_result(lending, worst, eq_a[-1]), stats, series, fills
