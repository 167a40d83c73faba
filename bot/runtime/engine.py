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
from bot.domain.features.tracker import FeatureTracker
from bot.domain.orders import AccountState, Side
from bot.domain.plan import HedgePlan, plan_problem
from bot.domain.risk import apply_limits
from bot.domain.snapshot import EMPTY_STATE, Snapshot, StrategyState
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
from bot.runtime.executor import ExecutionReport, Executor
from bot.runtime.exits import ENTRIES, STOPS, cancel_ours, close_hedge
from bot.runtime.feeds import LendingFeed, LendingReading, MarkFeed, MarkReading
from bot.runtime.funding import FundingLedger
from bot.runtime.guards import Anchor, FeedReadings, Verdict, check, follow
from bot.runtime.pause import held_plan, while_paused
from bot.runtime.recovery import Recovery, recover
from bot.runtime.views import hedge_view
from bot.venues.base import Venue
from bot.venues.reconcile import Action, reconcile
from strategies.base import Strategy

log = get_logger("hedgebot.engine")


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
        self.executor = Executor(venue, journal, clock, metrics=metrics)
        self.features = FeatureTracker.for_bar_length(config.feature_bar_ms)
        self.stop_requested = asyncio.Event()
        self.decided = asyncio.Condition()  # notified after every decision: tests and benchmarks wait on it
        self.min_health_factor = math.inf
        self.decisions = 0
        self._trigger = asyncio.Event()
        self._trigger_ms: int | None = None  # when the first event since the last decision arrived
        self._decision_lock = asyncio.Lock()
        self._lending: LendingReading | None = None
        # The last prices the guard trusted: a jump is measured from them, not from the previous reading.
        self._collateral_anchor = Anchor()
        self._mark: MarkReading | None = None
        self._mark_anchor = Anchor()
        self._decided_mark: float | None = None
        self._bar_open_ms = 0
        self._state: StrategyState = EMPTY_STATE
        self._last_plan: HedgePlan | None = None
        self._alert_state = AlertState()
        self._fills_since_ms = 0
        self.funding = FundingLedger()
        self._auth_failed: str | None = None
        self._strategy_failed: str | None = None

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
                reading = await self.lending.read()
                self._lending = reading
                self.min_health_factor = min(self.min_health_factor, reading.lending.health_factor)
                self.status.feed_seen("chain", reading.block_time_ms, self.config.guard.stale_block_ms / 1000)
                self.trigger("block")
            except Exception as exc:  # the guard halts trading on stale data; keep watching
                log.warning("lending feed read failed", error=str(exc))
            try:
                await self.lending.next_block()
            except Exception as exc:
                log.warning("waiting for a block failed", error=str(exc))
                await asyncio.sleep(1.0)

    async def _watch_mark(self) -> None:
        while True:
            try:
                reading = await self.mark.read()
                self._mark = reading
                self.status.feed_seen("mark", reading.ts_ms, self.config.guard.feed_heartbeat_ms / 1000)
                self._sample_features(reading)
                base = self._decided_mark
                # While halted on data, every fresh reading is a chance to resume: decide again at once.
                if base is None or self.status.halted or abs(reading.price / base - 1.0) >= self.config.price_trigger:
                    self.trigger("price")
            except Exception as exc:
                log.warning("mark feed read failed", error=str(exc))
            await asyncio.sleep(self.config.mark_poll_s)

    def _sample_features(self, reading: MarkReading) -> None:
        if not self.config.sample_features:
            return
        if self._lending is None or reading.ts_ms - self._bar_open_ms < self.config.feature_bar_ms:
            return
        self._bar_open_ms = reading.ts_ms
        p = reading.price
        self.features.update(p, p, p, self._lending.lending.collateral_price_usd)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.config.heartbeat_s)
            await self.kill.poll_file(self.clock())
            # Funding falls due every few hours: the heartbeat reads it, not every decision (Binance's
            # income history weighs 30).
            await self._sync_funding_logged()
            self.trigger("heartbeat")

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
        venue_account = await self.venue.account()
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
        snapshot = Snapshot(
            now_ms=now,
            btc_price=self._mark.price,
            lending=lending,
            hedge=hedge_view(account),
            instrument=self.venue.instrument,
            funding_rate_8h=self._mark.funding_rate_8h if self._mark.funding_rate_8h is not None else 0.0001,
            features=self.features.features(),
            state=self._state,
        )
        wanted = self._strategy_plan(snapshot, now)
        if wanted is None:
            return None
        checked = apply_limits(wanted, snapshot, self.config.risk, self.strategy.leverage_cap)
        plan = checked.plan
        for why in checked.clipped:
            log.warning("risk layer clipped the plan", why=why)
        self._state = plan.state
        self._decided_mark = self._mark.price
        self.status.observe_snapshot(snapshot)
        self.status.observe_account(account, self.funding.paid_btc)
        # A decision whose plan and actions are unchanged is not journaled again (heartbeats would fill it).
        probe = self._actions(plan, account, 0)
        if plan == self._last_plan and not probe:
            return None
        snapshot_id = await self.journal.record_snapshot(SnapshotSummary.of(snapshot))
        seq = await self.journal.record_decision(now, self.strategy.name, plan, snapshot_id)
        self.status.observe_decision(seq, now, self.strategy.name, plan)
        self._last_plan = plan
        actions = self._actions(plan, account, seq)
        if not actions:
            return None
        log.info("acting", seq=seq, reason=plan.reason, actions=len(actions), target=plan.contracts)
        report = await self.executor.execute(seq, actions)
        self._after_execution(report, now)
        await self.sync_fills(account)
        return report

    def _actions(self, plan: HedgePlan, account: AccountState, seq: int) -> list[Action]:
        """The reconciler's actions toward `plan`; paused, toward the short already held and none that add to it."""
        if not self.pause.paused:
            return reconcile(plan, account, self.venue.instrument, seq, self.config.reconcile)
        held = reconcile(held_plan(plan, account), account, self.venue.instrument, seq, self.config.reconcile)
        return while_paused(held, account)

    def _strategy_plan(self, snapshot: Snapshot, now: int) -> HedgePlan | None:
        """The strategy's plan, or None after halting when it raised or returned garbage (B8).

        The halt holds until a restart (a plugin that failed once is not trusted again on its own), alerts
        once, and sends nothing: the resting protective stops stay where they are.
        """
        try:
            plan = self.strategy.decide(snapshot)
            problem = plan_problem(plan)
        except Exception as exc:  # a plugin's bug must never reach the venue or stop the engine
            plan, problem = None, f"raised {type(exc).__name__}: {exc}"
        if problem is None:
            return plan
        self._strategy_failed = f"strategy {self.strategy.name} {problem}"
        log.error("strategy failed: trading stopped, stops kept", why=self._strategy_failed)
        self.status.halt(self._strategy_failed)
        self._alert([self.rules.on_error("strategy failed: trading stopped, stops kept", self._strategy_failed, now)])
        return None

    def _after_execution(self, report: ExecutionReport, now: int) -> None:
        if self.metrics is not None:
            self.metrics.orders.labels("placed").inc(len(report.placed))
            self.metrics.orders.labels("rejected").inc(len(report.rejected))
            self.metrics.orders.labels("unresolved").inc(len(report.unresolved))
        for cid, why in report.rejected:
            self._alert([self.rules.on_error("order rejected", f"{cid}: {why}", now)])
        if report.unresolved:
            self._alert([self.rules.on_error("venue unreachable", ", ".join(report.unresolved), now)])
        if report.auth_failed:
            self._auth_failed = report.auth_failed
            self.status.halt("authentication failed: " + report.auth_failed)
            self._alert([self.rules.on_error("authentication failed: trading stopped", report.auth_failed, now)])

    async def sync_fills(self, before: AccountState | None = None) -> None:
        """Journal new fills; alert on hedge changes and stop-outs (no extra account read: fills say it all)."""
        fresh = [f for f in await self.venue.fills(self._fills_since_ms) if f.timestamp_ms >= self._fills_since_ms]
        if not fresh:
            return
        await self.journal.record_fills(fresh)
        self._fills_since_ms = max(f.timestamp_ms for f in fresh) + 1
        now = self.clock()
        for f in fresh:
            self._alert(self.rules.on_fill(f, now))
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
            self._state = saved.state
        # Levels already reported stay reported across a restart (B16): no second "fell below" for them.
        breached = self.rules.breached_after(await self.journal.health_alert_keys())
        self._alert_state = replace(self._alert_state, breached_levels=breached)
        last_fill = await self.journal.last_fill_ms()
        self._fills_since_ms = last_fill + 1 if last_fill else 0
        await self.funding.resume(self.journal)
        recovery = await recover(self.venue, self.journal, self.clock)
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
        # before the decision loop is cancelled, so shutdown never leaves an order half-sent.
        for task in watchers:
            task.cancel()
        async with self._decision_lock:
            decider.cancel()
            for task in [*watchers, decider]:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if self.kill.requested:
                await self.halt_by_kill()
            else:
                await self.shutdown()
        for waiter in waiters:
            waiter.cancel()
        # A killed bot exits 3: the kill is journaled, so a supervisor's restart finds it and refuses to trade.
        return KILLED_EXIT_CODE if self.kill.requested else 0

    async def shutdown(self) -> None:
        """Leave the hedge in place; cancel resting entries, and the stops too unless `keep_stops_on_exit`."""
        keep = self.config.keep_stops_on_exit
        await cancel_ours(self.venue, self.journal, self.clock, ENTRIES if keep else ENTRIES | STOPS)
        await self.sync_fills()
        await self._sync_funding_logged()
        log.info("stopped", keep_stops=keep)

    async def halt_by_kill(self) -> None:
        """The kill switch: cancel entries, keep or close the hedge (`close_on_kill`), and halt."""
        request = self.kill.request
        self.status.halt("killed: " + (request.reason if request else ""))
        await cancel_ours(self.venue, self.journal, self.clock, ENTRIES)
        if self.config.close_on_kill:
            await close_hedge(self.venue, self.journal, self.executor, self.config.reconcile.namespace)
        kept = "closed" if self.config.close_on_kill else "kept, with its stops"
        self._alert([self.rules.on_error("kill switch", f"entries cancelled; hedge {kept}", self.clock())])
        await self.sync_fills()
        await self._sync_funding_logged()
