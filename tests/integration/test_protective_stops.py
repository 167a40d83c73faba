"""The protective stop on the real ccxt client against the local COIN-M exchange: the engine, the executor and
the exchange's own order book, nothing mocked but the lending feed.

B1/B3: a stop the exchange refuses leaves no short without one: the entry is bought back at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr

from bot.clock import wall_ms
from bot.config import ExchangeSettings
from bot.devnet.exchange import DEFAULT_API_KEY, DEFAULT_API_SECRET, ExchangeServer
from bot.domain.orders import Order, OrderRequest, Side, is_protective_stop
from bot.domain.plan import HedgePlan
from bot.domain.snapshot import Snapshot
from bot.journal.aio import AsyncJournal
from bot.journal.records import OrderState
from bot.plugins import loader as plugins
from bot.runtime.config import EngineConfig
from bot.runtime.engine import Engine
from bot.runtime.feeds import MarkReading
from bot.venues.ccxt.errors import RetryPolicy
from bot.venues.ccxt.venue import CcxtVenue
from bot.venues.reconcile import ENTRY, STOP, role_of
from strategies.base import Strategy, StrategyParams
from tests.runtime.test_engine_funding import Chain

pytestmark = pytest.mark.integration
FAST_RETRY = RetryPolicy(attempts=3, first_delay_s=0.01, max_delay_s=0.05)


class Short(Strategy[StrategyParams]):
    """A 3,000 USD net short (plus the margin's own delta), with the base class's stop."""

    name = "short"
    summary = "a fixed net short"
    risk_class = "test"
    leverage_cap = 20.0
    Params: ClassVar[type[StrategyParams]] = StrategyParams

    def decide(self, snapshot: Snapshot) -> HedgePlan:
        return self.plan(snapshot, 3_000.0, reason="fixed short")


class ExchangeMark:
    """The mark feed, read from the exchange's own mark (as the ccxt mark feed would)."""

    def __init__(self, server: ExchangeServer) -> None:
        self.server = server

    async def read(self) -> MarkReading:
        return MarkReading(self.server.engine.mark, wall_ms(), 0.0001)

    async def close(self) -> None:
        pass


class MarkJumpsAfterEntry(CcxtVenue):
    """The mark jumps to `jump_to` between the entry's fill and the stop's placement (a fast market)."""

    server: ExchangeServer
    jump_to: float | None = None

    async def place(self, order: OrderRequest) -> Order:
        placed = await super().place(order)
        if self.jump_to is not None and role_of(order.client_id) == ENTRY and order.side is Side.SELL:
            self.server.set_mark(self.jump_to)
            self.jump_to = None
        return placed


@dataclass
class LocalBot:
    server: ExchangeServer
    venue: CcxtVenue
    journal: AsyncJournal
    engine: Engine

    def stops(self) -> list[Order]:
        return [o for o in self.server.engine.open_orders() if is_protective_stop(o.type, o.side, o.reduce_only)]

    def short(self) -> int:
        return -self.server.engine.position().contracts

    async def until(self, predicate: Callable[[], bool], timeout_s: float = 20.0) -> None:
        async def wait() -> None:
            async with self.engine.decided:
                await self.engine.decided.wait_for(predicate)

        await asyncio.wait_for(wait(), timeout_s)


def exchange_settings(url: str) -> ExchangeSettings:
    return ExchangeSettings(
        id="binancecoinm",
        api_key=SecretStr(DEFAULT_API_KEY),
        api_secret=SecretStr(DEFAULT_API_SECRET),
        api_url=url,
        margin_mode="isolated",
    )


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ExchangeServer]:
    srv = ExchangeServer(port=0, balance_btc=0.1, mark_price=60_000.0, state_path=tmp_path / "exchange.sqlite")
    await srv.start()
    yield srv
    await srv.stop()


