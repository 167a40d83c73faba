"""Chaos `data:oracle-zero`: a zeroed oracle makes the Pool revert every account read. The bot then traded (it
re-placed its stops) on the last good reading until the 10 s stale-block limit; a failing read now halts at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.domain.orders import Order, OrderRequest
from bot.journal.aio import AsyncJournal
from bot.paper import EngineSettings
from bot.runtime.config import EngineConfig
from bot.runtime.engine import Engine
from bot.runtime.feeds import LendingReading
from bot.venues.ccxt.registry import builtin_instrument
from bot.venues.paper import PaperVenue
from strategies.base import StrategyParams
from tests.runtime.test_engine_consistent_reading import ExchangeMark, PolledMark, Short30
from tests.runtime.test_engine_funding import T0, Chain, Clock, until


class RevertingChain(Chain):
    """The lending position, until `failing`: then every read reverts, as the Pool's does on a zero answer."""

    failing = False

    async def read(self) -> LendingReading:
        if self.failing:
            raise RuntimeError("getUserAccountData(0xB0b) failed at block 317")
        return await super().read()


async def test_a_failing_lending_read_halts_at_once_and_nothing_is_sent(tmp_path: Path) -> None:
    clock = Clock()
    polled, on_exchange = PolledMark(clock, 60_000.0), ExchangeMark(clock, 60_000.0)
    venue = PaperVenue.open(
        builtin_instrument("binancecoinm"), EngineSettings(slippage_bps=0.0, spread_bps=0.0), 0.1, on_exchange,
        tmp_path / "paper.json", T0,
    )  # fmt: skip
    await venue.connect()
    journal = await AsyncJournal.open(tmp_path / "bot.sqlite", T0)
    chain = RevertingChain(clock)
    config = EngineConfig(heartbeat_s=0.01, mark_poll_s=0.01, debounce_ms=0, sample_features=False)
    engine = Engine(
        strategy=Short30(StrategyParams()), venue=venue, lending=chain, mark=polled, journal=journal,
        config=config, clock=clock,
    )  # fmt: skip
    task = asyncio.create_task(engine.run())
    await until(engine, lambda: engine.status.hedge is not None and engine.status.hedge.contracts < 0)
    placed = venue.engine.fill_count
    sent: list[str] = []
    real_place = venue.place

    async def place(order: OrderRequest) -> Order:  # the real venue's, counted
        sent.append(order.client_id)
        return await real_place(order)

    venue.place = place  # type: ignore[method-assign]
    chain.failing = True
    await until(engine, lambda: engine.status.halted)
    # The mark falls 1 % a step: a trailing stop would be re-placed at each (it was, on the last good reading).
    for _ in range(5):
        on_exchange.price = polled.price = polled.price * 0.99
        venue.engine.move(polled.price)
        seen = engine.decisions
        await until(engine, lambda seen=seen: engine.decisions > seen)  # type: ignore[misc]
    assert sent == []  # not a stop re-placed on the reading before the failure
    assert engine.status.halted
    assert "the lending feed's last read failed" in (engine.status.halt_reason or "")
    assert venue.engine.fill_count == placed
    chain.failing = False
    await until(engine, lambda: not engine.status.halted)
    engine.stop_requested.set()
    await task
    await journal.close()
