"""From settings to a running bot: build its parts, start them, and run the engine.

`build` makes every part from its settings without touching the network, `assemble` starts them, so a
test can check that each setting reaches the part that uses it. Each part is made from its settings in
one place: here, in the part's own `from_settings`, or in bot.runtime.config for the engine's limits.

The only place that knows which mode it is in: dry-run plugs in the paper venue, testnet and live the
ccxt venue. Everything downstream sees a `Venue`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from bot.chain.guardian import Guardian
from bot.clock import wall_ms
from bot.config import Mode, Settings
from bot.domain.alerts import Alert, AlertKind, Severity
from bot.domain.instruments import BTC_INVERSE_SYMBOL, InstrumentError
from bot.errors import ConfigError, HedgebotError, VenueError
from bot.journal.aio import AsyncJournal
from bot.journal.records import ControlRequest
from bot.log import configure, get_logger, register_secrets
from bot.modes import resolve_mode
from bot.monitors.aave import AaveMonitor
from bot.monitors.history import warm_features
from bot.monitors.lending_feed import AaveLendingFeed
from bot.monitors.mark import CcxtMarkFeed
from bot.ops.alert_rules import AlertRules
from bot.ops.alerts import Alerter, rules_from_settings
from bot.ops.http import StatusServer
from bot.ops.kill import KillSwitch, kill_file_for, refuse_if_killed
from bot.ops.metrics import Metrics
from bot.ops.pause import PauseSwitch
from bot.ops.status import BotStatus, live_status
from bot.ops.telegram import TelegramCommands
from bot.paper.orders import EngineSettings
from bot.plugins import loader as plugins
from bot.runtime.config import EngineConfig
from bot.runtime.engine import Engine
from bot.validation import validate
from bot.venues.base import Venue
from bot.venues.ccxt.client import build_exchange
from bot.venues.ccxt.instruments import instrument_from_ccxt_market
from bot.venues.ccxt.venue import CcxtVenue
from bot.venues.paper import PaperVenue, Quote
from strategies.base import Strategy

log = get_logger("hedgebot.app")


class MarkQuotes:
    """The mark feed as the paper venue's price source: dry-run fills at the real exchange's mark.

    It reuses the engine's reading when it is at most a poll old: every venue call re-reading the mark
    would spend the exchange's request budget (Binance weighs its premium index 10).
    """

    def __init__(self, feed: CcxtMarkFeed, max_age_ms: int = 1_500) -> None:
        self.feed = feed
        self.max_age_ms = max_age_ms

    async def quote(self) -> Quote:
        reading = await self.feed.fresh(self.max_age_ms)
        return Quote(now_ms=wall_ms(), mark=reading.price)


@dataclass(frozen=True, slots=True)
class PaperAccount:
    """The dry-run account, from the paper settings; the venue is opened on it once the market is read."""

    settings: EngineSettings
    wallet_btc: float
    state_path: Path


def paper_account(settings: Settings) -> PaperAccount:
    paper = settings.paper
    return PaperAccount(
        EngineSettings(
            maker_fee=paper.maker_fee,
            taker_fee=paper.taker_fee,
            slippage_bps=paper.slippage_bps,
            margin_mode=settings.exchange.margin_mode,
        ),
        wallet_btc=paper.balance_btc,
        state_path=settings.db_path.with_name(settings.db_path.name + ".paper.json"),
    )


def _account(settings: Settings) -> str:
    """The one account to hedge; ConfigError naming what is missing to watch it."""
    chain = settings.chain
    missing = chain.missing(accounts=True)
    if missing:
        raise ConfigError(f"{', '.join(missing)} not set: the bot needs the chain, the Aave market and the account")
    if len(chain.accounts) != 1:
        raise ConfigError(
            f"HEDGEBOT_CHAIN__ACCOUNTS lists {len(chain.accounts)} accounts: `run` hedges exactly one "
            "(run one bot per account, each on its own exchange sub-account; `hedgebot health` watches many)"
        )
    return chain.accounts[0]


@dataclass
class Parts:
    """Every part of a bot, built from the settings and not started: nothing here has opened a socket or a file."""

    mode: Mode
    strategy: Strategy[Any]
    monitor: AaveMonitor
    lending: AaveLendingFeed
    exchange: Any  # the ccxt client: the mark feed, the history and the ccxt venue share it
    mark: CcxtMarkFeed
    venue: CcxtVenue | None  # testnet and live
    paper: PaperAccount | None  # dry-run: its venue needs the exchange's market, read at start
    leverage: float
    margin_mode: str
    journal_path: Path
    alerter: Alerter
    status: BotStatus
    kill: KillSwitch
    pause: PauseSwitch
    metrics: Metrics
    server: StatusServer | None
    telegram: TelegramCommands | None  # the command side; alerts go through the alerter
    config: EngineConfig
    alert_rules: AlertRules
    warmup_days: float
    guardian: Guardian | None  # on-chain defense; None without HEDGEBOT_DEFENSE__PRIVATE_KEY


def build(settings: Settings, mode: Mode, keep_stops_on_exit: bool = True) -> Parts:
    """The bot's parts for `mode`, each from its settings; `assemble` starts them."""
    strategy = plugins.load(settings.strategy.name, settings.strategy.params)
    account = _account(settings)
    # The oracle's divergence from the mark is the guard's to judge (risk.max_oracle_divergence): the
    # monitor's own flag is for `hedgebot health`.
    monitor = AaveMonitor.from_settings(settings.chain)
    exchange = build_exchange(settings.exchange, testnet=mode == "testnet")
    status = BotStatus(mode=mode)
    alerter = Alerter.from_settings(settings.alerts)
    kill = KillSwitch(kill_file_for(settings.db_path))
    pause = PauseSwitch()
    metrics = Metrics(status, wall_ms, alerter.stats, pause)
    dry_run = mode == "dry-run"
    return Parts(
        mode=mode,
        strategy=strategy,
        monitor=monitor,
        lending=AaveLendingFeed(monitor, account, settings.chain.collateral_asset),
        exchange=exchange,
        mark=CcxtMarkFeed(exchange, BTC_INVERSE_SYMBOL),
        venue=None if dry_run else CcxtVenue(settings.exchange, testnet=mode == "testnet", exchange=exchange),
        paper=paper_account(settings) if dry_run else None,
        leverage=min(getattr(strategy.params, "leverage", 5.0), strategy.leverage_cap, settings.risk.max_leverage),
        margin_mode=settings.exchange.margin_mode,
        journal_path=settings.db_path,
        alerter=alerter,
        status=status,
        kill=kill,
        pause=pause,
        metrics=metrics,
        server=StatusServer.from_settings(settings, status, metrics, kill, pause) if settings.http_port else None,
        telegram=TelegramCommands.from_settings(
            settings.alerts, lambda: live_status(status, kill, pause, wall_ms()), pause, kill
        ),
        config=EngineConfig.from_settings(settings, keep_stops_on_exit),
        alert_rules=rules_from_settings(settings.alerts),
        warmup_days=settings.strategy.warmup_days,
        guardian=Guardian.from_settings(settings, mode, monitor),
    )