async def local_bot(
    server: ExchangeServer,
    db: Path,
    strategy: Strategy[Any],
    venue_class: type[CcxtVenue] = CcxtVenue,
    config: EngineConfig | None = None,
) -> LocalBot:
    venue = venue_class(exchange_settings(server.url), retry=FAST_RETRY)
    await venue.connect()
    leverage = min(strategy.params.leverage, strategy.leverage_cap)
    await venue.configure(leverage, "isolated")
    journal = await AsyncJournal.open(db, wall_ms())
    engine = Engine(
        strategy=strategy,
        venue=venue,
        lending=Chain(wall_ms),  # type: ignore[arg-type]
        mark=ExchangeMark(server),
        journal=journal,
        config=config or EngineConfig(heartbeat_s=0.05, mark_poll_s=0.02, debounce_ms=0, sample_features=False),
        clock=wall_ms,
    )
    engine.venue_leverage = leverage
    return LocalBot(server, venue, journal, engine)


async def close(bot: LocalBot, task: asyncio.Task[int]) -> None:
    bot.engine.stop_requested.set()
    assert await task == 0
    await bot.journal.close()
    await bot.venue.close()


async def test_a_refused_stop_has_its_entry_bought_back_at_once(server: ExchangeServer, tmp_path: Path) -> None:
    """B3: the entry was sent and filled, its stop refused (-1111 then) and re-sent at every decision: a short with
    no stop. Here the mark jumps past the stop between the entry and the stop: -2021, and the short is cut."""
    bot = await local_bot(
        server, tmp_path / "bot.sqlite", Short(StrategyParams(stop_pct=0.05, leverage=5.0)), MarkJumpsAfterEntry
    )
    assert isinstance(bot.venue, MarkJumpsAfterEntry)
    bot.venue.server = server
    bot.venue.jump_to = 63_500.0  # above the 63,000 stop the plan asks for
    task = asyncio.create_task(bot.engine.run())
    await bot.until(lambda: server.engine.fill_count >= 2)
    await close(bot, task)

    entry, cover = server.engine.fills()[:2]
    assert (entry.side, cover.side) == (Side.SELL, Side.BUY)
    assert cover.contracts == entry.contracts  # the whole entry undone, in the same decision
    assert role_of(cover.client_id) == ENTRY and server.engine.order(cover.client_id).reduce_only  # type: ignore[union-attr]
    with_journal = await AsyncJournal.open(tmp_path / "bot.sqlite", wall_ms())
    orders = await with_journal.call(lambda j: j.orders())
    refused = [o for o in orders if role_of(o.client_id) == STOP and o.state is OrderState.REJECTED]
    assert refused and "trigger" in refused[0].detail  # the exchange's own words: it would trigger now
    keys = [r["key"] for r in await with_journal.call(lambda j: j.rows("SELECT key FROM alerts"))]
    assert "error-protective stop refused: short reduced" in keys
    await with_journal.close()


def seen(bot: LocalBot, price: float) -> Callable[[], bool]:
    """A decision that read `price` from the exchange has finished (its orders are placed)."""
    return lambda: bot.engine.status.hedge is not None and bot.engine.status.hedge.mark_price == price


def one_stop_set(bot: LocalBot) -> None:
    stops = bot.stops()
    assert len(stops) == 1 and stops[0].contracts - stops[0].filled_contracts == bot.short()


async def test_a_rising_mark_never_raises_the_stop_and_a_restart_adds_none(
    server: ExchangeServer, tmp_path: Path
) -> None:
    """C2: the stop was re-placed at mark x 1.12 on every decision and walked past the liquidation price.
    C10: restarts placed a new stop before cancelling the old ones (up to 3 live stops)."""
    bot = await local_bot(server, tmp_path / "bot.sqlite", plugins.load("percentage", {}))
    task = asyncio.create_task(bot.engine.run())
    await bot.until(lambda: bot.short() > 0 and bool(bot.stops()))
    first = bot.stops()[0].trigger_price
    assert first == 69_000.0
    price = 60_000.0
    while price < 68_000.0:
        price = round(price * 1.01, 1)
        server.set_mark(price)
        await bot.until(seen(bot, price))
        one_stop_set(bot)
        [stop] = bot.stops()
        assert stop.trigger_price is not None
        assert price < stop.trigger_price <= first
        assert stop.trigger_price < server.engine.liquidation_price()
    await close(bot, task)
    resting = {o.client_id for o in bot.stops()}

    again = await local_bot(server, tmp_path / "bot.sqlite", plugins.load("percentage", {}))
    task = asyncio.create_task(again.engine.run())
    await again.until(lambda: again.engine.decisions >= 3)
    one_stop_set(again)
    assert {o.client_id for o in again.stops()} == resting  # adopted, nothing added
    await close(again, task)


