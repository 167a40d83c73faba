"""The resting protective stops, decision by decision, on the paper venue.

C2: a rising mark never raises the resting stop, and it never sits at or beyond the short's liquidation price.
C10: after every decision, and after a restart, exactly one protective-stop set rests (new stops placed before
the ones they replace are cancelled, in the same decision; a restart adopts, it does not add).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from bot.domain.orders import Order, OrderRequest, OrderType, Side, is_protective_stop
from bot.domain.plan import HedgePlan, StopTranche
from bot.domain.risk import RiskLimits
from bot.domain.snapshot import Snapshot
from bot.journal.aio import AsyncJournal
from bot.paper import EngineSettings
from bot.plugins import loader as plugins
from bot.runtime.config import EngineConfig
from bot.runtime.engine import Engine
from bot.runtime.feeds import MarkReading
from bot.venues.ccxt.registry import builtin_instrument
from bot.venues.paper import PaperVenue, Quote
from bot.venues.reconcile import STOP, role_of
from strategies.base import Strategy, StrategyParams
from tests.runtime.test_engine_funding import T0, Chain, Clock

LIMITS = RiskLimits()


class Market:
    """One mark for the bot's feed and the paper venue's quotes; the test moves it."""

    def __init__(self, clock: Clock, price: float) -> None:
        self.clock, self.price = clock, price

    async def read(self) -> MarkReading:
        return MarkReading(self.price, self.clock(), 0.0001)

    async def quote(self) -> Quote:
        return Quote(self.clock(), self.price)

    async def close(self) -> None:
        pass


class Setup:
    def __init__(self, tmp_path: Path, strategy: str = "percentage") -> None:
        self.clock = Clock()
        self.market = Market(self.clock, 60_000.0)
        settings = EngineSettings(slippage_bps=0.0, spread_bps=0.0, leverage=5.0, margin_mode="isolated")
        self.venue = PaperVenue.open(
            builtin_instrument("binancecoinm"), settings, 0.1, self.market, tmp_path / "paper.json", T0
        )
        self.db = tmp_path / "bot.sqlite"
        self.strategy = strategy
        self.journal: AsyncJournal | None = None

    async def engine(self) -> Engine:
        await self.venue.connect()
        if self.journal is None:
            self.journal = await AsyncJournal.open(self.db, T0)
        config = EngineConfig(heartbeat_s=0.01, mark_poll_s=0.01, debounce_ms=0, sample_features=False)
        return Engine(
            strategy=plugins.load(self.strategy, {}), venue=self.venue, lending=Chain(self.clock), mark=self.market,
            journal=self.journal, config=config, clock=self.clock,
        )  # fmt: skip

    def stops(self) -> list[Order]:
        return [
            o
            for o in self.venue.engine.open_orders()
            if role_of(o.client_id) == STOP and is_protective_stop(o.type, o.side, o.reduce_only)
        ]

    def short(self) -> int:
        return -self.venue.engine.contracts


async def until(engine: Engine, predicate: Callable[[], bool], timeout_s: float = 10.0) -> None:
    async def wait() -> None:
        async with engine.decided:
            await engine.decided.wait_for(predicate)

    await asyncio.wait_for(wait(), timeout_s)


def seen(engine: Engine, price: float) -> Callable[[], bool]:
    """A decision that read `price` from the venue has finished (its orders are placed)."""
    return lambda: engine.status.hedge is not None and engine.status.hedge.mark_price == price


def one_stop_set(setup: Setup, engine: Engine) -> None:
    """Exactly the plan's tranches rest, covering exactly the short."""
    plan = engine.status.last_decision
    assert plan is not None
    stops = setup.stops()
    assert sum(o.contracts - o.filled_contracts for o in stops) == setup.short()
    assert len(stops) == 1  # percentage has one tranche


