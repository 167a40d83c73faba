"""Funding through the engine: the paper venue pays it, the heartbeat journals it once, the status shows it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest

from bot.domain import inverse
from bot.domain.inverse import EIGHT_HOURS_MS
from bot.domain.orders import OrderRequest, OrderType, Side
from bot.domain.plan import HedgePlan
from bot.domain.snapshot import LendingView, Snapshot
from bot.journal.aio import AsyncJournal
from bot.paper import EngineSettings
from bot.runtime.config import EngineConfig
from bot.runtime.engine import Engine
from bot.runtime.feeds import LendingReading, MarkReading
from bot.venues.ccxt.registry import builtin_instrument
from bot.venues.paper import PaperVenue, Quote
from strategies.base import Strategy, StrategyParams

T0 = 1_700_006_400_000 + 60_000  # a minute after a funding time
MARK = 60_000.0


class Clock:
    def __init__(self) -> None:
        self.now_ms = T0

    def __call__(self) -> int:
        return self.now_ms


class Chain:
    """A lending position that never changes, on a chain that makes a block every 10 ms."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def read(self) -> LendingReading:
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


class Exchange:
    """The perpetual's mark, steady: the mark feed and the paper venue's quotes."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock

    async def read(self) -> MarkReading:
        return MarkReading(MARK, self.clock(), 0.0001)

    async def quote(self) -> Quote:
        return Quote(self.clock(), MARK)

    async def close(self) -> None:
        pass


class Hold(Strategy[StrategyParams]):
    """Keeps whatever short there is."""

    name = "hold"
    summary = "keep the short"
    risk_class = "test"
    leverage_cap = 10.0
    Params: ClassVar[type[StrategyParams]] = StrategyParams

    def decide(self, snapshot: Snapshot) -> HedgePlan:
        return HedgePlan(hedge_usd=0.0, contracts=-snapshot.hedge.contracts, leverage=5.0, reason="hold")


async def until(engine: Engine, predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    async def wait() -> None:
        async with engine.decided:
            await engine.decided.wait_for(predicate)

    await asyncio.wait_for(wait(), timeout_s)


def paid(engine: Engine) -> float:
    return engine.status.hedge.funding_paid_btc if engine.status.hedge else float("nan")


async def test_funding_paid_on_paper_is_journaled_once_and_shown_in_the_status(tmp_path: Path) -> None:
    clock = Clock()
    exchange = Exchange(clock)
    settings = EngineSettings(slippage_bps=0.0, spread_bps=0.0, leverage=5.0)
    venue = PaperVenue.open(builtin_instrument("binancecoinm"), settings, 0.1, exchange, tmp_path / "paper.json", T0)
    await venue.connect()
    await venue.place(OrderRequest("hbEshort", Side.SELL, OrderType.MARKET, 30))
    journal = await AsyncJournal.open(tmp_path / "bot.sqlite", T0)
    config = EngineConfig(heartbeat_s=0.01, mark_poll_s=0.01, debounce_ms=0, sample_features=False)

    def engine() -> Engine:
        return Engine(
            strategy=Hold(StrategyParams()), venue=venue, lending=Chain(clock), mark=exchange, journal=journal,
            config=config, clock=clock,
        )  # fmt: skip

    bot = engine()
    task = asyncio.create_task(bot.run())
    await until(bot, lambda: bot.status.hedge is not None)
    assert paid(bot) == 0.0

    clock.now_ms = T0 - 60_000 + EIGHT_HOURS_MS + 1_000  # past the next funding time: the short receives 0.01 %
    await until(bot, lambda: paid(bot) != 0.0)
    credited = inverse.funding_btc(-30, 100, MARK, 0.0001)
    assert paid(bot) == pytest.approx(-credited)  # the status counts what the short paid: negative, it received
    [payment] = venue.engine.funding_payments()
    assert (payment.ts_ms, payment.contracts, payment.rate_8h) == (T0 - 60_000 + EIGHT_HOURS_MS, -30, 0.0001)
    seen = bot.decisions
    await until(bot, lambda: bot.decisions >= seen + 3)  # more heartbeats and decisions: counted once
    assert paid(bot) == pytest.approx(-credited)
    bot.stop_requested.set()
    assert await task == 0
    assert await journal.funding_total_btc() == pytest.approx(credited)

    # A restart takes the total from the journal and does not count the payment twice.
    again = engine()
    await again.start()
    await again.sync_funding()
    assert again.funding.paid_btc == pytest.approx(-credited)
    await journal.close()
