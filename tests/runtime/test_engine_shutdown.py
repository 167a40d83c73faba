"""A stop (SIGTERM) is bounded even when the venue never answers (C5, C6): the in-flight decision gets its grace,
the exit's cancels their timeout, and the bot exits 1 (it could not reach the venue) instead of hanging.

The venue that never answers is the paper venue whose price source hangs from a given moment: a black-holed
exchange, which `make chaos` produces for real (exchange:slow, rpc:blackhole) and the process test
tests/integration/bot/test_bot_process.py with the local exchange killed.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bot.journal.aio import AsyncJournal
from bot.paper import EngineSettings
from bot.runtime.config import EngineConfig
from bot.runtime.engine import Engine
from bot.venues.ccxt.registry import builtin_instrument
from bot.venues.paper import PaperVenue, Quote
from strategies.base import StrategyParams
from tests.runtime.test_engine_funding import T0, Chain, Clock, Exchange, Hold, until


class BlackHole(Exchange):
    """Quotes until `hang` is set, then never again."""

    hang = False

    async def quote(self) -> Quote:
        if self.hang:
            await asyncio.Event().wait()
        return await super().quote()


async def test_a_stop_with_a_venue_that_never_answers_is_bounded(tmp_path: Path) -> None:
    clock = Clock()
    exchange = BlackHole(clock)
    settings = EngineSettings(slippage_bps=0.0, spread_bps=0.0, leverage=5.0)
    venue = PaperVenue.open(builtin_instrument("binancecoinm"), settings, 0.1, exchange, tmp_path / "paper.json", T0)
    await venue.connect()
    journal = await AsyncJournal.open(tmp_path / "bot.sqlite", T0)
    config = EngineConfig(
        heartbeat_s=0.01, mark_poll_s=0.01, debounce_ms=0, sample_features=False, decision_grace_s=1.0,
        exit_timeout_s=1.5,
    )  # fmt: skip
    engine = Engine(
        strategy=Hold(StrategyParams()), venue=venue, lending=Chain(clock), mark=exchange, journal=journal,
        config=config, clock=clock,
    )  # fmt: skip
    task = asyncio.create_task(engine.run())
    await until(engine, lambda: engine.decisions >= 2)
    exchange.hang = True
    await asyncio.sleep(0.3)  # a decision is now stuck on the venue
    t0 = time.monotonic()
    engine.stop_requested.set()
    code = await asyncio.wait_for(task, 10)
    took = time.monotonic() - t0
    assert code == 1  # it could not reach the venue to cancel: said so by its exit code
    assert took < config.decision_grace_s + config.exit_timeout_s + 1.0, took
    await journal.close()