async def test_a_rising_mark_never_raises_the_resting_stop_nor_past_liquidation(tmp_path: Path) -> None:
    setup = Setup(tmp_path)
    engine = await setup.engine()
    task = asyncio.create_task(engine.run())
    await until(engine, lambda: setup.short() > 0 and bool(setup.stops()))
    first = setup.stops()[0].trigger_price
    assert first == 69_000.0  # 15 % above 60,000
    price = 60_000.0
    while price < 68_000.0:  # up 13 %, in 1 % steps, short of the stop
        price = round(price * 1.01, 1)
        setup.market.price = price
        await until(engine, seen(engine, price))
        one_stop_set(setup, engine)
        liq = setup.venue.engine.liquidation_price()
        for stop in setup.stops():
            assert stop.trigger_price is not None
            assert price < stop.trigger_price <= first  # never raised (before: 15 % above each new mark)
            assert stop.trigger_price < liq * (1 - LIMITS.liquidation_buffer)
    engine.stop_requested.set()
    assert await task == 0
    assert setup.journal is not None
    await setup.journal.close()


async def test_one_stop_set_after_every_decision_and_after_a_restart(tmp_path: Path) -> None:
    setup = Setup(tmp_path)
    engine = await setup.engine()
    task = asyncio.create_task(engine.run())
    await until(engine, lambda: setup.short() > 0 and bool(setup.stops()))
    for price in (59_000.0, 57_000.0, 58_000.0, 55_000.0, 56_000.0):  # falls lower the stop: replacements
        setup.market.price = price
        await until(engine, seen(engine, price))
        one_stop_set(setup, engine)
    engine.stop_requested.set()
    assert await task == 0
    resting = {o.client_id for o in setup.stops()}

    # A kill between a new stop's acceptance and the old one's cancel leaves two sets resting.
    extra = OrderRequest("hbSkilledmidway", Side.BUY, OrderType.STOP_MARKET, setup.short(), 63_000.0, 63_000.0, True)
    await setup.venue.place(extra)
    assert len(setup.stops()) == 2

    again = await setup.engine()
    task = asyncio.create_task(again.run())
    await until(again, lambda: again.decisions >= 3)
    one_stop_set(setup, again)
    # Adopted, nothing added: the lower of the two (the safer) is kept, the other cancelled.
    assert {o.client_id for o in setup.stops()} == {"hbSkilledmidway"}
    assert not resting & {o.client_id for o in setup.stops()}
    again.stop_requested.set()
    assert await task == 0
    assert setup.journal is not None
    await setup.journal.close()


class Levered(Strategy[StrategyParams]):
    """30 contracts at 100x with a stop 5 % up: far beyond the 0.6 % to its isolated liquidation price."""

    name = "levered"
    summary = "100x"
    risk_class = "test"
    leverage_cap = 125.0
    Params: ClassVar[type[StrategyParams]] = StrategyParams

    def decide(self, snapshot: Snapshot) -> HedgePlan:
        stop = StopTranche(snapshot.btc_price * 1.05, 30)
        return HedgePlan(hedge_usd=3_000.0, contracts=30, leverage=100.0, stops=(stop,), reason="100x")


async def test_a_plan_the_risk_layer_de_levers_is_traded_at_that_leverage(tmp_path: Path) -> None:
    """At 100x the isolated liquidation price is 0.6 % above the entry: no stop fits 1 % below it. The risk
    layer lowers the leverage, and the venue is set to it before the order, so the stop is below liquidation."""
    setup = Setup(tmp_path)
    setup.venue.engine.configure(100.0, "isolated")
    engine = await setup.engine()
    engine.strategy = Levered(StrategyParams())
    engine.config = EngineConfig(
        heartbeat_s=0.01, mark_poll_s=0.01, debounce_ms=0, sample_features=False,
        risk=RiskLimits(max_leverage=125.0, max_notional_usd=1e9),
    )  # fmt: skip
    engine.venue_leverage = 100.0
    task = asyncio.create_task(engine.run())
    await until(engine, lambda: setup.short() > 0 and bool(setup.stops()))
    engine.stop_requested.set()
    assert await task == 0
    assert setup.journal is not None
    reasons = [r["reason"] for r in await setup.journal.call(lambda j: j.rows("SELECT reason FROM decisions"))]
    await setup.journal.close()
    assert "leverage lowered to" in reasons[0]
    # The short was opened at the lowered leverage: its liquidation price leaves room for the stop below it.
    liq = setup.venue.engine.liquidation_price()
    assert liq > 60_000.0 * 1.01
    [stop] = setup.stops()
    assert stop.trigger_price is not None
    assert 60_000.0 < stop.trigger_price < liq