async def _paper_venue(parts: Parts) -> PaperVenue:
    """Dry-run's venue: the paper account on the exchange's real instrument, filling at its mark."""
    assert parts.paper is not None
    await parts.exchange.load_markets()
    try:
        instrument = instrument_from_ccxt_market(parts.exchange.id, parts.exchange.market(BTC_INVERSE_SYMBOL))
    except InstrumentError as exc:
        raise ConfigError(str(exc)) from None
    paper = parts.paper
    return PaperVenue.open(
        instrument,
        paper.settings,
        wallet_btc=paper.wallet_btc,
        feed=MarkQuotes(parts.mark),
        state_path=paper.state_path,
        now_ms=wall_ms(),
    )


def prepare(settings: Settings, cli_mode: Mode | None, log_stream: TextIO | None = None) -> Mode:
    """What `hedgebot run` does before building: secrets registered, logging set up, the mode resolved."""
    register_secrets(settings.secrets())
    configure(settings.log.format, settings.log.level, log_stream)
    return resolve_mode(cli_mode, settings)


@dataclass
class Bot:
    engine: Engine
    status_server: StatusServer | None
    guardian: Guardian | None = None  # started; the engine's decision step hands it its defenses


@asynccontextmanager
async def assemble(settings: Settings, mode: Mode, keep_stops_on_exit: bool = True) -> AsyncIterator[Bot]:
    """Every part of a running bot, built, started and connected; closed again on exit whatever happens."""
    register_secrets(settings.secrets())
    parts = build(settings, mode, keep_stops_on_exit)
    async with AsyncExitStack() as stack:
        stack.push_async_callback(parts.monitor.rpc.close)
        stack.push_async_callback(parts.exchange.close)
        venue: Venue = parts.venue if parts.venue is not None else await _paper_venue(parts)
        await venue.connect()
        stack.push_async_callback(venue.close)
        await venue.configure(parts.leverage, parts.margin_mode)
        journal = await AsyncJournal.open(parts.journal_path, wall_ms())
        stack.push_async_callback(journal.close)
        # Every alert's outcome (sent, failed, suppressed...) is journaled: the journal shows what reached a
        # person (B9); a kill is journaled before it takes effect, whatever route it came by (B4).
        parts.alerter.on_outcome = journal.record_alert
        parts.kill.persist = lambda r: journal.record_control("kill", r.source, r.reason, r.ts_ms)
        # A pause is journaled like a kill and holds across a restart; the bot follows the journal, so an
        # offline `hedgebot pause` reaches it too.
        parts.pause.persist = lambda r: journal.record_control(r.action, r.source, r.reason, r.ts_ms)
        parts.pause.on_change = lambda r: parts.alerter.notify(control_alert(r))
        parts.pause.restore((await journal.control_state()).paused)
        follower = asyncio.create_task(parts.pause.follow(journal.control_state), name="pause")
        stack.push_async_callback(_cancel, follower)
        await parts.alerter.start()
        stack.push_async_callback(parts.alerter.close)
        if parts.server is not None:
            await parts.server.start()
            stack.push_async_callback(parts.server.stop)
        if parts.guardian is not None:
            # Exit 2 for an asset the Pool does not list; no reserve or no gas is said and alerted, and
            # the bot hedges on without a defense.
            await parts.guardian.start(journal, parts.alerter.notify)
        else:
            log.warning(
                "no HEDGEBOT_DEFENSE__PRIVATE_KEY: no on-chain defense (the hedge offsets losses, it cannot stop a "
                "liquidation; see the README's Guardian section)"
            )
        if parts.telegram is not None:
            await parts.telegram.start()  # in the background: a Telegram outage never holds up the start
            stack.push_async_callback(parts.telegram.stop)
        engine = Engine(
            strategy=parts.strategy,
            venue=venue,
            lending=parts.lending,
            mark=parts.mark,
            journal=journal,
            status=parts.status,
            kill=parts.kill,
            pause=parts.pause,
            metrics=parts.metrics,
            alerter=parts.alerter,
            alert_rules=parts.alert_rules,
            config=parts.config,
            guardian=parts.guardian,
        )
        engine.venue_leverage = parts.leverage  # set above: a plan the risk layer de-levers changes it
        # Each asset of the account at the beta to BTC the engine measures (its class's fallback until then).
        parts.lending.betas = engine.betas
        # A pause or a resume is a decision trigger: a resumed bot takes up the hedge it held back at once.
        told = parts.pause.on_change

        def on_pause_change(request: ControlRequest) -> None:
            if told is not None:
                told(request)
            engine.trigger(request.action)

        parts.pause.on_change = on_pause_change
        # Public bars, in every mode (dry-run reads them as it reads the public mark); never stops the start.
        await warm_features(
            engine.features,
            parts.exchange,
            BTC_INVERSE_SYMBOL,
            parts.lending.collateral_symbol,
            days=parts.warmup_days,
            bar_ms=engine.config.feature_bar_ms,
        )
        log.info(
            "bot assembled",
            mode=mode,
            strategy=parts.strategy.name,
            exchange=settings.exchange.id,
            instrument=venue.instrument.venue_symbol,
            account=parts.lending.account,
        )
        yield Bot(engine, parts.server, parts.guardian)


