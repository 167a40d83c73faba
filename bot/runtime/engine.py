"""The asyncio engine: feeds -> decision (strategy, risk, reconciler) -> venue, journaled.

Decisions are event-driven: a new block, a mark move beyond `price_trigger`, fills, and a heartbeat.
Events arriving within `debounce_ms` of each other make one decision. Stale or absurd data halts
trading until it is healthy again. Dry-run, testnet and live run this same engine: only the venue and
the feeds plugged in differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from dataclasses import replace
from typing import Any

from bot.clock import Clock, wall_ms
from bot.domain.alerts import Alert, Severity
from bot.domain.features.tracker import FeatureTracker, MarketFeatures
from bot.domain.lending.betas import AssetBeta, AssetBetas
from bot.domain.orders import AccountState, Fill, Side, is_liquidation
from bot.domain.plan import HedgePlan
from bot.domain.snapshot import LendingView, Snapshot
from bot.journal.aio import AsyncJournal
from bot.journal.records import SnapshotSummary
from bot.log import get_logger
from bot.ops.alert_rules import AlertRules, AlertState
from bot.ops.alerts import Alerter
from bot.ops.kill import KILLED_EXIT_CODE, KillSwitch
from bot.ops.metrics import Metrics
from bot.ops.pause import PauseSwitch
from bot.ops.status import BotStatus
from bot.runtime.config import EngineConfig
from bot.runtime.decision import Decided, DecisionStep
from bot.runtime.executor import ExecutionReport, Executor
from bot.runtime.exits import ENTRIES, STOPS, cancel_ours, close_hedge
from bot.runtime.feeds import Defender, LendingFeed, LendingReading, MarkFeed, MarkReading
from bot.runtime.funding import FundingLedger
from bot.runtime.guards import Anchor, FeedReadings, Verdict, check, follow
from bot.runtime.pause import held_plan, while_paused
from bot.runtime.recovery import Recovery, recover, resolve_intents
from bot.runtime.tracking import follow_orders, name_fills
from bot.runtime.views import hedge_view
from bot.venues.base import Venue, VenueError
from bot.venues.reconcile import ENTRY, STOP, Action, reconcile, role_of
from strategies.base import Strategy

log = get_logger("hedgebot.engine")
# The guardian's status (reserve, spent today, next defense) is re-read from the chain at most this often, and
# after every defense: a few calls, and the check that alerts a reserve too low for the next defense.
DEFENSE_STATUS_EVERY_MS = 10_000


class Engine:
    def __init__(
        self,
        *,
        strategy: Strategy[Any],
        venue: Venue,
        lending: LendingFeed,
        mark: MarkFeed,
        journal: AsyncJournal,
        status: BotStatus | None = None,
        kill: KillSwitch | None = None,
        pause: PauseSwitch | None = None,
        metrics: Metrics | None = None,
        alerter: Alerter | None = None,
        alert_rules: AlertRules | None = None,
        config: EngineConfig | None = None,
        clock: Clock = wall_ms,
        guardian: Defender | None = None,
    ) -> None:
        self.strategy = strategy
        self.venue = venue
        self.lending = lending
        self.mark = mark
        self.journal = journal
        self.status = status or BotStatus()
        self.kill = kill or KillSwitch()
        self.pause = pause or PauseSwitch()
        self.metrics = metrics
        self.alerter = alerter
        self.rules = alert_rules or AlertRules()
        self.config = config = config or EngineConfig()
        self.clock = clock
        self.guardian = guardian  # on-chain defense (bot.chain.guardian); None: the hedge alone
        self.executor = Executor(venue, journal, clock, metrics=metrics, namespace=config.reconcile.namespace)
        self.features = FeatureTracker.for_bar_length(config.feature_bar_ms)
        # Every asset of the account: its beta to BTC, from its oracle price and the mark at each feature bar.
        self.asset_betas = AssetBetas(config.feature_bar_ms)
        self.stop_requested = asyncio.Event()
        self.decided = asyncio.Condition()  # notified after every decision: tests and benchmarks wait on it
        self.min_health_factor = math.inf
        self.decisions = 0
        self._trigger = asyncio.Event()
        self._trigger_ms: int | None = None  # when the first event since the last decision arrived
        self._decision_lock = asyncio.Lock()
        self._lending: LendingReading | None = None
        self._lending_failing = False  # the last read of the lending feed failed (the guard halts on it)
        # The last prices the guard trusted: a jump is measured from them, not from the previous reading.
        self._collateral_anchor = Anchor()
        self._mark: MarkReading | None = None
        self._mark_anchor = Anchor()
        self._bar_open_ms = 0
        # The one decision step, shared with the backtest (bot.runtime.decision).
        self.step = DecisionStep(strategy, self.config.risk, self.config.reconcile, self.config.change)
        self._decided: Decided | None = None
        self._fills_seen = 0
        self._alert_state = AlertState()
        self._fills_since_ms = 0
        self._fills_at_since: set[Fill] = set()  # fills already taken at the millisecond `_fills_since_ms`
        self.funding = FundingLedger()
        self._auth_failed: str | None = None
        self._strategy_failed: str | None = None
        # The leverage the venue is set to, when known: a plan the risk layer de-levered (no stop fitted below
        # the liquidation price) is applied to the venue before its orders.
        self.venue_leverage: float | None = None
        # The account as the last decision read it, and the one before: what the journal follows (C11).
        self._account_read: AccountState | None = None
        self._followed: AccountState | None = None
        self._exited_by = ""  # "liquidation" or "stop-out" until the hedge is put on again (B2)
        self._defense_status_ms: int | None = None  # when the guardian's status was last read
        self.status.defense_configured = guardian is not None
        self._unresolved = False  # an order of the last decision has no answer yet: looked up before the next
        self._features_warming_up: bool | None = None  # as last reported

    # ---- events --------------------------------------------------------------------------------------

    def trigger(self, why: str) -> None:
        """Ask for a decision soon (coalesced with other events within the debounce)."""
        if self._trigger_ms is None:
            self._trigger_ms = self.clock()
        log.debug("trigger", why=why)
        self._trigger.set()

    async def _watch_chain(self) -> None:
        while True:
            try:
                self.observe_lending(await self.lending.read())
                self._lending_failing = False
                self._maybe_trigger()
            except Exception as exc:  # the guard halts trading until a read succeeds again; keep watching
                self._lending_failing = True
                log.warning("lending feed read failed", error=str(exc))
            try:
                await self.lending.next_block()
            except Exception as exc:
                log.warning("waiting for a block failed", error=str(exc))
                await asyncio.sleep(1.0)

    async def _watch_mark(self) -> None:
        while True:
            try:
                self.observe_mark(await self.mark.read())
                self._maybe_trigger()
            except Exception as exc:
                log.warning("mark feed read failed", error=str(exc))
            await asyncio.sleep(self.config.mark_poll_s)

    def observe_lending(self, reading: LendingReading) -> None:
        """Take a reading of the lending feed (a block)."""
        self._lending = reading
        self.min_health_factor = min(self.min_health_factor, reading.lending.health_factor)
        self.status.feed_seen("chain", reading.block_time_ms, self.config.guard.stale_block_ms / 1000)

    def observe_mark(self, reading: MarkReading) -> None:
        """Take a reading of the mark feed."""
        self._mark = reading
        self.status.feed_seen("mark", reading.ts_ms, self.config.guard.feed_heartbeat_ms / 1000)
        self._sample_features(reading)

    def due(self) -> str | None:
        """Which trigger makes a decision due now, if any (the backtest asks the same `Triggers`)."""
        if self._lending is None or self._mark is None:
            return None
        # While halted, every fresh reading is a chance to resume: decide again at once.
        if self.status.halted:
            return "halted"
        return self.config.triggers.why(
            self._decided, self.clock(), self._mark.price, self._lending.lending.collateral_price_usd, self._fills_seen
        )

    def _maybe_trigger(self) -> None:
        why = self.due()
        if why is not None:
            self.trigger(why)

    def _sample_features(self, reading: MarkReading) -> None:
        if not self.config.sample_features:
            return
        if self._lending is None or reading.ts_ms - self._bar_open_ms < self.config.feature_bar_ms:
            return
        self._bar_open_ms = reading.ts_ms
        p = reading.price
        lending = self._lending.lending
        self.features.update(p, p, p, lending.collateral_price_usd)
        self.asset_betas.update(p, {a.symbol: a.price_usd for a in (*lending.collaterals, *lending.debts)})

    def betas(self) -> dict[str, AssetBeta]:
        """Each asset's beta to BTC as measured so far (by upper-case symbol), or its class's fallback.

        The hedged collateral's own estimate starts from the features' (warmed on the exchange's history at
        start) until its oracle readings alone make a day of returns.
        """
        lending = self._lending.lending if self._lending else None
        if lending is None:
            return {}
        out = {a.symbol.upper(): self.asset_betas.beta(a.symbol) for a in (*lending.collaterals, *lending.debts)}
        hedged = lending.collateral_asset.upper()
        own = out.get(hedged)
        f = self.features.features()
        warm = f.samples >= self.asset_betas.min_samples and abs(f.correlation) >= self.asset_betas.min_correlation
        if own is not None and own.source != "measured" and own.source != "stablecoin" and warm:
            out[hedged] = AssetBeta(f.beta, "measured", f.samples, f.correlation)
        return out

    def _current_features(self) -> MarketFeatures:
        """The tracker's features; says once when they start or stop being the warming-up prior (B17)."""
        features = self.features.features()
        if features.warming_up != self._features_warming_up:
            self._features_warming_up = features.warming_up
            btc, collateral = self.features.bars
            if features.warming_up:
                log.info(
                    "features warming up: strategies see the neutral prior until enough bars are taken",
                    btc_bars=btc,
                    collateral_bars=collateral,
                    needed=self.features.min_bars,
                )
            else:
                log.info("features warm", btc_bars=btc, collateral_bars=collateral)
        return features

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_s)
            await self.kill.poll_file(self.clock())
            # Funding falls due every few hours: the heartbeat reads it, not every decision (Binance's
            # income history weighs 30).
            await self._sync_funding_logged()
            self.trigger("heartbeat")  # the task's own period is the heartbeat (Triggers.heartbeat_ms)

    async def _watch_kill_file(self) -> None:
        # Between heartbeats too: a person who touches the kill file expects a quick halt.
        while await self.kill.poll_file(self.clock()) is None:
            await asyncio.sleep(0.5)

    # ---- decisions -----------------------------------------------------------------------------------

    def _readings(self, now_ms: int) -> FeedReadings:
        lending, mark = self._lending, self._mark
        return FeedReadings(
            now_ms=now_ms,
            block_time_ms=lending.block_time_ms if lending else None,
            btc_mark=mark.price if mark else None,
            btc_mark_ms=mark.ts_ms if mark else None,
            btc_mark_anchor=self._mark_anchor,
            collateral_price=lending.lending.collateral_price_usd if lending else None,
            collateral_anchor=self._collateral_anchor,
            oracle_updated_ms=lending.oracle_updated_ms if lending else None,
            oracle_btc_usd=lending.oracle_btc_usd if lending else None,
            lending_failing=self._lending_failing,
        )

    def _alert(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            emit = log.info if alert.severity == Severity.INFO else log.warning
            emit("alert", key=alert.key, message=alert.message)
            if self.alerter is not None:
                self.alerter.notify(alert)  # the alerter journals the outcome once it is known (B9)
            else:
                # Fire and forget: journaling an alert must never hold up a decision.
                asyncio.get_running_loop().create_task(self.journal.record_alert(alert))

    def _guard(self, now_ms: int) -> Verdict:
        readings = self._readings(now_ms)
        verdict = check(readings, self.config.guard)
        limits = self.config.guard
        self._mark_anchor = follow(self._mark_anchor, readings.btc_mark, now_ms, limits)
        self._collateral_anchor = follow(self._collateral_anchor, readings.collateral_price, now_ms, limits)
        state = self._alert_state
        for name, feed in self.status.feeds.items():
            state, alerts = self.rules.on_feed(
                state, name, (now_ms - feed.last_update_ms) / 1000, feed.max_age_s, now_ms
            )
            self._alert(alerts)
        self._alert_state = state
        if self._auth_failed:
            self.status.halt("authentication failed: " + self._auth_failed)
        elif self._strategy_failed:
            self.status.halt(self._strategy_failed)
        elif not verdict.ok:
            if not self.status.halted:
                self._alert([self.rules.on_error("trading halted", verdict.summary, now_ms)])
            self.status.halt("data: " + verdict.summary)
        elif self.status.halted:
            log.info("data healthy again: trading resumes")
            self.status.resume()
        return verdict

    async def decide_once(self) -> ExecutionReport | None:
        """One decision on what the feeds hold now; the execution report, or None when nothing was sent."""
        async with self._decision_lock:
            report = await self._decide(self.clock())
            await self._follow_orders()
            self.decisions += 1
            if self.metrics is not None:
                self.metrics.decisions.inc()
                if self._trigger_ms is not None and report is not None:
                    self.metrics.decision_seconds.observe((self.clock() - self._trigger_ms) / 1000)
            self._trigger_ms = None
        async with self.decided:
            self.decided.notify_all()
        return report

    async def _decide(self, now: int) -> ExecutionReport | None:
        if not self._guard(now).ok or self.status.halted:
            log.warning("not trading", why=self.status.halt_reason)
            return None
        assert self._lending is not None and self._mark is not None
        # The loan first: a defense on chain is what raises a health factor (the hedge cannot).
        if await self._defend_if_due(self._lending.lending):
            self._defense_status_ms = None  # re-read at the next decision, on the lending the defense left
        else:
            await self._observe_defense(self._lending.lending, now)
        if self._unresolved:  # an order whose answer the venue never gave: what became of it, before re-planning
            await resolve_intents(self.venue, self.journal, self.clock, "found on the venue after its answer was lost")
            self._unresolved = False
        venue_account = await self.venue.account()
        self._account_read = venue_account
        # One consistent reading (B6, C3): the account read carries the exchange's mark as of now, fresher
        # than the polled one; the guard checks that very reading after the await, and the decision is
        # priced on it. Nothing is awaited from here to the plan.
        if venue_account.mark_price > 0 and venue_account.mark_price != self._mark.price:
            self._mark = MarkReading(venue_account.mark_price, self.clock(), self._mark.funding_rate_8h)
            self.status.feed_seen("mark", self._mark.ts_ms, self.config.guard.feed_heartbeat_ms / 1000)
        if not self._guard(now).ok or self.status.halted:
            log.warning("not trading", why=self.status.halt_reason)
            return None
        account = AccountState(
            venue_account.wallet_btc, venue_account.position, venue_account.open_orders, self._mark.price
        )
        lending = self._lending.lending
        self._alert_state, alerts = self.rules.on_health(self._alert_state, lending.health_factor, now)
        self._alert(alerts)
        matches_chain = self._lending.matches_chain
        self._alert_state, alerts = self.rules.on_replica(self._alert_state, matches_chain, now)
        self._alert(alerts)
        self._alert_state, alerts = self.rules.on_hedgeable(self._alert_state, lending, now)
        self._alert(alerts)
        snapshot = Snapshot(
            now_ms=now,
            btc_price=self._mark.price,
            lending=lending,
            hedge=hedge_view(account),
            instrument=self.venue.instrument,
            funding_rate_8h=self._mark.funding_rate_8h if self._mark.funding_rate_8h is not None else 0.0001,
            features=self._current_features(),
            state=self.step.state,
        )
        # The change policy (B15) counts from the last fill: a resize right after a trade waits its cooldown.
        # The step follows the engine's strategy and config, which a caller may swap (the demo does).
        step = self.step
        step.strategy, step.limits = self.strategy, self.config.risk
        step.reconcile_settings, step.change = self.config.reconcile, self.config.change
        decision = step.decide(snapshot, account, self._fills_since_ms or None)
        self._decided = Decided(now, self._mark.price, lending.collateral_price_usd, self._fills_seen)
        if decision.plan is None:
            self._strategy_halt(decision.problem or "failed", now)
            return None
        plan = decision.plan
        for why in decision.clipped:
            log.warning("risk layer clipped the plan", why=why)
        self.status.observe_snapshot(snapshot, matches_chain)
        self.status.observe_account(account, self.funding.paid_btc)
        # Paused, a decision is still taken: the reconciler holds the short it has (see `_actions`).
        if not decision.changed and not self.pause.paused:
            return None
        snapshot_id = await self.journal.record_snapshot(SnapshotSummary.of(snapshot, matches_chain))
        seq = await self.journal.record_decision(now, self.strategy.name, plan, snapshot_id)
        self.status.observe_decision(seq, now, self.strategy.name, plan)
        self.step.last_plan = plan
        actions = self._actions(plan, account, seq)
        if not actions:
            return None
        log.info("acting", seq=seq, reason=plan.reason, actions=len(actions), target=plan.contracts)
        if not await self._set_leverage(plan.leverage, now):
            return None
        report = await self.executor.execute(seq, actions)
        self._after_execution(report, now)
        await self.sync_fills(account)
        return report

    async def _observe_defense(self, lending: LendingView, now: int) -> None:
        """The guardian's status on the board (`status`, /metrics), read every DEFENSE_STATUS_EVERY_MS (and
        at the decision after a defense)."""
        guardian = self.guardian
        if guardian is None:
            return
        last = self._defense_status_ms
        if last is not None and now - last < DEFENSE_STATUS_EVERY_MS:
            return
        self._defense_status_ms = now
        try:
            self.status.defense = await guardian.status(lending)
        except Exception as exc:  # a status read is not worth a halt; the next one may succeed
            log.warning("reading the guardian's status failed", error=str(exc))

    async def _defend_if_due(self, lending: LendingView) -> bool:
        """Repay or supply on the borrower's behalf when the HF is under the guardian's trigger (issue 11 B).

        The amount comes from the exact Aave math (bot.domain.defense, bot.chain.guardian); the guardian
        journals, simulates, signs, confirms and alerts itself, and never resends. True when one was tried.
        """
        guardian = self.guardian
        if guardian is None or not lending.health_factor < guardian.policy.trigger_health_factor:
            return False
        try:
            action = await guardian.plan(lending)
            if action is None:
                return False
            result = await guardian.defend(action)
        except Exception as exc:  # a failed defense is an alert and a re-plan at the next decision
            log.exception("defense failed", error=str(exc))
            self._alert([self.rules.on_error("defense failed", str(exc), self.clock())])
            return True
        log.info(
            "defense",
            status=result.status,
            kind=result.kind,
            asset=result.asset_symbol,
            usd=round(result.amount_usd, 2),
            hf_before=result.health_factor_before,
            hf_after=result.health_factor_after,
            txs=list(result.tx_hashes),
        )
        return True

    def _actions(self, plan: HedgePlan, account: AccountState, seq: int) -> list[Action]:
        """The reconciler's actions toward `plan`; paused, toward the short already held and none that add to it."""
        if not self.pause.paused:
            return reconcile(plan, account, self.venue.instrument, seq, self.config.reconcile)
        held = reconcile(held_plan(plan, account), account, self.venue.instrument, seq, self.config.reconcile)
        return while_paused(held, account)

    def _strategy_halt(self, problem: str, now: int) -> None:
        """Halt after the strategy raised or returned garbage (B8).

        The halt holds until a restart (a plugin that failed once is not trusted again on its own), alerts
        once, and sends nothing: the resting protective stops stay where they are.
        """
        self._strategy_failed = problem
        log.error("strategy failed: trading stopped, stops kept", why=problem)
        self.status.halt(problem)
        self._alert([self.rules.on_error("strategy failed: trading stopped, stops kept", problem, now)])

    async def _set_leverage(self, leverage: float, now: int) -> bool:
        """The venue set to the plan's `leverage` where it differs; False (alerted) when the venue refused it."""
        if self.venue_leverage is None or leverage == self.venue_leverage:
            return True
        try:
            await self.venue.configure(leverage, self.config.risk.margin_mode)
        except VenueError as exc:
            self._alert([self.rules.on_error("leverage not changed: orders held back", str(exc), now)])
            return False
        self.venue_leverage = leverage
        return True

    def _after_execution(self, report: ExecutionReport, now: int) -> None:
        if self.metrics is not None:
            self.metrics.orders.labels("placed").inc(len(report.placed))
            self.metrics.orders.labels("rejected").inc(len(report.rejected))
            self.metrics.orders.labels("unresolved").inc(len(report.unresolved))
        for cid, why in report.rejected:
            self._alert([self.rules.on_error("order rejected", f"{cid}: {why}", now)])
        if report.uncovered_closed:
            detail = f"{report.uncovered_closed} contracts bought back at once: no accepted stop covered them"
            self._alert([self.rules.on_error("protective stop refused: short reduced", detail, now)])
        if report.unresolved:
            self._unresolved = True
            self._alert([self.rules.on_error("venue unreachable", ", ".join(report.unresolved), now)])
        if report.auth_failed:
            self._auth_failed = report.auth_failed
            self.status.halt("authentication failed: " + report.auth_failed)
            self._alert([self.rules.on_error("authentication failed: trading stopped", report.auth_failed, now)])

    async def _follow_orders(self) -> None:
        """After a decision: journal what became of our orders gone from the venue's open list since (C11), and
        read the fills when the position moved without them (a stop, or the exchange's liquidation)."""
        account, self._account_read = self._account_read, None
        if account is None:
            return
        done = await follow_orders(self.venue, self.journal, account, self.clock)
        before = self._followed
        self._followed = account
        if done or (before is not None and before.position.contracts != account.position.contracts):
            await self.sync_fills(before)

    async def sync_fills(self, before: AccountState | None = None) -> None:
        """Journal new fills; alert on hedge changes, stop-outs, liquidations and re-entries after them."""
        # Re-read from the last fill's own millisecond: two fills can share one (a decision's entry and the
        # next decision's resize, on a venue with a coarse clock); the ones already seen there are skipped.
        since = self._fills_since_ms
        raw = [
            f
            for f in await self.venue.fills(since)
            if f.timestamp_ms > since or (f.timestamp_ms == since and f not in self._fills_at_since)
        ]
        if not raw:
            return
        fresh = await name_fills(self.journal, raw)
        await self.journal.record_fills(fresh)
        last_ms = max(f.timestamp_ms for f in raw)
        at_last = {f for f in raw if f.timestamp_ms == last_ms}
        self._fills_at_since = (self._fills_at_since | at_last) if last_ms == since else at_last
        self._fills_since_ms = last_ms
        self._fills_seen += len(fresh)  # a fill is a trigger (Triggers.why)
        now = self.clock()
        for f in fresh:
            self._alert(self.rules.on_fill(f, now))
            if is_liquidation(f.client_id):
                self._exited_by = "liquidation"
            elif role_of(f.client_id) == STOP and f.side is Side.BUY:
                self._exited_by = "stop-out"
            elif self._exited_by and role_of(f.client_id) == ENTRY and f.side is Side.SELL:
                self._alert([self.rules.on_reentry(self._exited_by, f, now)])
                self._exited_by = ""
        if before is not None:
            short_before = max(0, -before.position.contracts)
            sold = sum(f.contracts if f.side is Side.SELL else -f.contracts for f in fresh)
            reason = self.status.last_decision.reason if self.status.last_decision else ""
            price = fresh[-1].price
            self._alert(self.rules.on_position(short_before, max(0, short_before + sold), price, now, reason))

    async def sync_funding(self) -> None:
        """Journal new funding payments; the status board shows the new total at once."""
        if await self.funding.sync(self.venue, self.journal) and self.status.hedge is not None:
            self.status.hedge = replace(self.status.hedge, funding_paid_btc=self.funding.paid_btc)

    async def _sync_funding_logged(self) -> None:
        try:
            await self.sync_funding()
        except Exception as exc:  # funding is bookkeeping: never stop the bot for it; the next read resumes
            log.warning("funding read failed", error=str(exc))

    async def _decision_loop(self) -> None:
        while True:
            await self._trigger.wait()
            if self.config.debounce_ms:
                await asyncio.sleep(self.config.debounce_ms / 1000)
            self._trigger.clear()
            try:
                await self.decide_once()
            except Exception as exc:  # one failed decision must not end the bot; the next event retries
                log.exception("decision failed", error=str(exc))
                self._alert([self.rules.on_error("decision failed", str(exc), self.clock())])

    # ---- life cycle ----------------------------------------------------------------------------------

    async def start(self) -> Recovery:
        """Load the strategy's saved state, resolve what the journal left unfinished, adopt our orders."""
        self.status.started_ms = self.clock()
        saved = await self.journal.load_strategy_state()
        if saved is not None and saved.strategy == self.strategy.name:
            self.step.state = saved.state
        # Levels already reported stay reported across a restart (B16): no second "fell below" for them.
        breached = self.rules.breached_after(await self.journal.health_alert_keys())
        self._alert_state = replace(self._alert_state, breached_levels=breached)
        last_fill = await self.journal.last_fill_ms()
        self._fills_since_ms = last_fill + 1 if last_fill else 0
        await self.funding.resume(self.journal)
        recovery = await recover(self.venue, self.journal, self.clock)
        # What became of our orders while the bot was down (filled stops, a liquidation): journaled and alerted now.
        self._account_read = recovery.account
        await self._follow_orders()
        await self._sync_funding_logged()
        if recovery.foreign:
            ids = ", ".join(o.client_id or o.venue_id for o in recovery.foreign)
            self._alert([self.rules.on_error("foreign orders on the hedge instrument (left alone)", ids, self.clock())])
        log.info(
            "recovered",
            adopted=len(recovery.adopted),
            not_sent=len(recovery.not_sent),
            foreign=len(recovery.foreign),
            position=recovery.account.position.contracts,
        )
        return recovery

    async def run(self) -> int:
        """Run until a stop or a kill is requested; returns the process exit code (0 stopped, 3 killed)."""
        await self.start()
        watchers = [
            asyncio.create_task(self._watch_chain(), name="chain"),
            asyncio.create_task(self._watch_mark(), name="mark"),
            asyncio.create_task(self._heartbeat(), name="heartbeat"),
            asyncio.create_task(self._watch_kill_file(), name="kill-file"),
        ]
        decider = asyncio.create_task(self._decision_loop(), name="decide")
        waiters = [asyncio.create_task(self.stop_requested.wait()), asyncio.create_task(self.kill.wait())]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        # No new events; then wait out the in-flight decision (its orders are journaled, sent and acknowledged)
        # for `decision_grace_s` before the decision loop is cancelled. A decision held longer (a venue that does not
        # answer) is cancelled: every order it may have sent has its intent journaled, resolved at the next start.
        for task in watchers:
            task.cancel()
        acquire = asyncio.ensure_future(self._decision_lock.acquire())  # never lost to a timeout racing it
        done, _ = await asyncio.wait({acquire}, timeout=self.config.decision_grace_s)
        if not done:
            log.warning("in-flight decision cancelled: it outlasted the grace", grace_s=self.config.decision_grace_s)
            decider.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await decider
            await acquire
        try:
            decider.cancel()
            for task in [*watchers, decider]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if self.kill.requested:
                await self.halt_by_kill()
                clean = True
            else:
                clean = await self.shutdown()
        finally:
            self._decision_lock.release()
        for waiter in waiters:
            waiter.cancel()
        # A killed bot exits 3: the kill is journaled, so a supervisor's restart finds it and refuses to trade.
        if self.kill.requested:
            return KILLED_EXIT_CODE
        return 0 if clean else 1

    async def shutdown(self) -> bool:
        """Leave the hedge in place; cancel resting entries, and the stops too unless `keep_stops_on_exit`.

        Bounded by `exit_timeout_s`: the cancels are retried until then, the bookkeeping (fills, funding) gets what
        is left. False when the venue could not be reached to cancel (logged: entries may rest).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.exit_timeout_s
        keep = self.config.keep_stops_on_exit
        roles = ENTRIES if keep else ENTRIES | STOPS
        clean = await cancel_ours(self.venue, self.journal, self.clock, roles, self.config.exit_timeout_s)
        if not clean:
            log.error(
                "stopping without reaching the venue: its resting orders of ours could not be checked or cancelled",
                roles="".join(sorted(roles)),
            )
        try:
            await asyncio.wait_for(self._bookkeeping(), max(0.1, deadline - loop.time()))
        except (TimeoutError, Exception) as exc:
            log.warning("fills and funding not read on exit: read at the next start", error=str(exc) or "timeout")
        log.info("stopped", keep_stops=keep, clean=clean)
        return clean

    async def _bookkeeping(self) -> None:
        await self.sync_fills()
        await self._sync_funding_logged()

    async def halt_by_kill(self) -> None:
        """The kill switch: cancel entries, keep or close the hedge (`close_on_kill`), and halt."""
        request = self.kill.request
        self.status.halt("killed: " + (request.reason if request else ""))
        await cancel_ours(self.venue, self.journal, self.clock, ENTRIES, self.config.exit_timeout_s)
        if self.config.close_on_kill:
            await close_hedge(self.venue, self.journal, self.executor, self.config.reconcile.namespace)
        kept = "closed" if self.config.close_on_kill else "kept, with its stops"
        self._alert([self.rules.on_error("kill switch", f"entries cancelled; hedge {kept}", self.clock())])
        await self.sync_fills()
        await self._sync_funding_logged()
