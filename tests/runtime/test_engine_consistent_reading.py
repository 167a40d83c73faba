"""B6/C3: a decision is priced on one reading, checked after the last await: the account read's own mark."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from bot.domain.plan import HedgePlan
from bot.domain.snapshot import Snapshot
from bot.journal.aio import AsyncJournal
from bot.paper import EngineSettings
from bot.runtime.config import EngineConfig
from bot.runtime.engine import Engine
from bot.runtime.feeds import MarkReading
from bot.venues.ccxt.registry import builtin_instrument
from bot.venues.paper import PaperVenue, Quote
from strategies.base import Strategy, StrategyParams
from tests.runtime.test_engine_funding import T0, Chain, Clock, until


class Short30(Strategy[StrategyParams]):
    name = "short-30"
    summary = "always 30 contracts"
    risk_class = "test"
    leverage_cap = 10.0
    Params: ClassVar[type[StrategyParams]] = StrategyParams

    def decide(self, snapshot: Snapshot) -> HedgePlan:
        return self.plan(snapshot, 3_000.0, reason="30 contracts")


class PolledMark:
    """The mark feed: polled each second, so it can lag the exchange."""

    def __init__(self, clock: Clock, price: float) -> None:
        self.clock, self.price = clock, price

    async def read(self) -> MarkReading:
        return MarkReading(self.price, self.clock(), 0.0001)

    async def close(self) -> None:
        pass


class ExchangeMark:
    """What the exchange's own account read reports as the mark."""

    def __init__(self, clock: Clock, price: float) -> None:
        self.clock, self.price = clock, price

    async def quote(self) -> Quote:
        return Quote(self.clock(), self.price)


async def test_a_jump_seen_only_in_the_account_read_halts_before_any_order(tmp_path: Path) -> None:
    """C3: the bot priced a fresh account with a stale mark and sold 264 contracts after a +50 % jump."""
    clock = Clock()
    polled = PolledMark(clock, 60_000.0)
    on_exchange = ExchangeMark(clock, 60_000.0)
    venue = PaperVenue.open(
        builtin_instrument("binancecoinm"), EngineSettings(slippage_bps=0.0, spread_bps=0.0), 0.1, on_exchange,
        tmp_path / "paper.json", T0,
    )  # fmt: skip
    await venue.connect()
    journal = await AsyncJournal.open(tmp_path / "bot.sqlite", T0)
    config = EngineConfig(heartbeat_s=0.01, mark_poll_s=0.01, debounce_ms=0, sample_features=False)
    engine = Engine(
        strategy=Short30(StrategyParams()), venue=venue, lending=Chain(clock), mark=polled, journal=journal,
        config=config, clock=clock,
    )  # fmt: skip
    task = asyncio.create_task(engine.run())
    await until(engine, lambda: engine.status.hedge is not None and engine.status.hedge.contracts < 0)
    on_exchange.price = 90_000.0  # the exchange moved; the polled feed has not caught up
    venue.engine.move(90_000.0)
    placed = venue.engine.fill_count
    await until(engine, lambda: engine.status.halted)
    seen = engine.decisions
    await until(engine, lambda: engine.decisions >= seen + 3)
    engine.stop_requested.set()
    await task
    assert "BTC mark moved 50.0% from the last trusted 60,000.00" in (engine.status.halt_reason or "")
    assert venue.engine.fill_count == placed  # nothing traded on the inconsistent reading
    await journal.close()
