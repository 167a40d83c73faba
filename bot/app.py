"""From settings to a running bot: build the feeds, the venue, the journal and the engine, and run them.

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

from bot.clock import wall_ms
from bot.config import Mode, Settings
from bot.domain.instruments import BTC_INVERSE_SYMBOL, InstrumentError, instrument_from_ccxt_market
from bot.domain.risk import RiskLimits
from bot.errors import ConfigError
from bot.journal.aio import AsyncJournal
from bot.log import get_logger, register_secrets
from bot.monitors.aave import AaveMonitor
from bot.monitors.history import warm_features
from bot.monitors.lending_feed import AaveLendingFeed
from bot.monitors.mark import CcxtMarkFeed
from bot.monitors.rpc import RpcPool
from bot.ops.alert_rules import AlertRules
from bot.ops.alerts import Alerter
from bot.ops.http import StatusServer
from bot.ops.kill import KillSwitch, kill_file_for
from bot.ops.metrics import Metrics
from bot.ops.status import BotStatus
from bot.paper.orders import EngineSettings
from bot.plugins import loader as plugins
from bot.runtime.config import EngineConfig
from bot.runtime.engine import Engine
from bot.runtime.guards import GuardLimits
from bot.venues.base import Venue
from bot.venues.ccxt.client import build_exchange
from bot.venues.ccxt.venue import CcxtVenue
from bot.venues.paper import PaperVenue, Quote
from bot.venues.reconcile import ReconcileSettings

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


def engine_config(settings: Settings, keep_stops_on_exit: bool = True) -> EngineConfig:
    risk = settings.risk
    return EngineConfig(
        guard=GuardLimits(
            stale_block_ms=int(settings.chain.stale_block_s * 1000),
            max_price_jump=risk.max_price_jump,
            max_oracle_divergence=risk.max_oracle_divergence,
        ),
        risk=RiskLimits(risk.max_leverage, risk.max_notional_usd, risk.max_capital_at_risk, risk.default_stop_pct),
        reconcile=ReconcileSettings(settings.exchange.min_change_contracts, settings.exchange.stop_move_bps),
        keep_stops_on_exit=keep_stops_on_exit,
        close_on_kill=settings.kill_closes_hedge,
    )


def _chain_settings(settings: Settings) -> tuple[list[str], str, str]:
    chain = settings.chain
    missing = [
        name
        for name, value in (
            ("HEDGEBOT_CHAIN__RPC_URLS", chain.rpc_urls),
            ("HEDGEBOT_CHAIN__POOL_ADDRESSES_PROVIDER", chain.pool_addresses_provider),
            ("HEDGEBOT_CHAIN__ACCOUNTS", chain.accounts),
        )
        if not value
    ]
    if missing:
        raise ConfigError(f"{', '.join(missing)} not set: the bot needs the chain, the Aave market and the account")
    if len(chain.accounts) != 1:
        raise ConfigError(
            f"HEDGEBOT_CHAIN__ACCOUNTS lists {len(chain.accounts)} accounts: `run` hedges exactly one "
            "(run one bot per account, each on its own exchange sub-account; `hedgebot health` watches many)"
        )
    assert chain.pool_addresses_provider is not None
    return [u.get_secret_value() for u in chain.rpc_urls], chain.pool_addresses_provider, chain.accounts[0]


@dataclass
class Bot:
    engine: Engine
    status_server: StatusServer | None


@asynccontextmanager
async def assemble(settings: Settings, mode: Mode, keep_stops_on_exit: bool = True) -> AsyncIterator[Bot]:
    """Every part of a running bot, connected; closed again on exit whatever happens."""
    register_secrets(settings.secrets())
    strategy = plugins.load(settings.strategy.name, settings.strategy.params)
    urls, provider, account = _chain_settings(settings)
    async with AsyncExitStack() as stack:
        chain = settings.chain
        rpc = RpcPool(urls, chain.call_timeout_s, chain.requests_per_second, chain.poll_interval_s)
        stack.push_async_callback(rpc.close)
        monitor = AaveMonitor(rpc, provider, stale_block_s=chain.stale_block_s)
        lending = AaveLendingFeed(monitor, account, chain.collateral_asset)
        exchange = build_exchange(settings.exchange, testnet=mode == "testnet")
        stack.push_async_callback(exchange.close)
        mark = CcxtMarkFeed(exchange, BTC_INVERSE_SYMBOL)
        venue: Venue
        if mode == "dry-run":
            await exchange.load_markets()
            try:
                instrument = instrument_from_ccxt_market(settings.exchange.id, exchange.market(BTC_INVERSE_SYMBOL))
            except InstrumentError as exc:
                raise ConfigError(str(exc)) from None
            paper = settings.paper
            venue = PaperVenue.open(
                instrument,
                EngineSettings(
                    maker_fee=paper.maker_fee,
                    taker_fee=paper.taker_fee,
                    slippage_bps=paper.slippage_bps,
                    margin_mode=settings.exchange.margin_mode,
                ),
                wallet_btc=paper.balance_btc,
                feed=MarkQuotes(mark),
                state_path=settings.db_path.with_name(settings.db_path.name + ".paper.json"),
                now_ms=wall_ms(),
            )
        else:
            venue = CcxtVenue(settings.exchange, testnet=mode == "testnet", exchange=exchange)
        await venue.connect()
        stack.push_async_callback(venue.close)
        leverage = min(getattr(strategy.params, "leverage", 5.0), strategy.leverage_cap, settings.risk.max_leverage)
        await venue.configure(leverage, settings.exchange.margin_mode)
        journal = await AsyncJournal.open(settings.db_path, wall_ms())
        stack.push_async_callback(journal.close)
        alerter = Alerter.from_settings(settings.alerts)
        await alerter.start()
        stack.push_async_callback(alerter.close)
        status = BotStatus(mode=mode)
        kill = KillSwitch(kill_file_for(settings.db_path))
        metrics = Metrics(status, wall_ms, alerter.stats)
        server = None
        if settings.http_port:
            server = StatusServer.from_settings(settings, status, metrics, kill)
            await server.start()
            stack.push_async_callback(server.stop)
        engine = Engine(
            strategy=strategy,
            venue=venue,
            lending=lending,
            mark=mark,
            journal=journal,
            status=status,
            kill=kill,
            metrics=metrics,
            alerter=alerter,
            alert_rules=AlertRules.of(settings.alerts.health_levels),
            config=engine_config(settings, keep_stops_on_exit),
        )
        # Public bars, in every mode (dry-run reads them as it reads the public mark); never stops the start.
        await warm_features(
            engine.features,
            exchange,
            BTC_INVERSE_SYMBOL,
            chain.collateral_asset,
            days=settings.strategy.warmup_days,
            bar_ms=engine.config.feature_bar_ms,
        )
        log.info(
            "bot assembled",
            mode=mode,
            strategy=strategy.name,
            exchange=settings.exchange.id,
            instrument=venue.instrument.venue_symbol,
            account=account,
        )
        yield Bot(engine, server)


def install_signal_handlers(engine: Engine) -> None:
    """SIGINT/SIGTERM: stop new actions, finish the in-flight one, exit 0. A second signal exits at once."""
    loop = asyncio.get_running_loop()
    count = {"n": 0}

    def on_signal(signum: int) -> None:
        count["n"] += 1
        if count["n"] > 1:
            log.warning("second signal: exiting at once", signal=signum)
            os._exit(128 + signum)
        log.info("signal: stopping after the in-flight action", signal=signum)
        engine.stop_requested.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, on_signal, sig)


async def run_bot(settings: Settings, mode: Mode, keep_stops_on_exit: bool = True) -> int:
    async with assemble(settings, mode, keep_stops_on_exit) as bot:
        install_signal_handlers(bot.engine)
        return await bot.engine.run()
