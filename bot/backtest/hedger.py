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
from bot.domain.features.series import EMPTY_TRACKER_FEATURES, feature_series
from bot.domain.features.tracker import MarketFeatures
from bot.domain.instruments import Instrument
from bot.domain.inverse import EIGHT_HOURS_MS
from bot.domain.orders import Fill, OrderRequest, is_protective_stop
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
            self.last_fill_ms = engine.fills()[-1].timestamp_ms
        decision = self.step.decide(snapshot, account, self.last_fill_ms)
        if decision.plan is None:
            raise HedgebotError(decision.problem or "the strategy failed")
        if not decision.changed:
            return
        self.seq += 1
        actions = self.step.actions(decision, self.seq)
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
    lending = open_loan(setup, co[start])
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
    for i in range(start, n):
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