async def journal_open_orders(db: Path) -> list[Any]:
    journal = await AsyncJournal.open(db, wall_ms())
    try:
        return await journal.call(lambda j: j.orders((OrderState.OPEN,)))
    finally:
        await journal.close()


async def alert_keys(db: Path) -> list[str]:
    journal = await AsyncJournal.open(db, wall_ms())
    try:
        return [r["key"] for r in await journal.call(lambda j: j.rows("SELECT key FROM alerts ORDER BY id"))]
    finally:
        await journal.close()


async def test_the_journal_follows_a_stop_filled_while_the_bot_was_down(server: ExchangeServer, tmp_path: Path) -> None:
    """C11: filled or expired stops stayed "open" in the journal (status listed 6 resting stops where the
    exchange had 1), and fills found after a restart were journaled with no client id."""
    db = tmp_path / "bot.sqlite"
    bot = await local_bot(server, db, Short(StrategyParams(stop_pct=0.05, leverage=5.0)))
    task = asyncio.create_task(bot.engine.run())
    await bot.until(lambda: bot.short() > 0 and bool(bot.stops()))
    [stop] = bot.stops()
    await close(bot, task)

    server.set_mark(63_500.0)  # through the 63,000 stop while no bot runs
    assert bot.short() == 0 and not bot.stops()

    again = await local_bot(server, db, Short(StrategyParams(stop_pct=0.05, leverage=5.0)))
    task = asyncio.create_task(again.engine.run())
    await again.until(lambda: again.short() > 0 and bool(again.stops()))  # it hedges again, with a new stop
    await close(again, task)

    still_open = {o.client_id for o in await journal_open_orders(db)}
    assert still_open == {o.client_id for o in again.stops()}  # the journal lists what the exchange rests
    journal = await AsyncJournal.open(db, wall_ms())
    record = await journal.call(lambda j: j.order(stop.client_id))
    fills = await journal.call(lambda j: j.rows("SELECT client_id, side FROM fills ORDER BY ts_ms"))
    await journal.close()
    assert record is not None and record.state is OrderState.FILLED
    assert [f["client_id"] for f in fills if f["side"] == "buy"] == [stop.client_id]
    assert all(f["client_id"] for f in fills)
    keys = await alert_keys(db)
    assert f"hedge-stopped-{stop.client_id}" in keys
    assert "hedge-reentered" in keys  # B2: a re-entry after a stop-out is said


async def test_a_liquidation_raises_a_critical_alert_at_once_and_so_does_the_reentry(
    server: ExchangeServer, tmp_path: Path
) -> None:
    """B2/C11: the exchange's liquidation fill (autoclose-1) raised only "hedge closed", 17 s late."""
    db = tmp_path / "bot.sqlite"
    bot = await local_bot(server, db, Short(StrategyParams(leverage=10.0)))
    task = asyncio.create_task(bot.engine.run())
    await bot.until(lambda: bot.short() > 0 and bool(bot.stops()))
    liq = server.engine.liquidation_price()
    # The stop is gone (cancelled by hand, say) and the mark runs past the liquidation price at once.
    for order in bot.stops():
        server.engine.cancel(order.client_id)
    server.set_mark(liq * 1.002)
    assert server.engine.liquidations == 1
    await bot.until(lambda: bot.short() > 0 and bool(bot.stops()))  # it hedges again
    await close(bot, task)
    keys = await alert_keys(db)
    assert "hedge-liquidated" in keys and "hedge-reentered" in keys
    assert keys.index("hedge-liquidated") < keys.index("hedge-reentered")
    journal = await AsyncJournal.open(db, wall_ms())
    fills = await journal.call(lambda j: j.rows("SELECT client_id FROM fills"))
    severity = await journal.call(lambda j: j.rows("SELECT severity FROM alerts WHERE key = 'hedge-liquidated'"))
    await journal.close()
    assert "autoclose-1" in [f["client_id"] for f in fills]
    assert severity[0]["severity"] == "critical"
