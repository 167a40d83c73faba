"""A replica that disagrees with the Pool, through the engine: an alert, the status says so, and the strategy
sees the bound price / HF rather than the replica's liquidation price."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from bot.commands.status_cmd import print_status
from bot.domain.plan import HedgePlan
from bot.domain.snapshot import LendingView, Snapshot
from bot.journal.aio import AsyncJournal
from bot.paper import EngineSettings
from bot.runtime.config import EngineConfig
from bot.runtime.engine import Engine
from bot.runtime.feeds import LendingReading
from bot.venues.ccxt.registry import builtin_instrument
from bot.venues.paper import PaperVenue
from strategies.base import StrategyParams
from tests.runtime.test_engine_funding import T0, Clock, Exchange, Hold, until


class Chain:
    """A position whose replica agrees with the Pool until `off` is set (as the lending feed marks it)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.off = False

    async def read(self) -> LendingReading:
        if self.off:  # the lending feed's reading when the replica disagrees: the bound 3,000 / 1.65
            view = LendingView(
                collateral_asset="WETH",
                collateral_amount=2.0,
                collateral_price_usd=3_000.0,
                total_collateral_usd=6_000.0,
                debt_usd=3_000.0,
                health_factor=1.65,
                liquidation_price_usd=3_000.0 / 1.65,
                liquidation_threshold=0.825,
            )
            return LendingReading(view, 1, self.clock(), matches_chain=False)
        view = LendingView(
            collateral_asset="WETH",
            collateral_amount=2.0,
            collateral_price_usd=3_000.0,
            total_collateral_usd=6_000.0,
            debt_usd=3_000.0,
            health_factor=1.65,
            liquidation_price_usd=1_818.0,
            liquidation_threshold=0.825,
        )
        return LendingReading(view, 1, self.clock())

    async def next_block(self) -> int:
        await asyncio.sleep(0.01)
        return 1

    async def close(self) -> None:
        pass


class Seen(Hold):
    """Holds, and keeps the snapshots it was shown."""

    def __init__(self, params: StrategyParams) -> None:
        super().__init__(params)
        self.seen: list[Snapshot] = []

    def decide(self, snapshot: Snapshot) -> HedgePlan:
        self.seen.append(snapshot)
        return super().decide(snapshot)


async def test_the_engine_alerts_and_shows_a_replica_that_disagrees_with_the_pool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clock = Clock()
    exchange = Exchange(clock)
    settings = EngineSettings(slippage_bps=0.0, spread_bps=0.0, leverage=5.0)
    venue = PaperVenue.open(builtin_instrument("binancecoinm"), settings, 0.1, exchange, tmp_path / "paper.json", T0)
    await venue.connect()
    journal = await AsyncJournal.open(tmp_path / "bot.sqlite", T0)
    chain = Chain(clock)
    strategy = Seen(StrategyParams())
    config = EngineConfig(heartbeat_s=0.01, mark_poll_s=0.01, debounce_ms=0, sample_features=False)
    bot = Engine(strategy=strategy, venue=venue, lending=chain, mark=exchange, journal=journal, config=config,
                 clock=clock)  # fmt: skip
    task = asyncio.create_task(bot.run())
    await until(bot, lambda: bot.status.position is not None)
    assert bot.status.to_json(clock())["position"]["matches_chain"] is True

    chain.off = True
    await until(bot, lambda: bot.status.position is not None and bot.status.position.matches_chain is False)
    doc = bot.status.to_json(clock())
    position = doc["position"]
    assert position["liquidation_price_usd"] == 3_000.0 / 1.65
    print_status(doc | {"url": "http://127.0.0.1:8780"})
    assert "NO: the replica disagrees with the Pool" in capsys.readouterr().out
    assert strategy.seen[-1].lending.liquidation_price_usd == 3_000.0 / 1.65
    bot.stop_requested.set()
    assert await task == 0
    await journal.close()
    with closing(sqlite3.connect(tmp_path / "bot.sqlite")) as db:
        keys = [k for (k,) in db.execute("SELECT key FROM alerts ORDER BY id")]
        journaled = [m for (m,) in db.execute("SELECT matches_chain FROM snapshots ORDER BY id")]
    assert keys.count("replica-off") == 1
    assert journaled and journaled[0] == 1  # the snapshot decided on is journaled with its replica's verdict