def control_alert(request: ControlRequest) -> Alert:
    """The alert that tells a person the bot was paused or resumed, by whom and why."""
    what = "paused: no new orders, stops kept" if request.action == "pause" else "resumed: trading again"
    # Filed with the errors a person must know of, as the kill switch's alert is (bot.domain.alerts has no
    # kind for controls, and the domain is not this change's to widen).
    return Alert(
        AlertKind.ERROR,
        f"control-{request.action}",
        Severity.WARNING,
        f"{what} ({request.source}: {request.reason})",
        request.ts_ms or wall_ms(),
    )


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


def install_signal_handlers(engine: Engine) -> None:
    """SIGINT/SIGTERM: stop new actions, finish the in-flight one, exit 0. A second signal exits at once."""
    loop = asyncio.get_running_loop()
    count = {"n": 0}

    def on_signal(signum: int) -> None:
        count["n"] += 1
        if count["n"] > 1:
            log.warning("second signal: exiting at once", signal=signum)
            os._exit(128 + signum)
        engine.stop_requested.set()  # first: nothing after it (a log line to a closed pipe) may keep the stop from us
        log.info("signal: stopping after the in-flight action", signal=signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, on_signal, sig)


class StartupFailed(HedgebotError):
    """The bot could not start (an exchange, a node, a key, a file): journaled, alerted, exit 1."""


async def run_bot(settings: Settings, mode: Mode, keep_stops_on_exit: bool = True) -> int:
    """Assemble and run the bot; returns the exit code (0 stopped, 3 killed; see the README's exit codes)."""
    refuse_if_killed(settings.db_path, wall_ms())  # before any connection: a killed bot never trades
    stack = AsyncExitStack()
    try:
        await check_settings(settings, mode)
        bot = await stack.enter_async_context(assemble(settings, mode, keep_stops_on_exit))
    except Exception as exc:  # every start-up failure becomes one message, a journal row and an alert (B7)
        await stack.aclose()
        if isinstance(exc, HedgebotError) and not isinstance(exc, VenueError):
            problem, code = str(exc), exc.exit_code
        else:
            problem, code = f"{type(exc).__name__}: {exc}".rstrip(": "), 1
        await report_startup_failure(settings, problem)
        failure = StartupFailed(f"could not start: {problem}")
        failure.exit_code = code
        raise failure from None
    async with stack:
        install_signal_handlers(bot.engine)
        return await bot.engine.run()


async def check_settings(settings: Settings, mode: Mode) -> None:
    """`hedgebot config check`'s checks, before anything connects: a wrong setting ends the start (exit 2) with
    one line naming it, instead of a bot that waits on reads that can never succeed. A node that does not
    answer is only a warning here: the bot's guards wait for it as for any outage."""
    report = await validate(settings, mode, unreachable_is_error=False)
    for finding in report.warnings():
        log.warning("start-up check", check=finding.check, problem=finding.detail)
    report.raise_for_errors()
    checked = [f.check for f in report.findings if f.status != "skipped"]
    log.info("start-up checks passed", checks=", ".join(checked))


async def report_startup_failure(settings: Settings, problem: str) -> None:
    """Journal and alert a failed start (best effort: neither may hide the original message)."""
    alert = Alert(
        AlertKind.ERROR, "error-startup", Severity.CRITICAL, f"hedgebot could not start: {problem}", wall_ms()
    )
    log.error("start-up failed", problem=problem)
    with contextlib.suppress(Exception):
        journal = await AsyncJournal.open(settings.db_path, wall_ms())
        try:
            async with Alerter.from_settings(settings.alerts, on_outcome=journal.record_alert) as alerter:
                await asyncio.wait_for(alerter.send(alert), 15)
        finally:
            await journal.close()
