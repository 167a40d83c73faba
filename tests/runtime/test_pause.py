"""Paused: the bot keeps deciding, keeps the stops of the short it holds, and sends nothing that adds to it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from bot.domain.orders import AccountState, Order, OrderStatus, OrderType, Position, Side
from bot.domain.plan import ConditionalEntry, HedgePlan, StopTranche
from bot.domain.snapshot import Snapshot
from bot.journal.aio import AsyncJournal
from bot.journal.journal import Journal
from bot.ops.pause import PauseSwitch
from bot.paper import EngineSettings
from bot.runtime.config import EngineConfig
from bot.runtime.engine import Engine
from bot.runtime.pause import held_plan, while_paused
from bot.venues.ccxt.registry import builtin_instrument
from bot.venues.paper import PaperVenue
from bot.venues.reconcile import Cancel, Place, reconcile
from strategies.base import Strategy, StrategyParams
from tests.runtime.test_engine_funding import T0, Chain, Clock, Exchange, until

INSTRUMENT = builtin_instrument("binancecoinm")
MARK = 60_000.0


def resting(cid: str, side: Side, type_: OrderType, contracts: int, trigger: float, reduce_only: bool) -> Order:
    return Order(cid, "v-" + cid, side, type_, contracts, 0, OrderStatus.OPEN, None, trigger, reduce_only)


def account(short: int, *orders: Order) -> AccountState:
    return AccountState(0.1, Position(-short, 61_000.0, 0.0), orders, MARK)


def wants(contracts: int, stop: float = 66_000.0, conditional: tuple[ConditionalEntry, ...] = ()) -> HedgePlan:
    return HedgePlan(
        hedge_usd=contracts * 100.0,
        contracts=contracts,
        leverage=5.0,
        stops=(StopTranche(stop, contracts),),
        conditional=conditional,
        reason=f"hedge {contracts}",
    )


def described(actions: list[Place | Cancel]) -> list[str]:
    out = []
    for a in actions:
        if isinstance(a, Cancel):
            out.append(f"cancel {a.client_id}")
        else:
            o = a.order
            out.append(f"{o.side} {o.type} {o.contracts}{' reduce-only' if o.reduce_only else ''}")
    return out


def paused(plan: HedgePlan, held: AccountState) -> list[str]:
    """What the engine sends while paused: toward the short held, nothing that adds to it."""
    return described(while_paused(reconcile(held_plan(plan, held), held, INSTRUMENT, 7), held))


def test_a_paused_bot_that_would_grow_the_short_only_moves_the_stops_of_what_it_holds() -> None:
    held = account(30, resting("hbSold", Side.BUY, OrderType.STOP_MARKET, 30, 66_000.0, True))
    plan = wants(50, stop=64_000.0)
    assert described(reconcile(plan, held, INSTRUMENT, 7)) == [
        "sell market 20",
        "buy stop_market 50 reduce-only",
        "cancel hbSold",
    ]
    assert paused(plan, held) == ["buy stop_market 30 reduce-only", "cancel hbSold"]
    assert held_plan(plan, held).stops == (StopTranche(64_000.0, 30),)


def test_a_paused_bot_still_reduces() -> None:
    held = account(30, resting("hbSold", Side.BUY, OrderType.STOP_MARKET, 30, 66_000.0, True))
    assert paused(wants(10), held) == described(reconcile(wants(10), held, INSTRUMENT, 7))
    assert paused(wants(10), held)[0] == "buy market 20 reduce-only"


def test_pausing_cancels_our_resting_sells_and_leaves_anothers_order() -> None:
    held = account(
        30,
        resting("hbSstop", Side.BUY, OrderType.STOP_MARKET, 30, 66_000.0, True),
        resting("hbClayer", Side.SELL, OrderType.STOP_MARKET, 10, 55_000.0, False),
        resting("manual-1", Side.SELL, OrderType.LIMIT, 5, 70_000.0, False),
    )
    plan = wants(30, conditional=(ConditionalEntry(55_000.0, 10, 58_000.0),))
    # A resting layer could add to the short: cancelled, paused or not (conditional entries never rest: C5).
    assert described(reconcile(plan, held, INSTRUMENT, 7)) == ["cancel hbClayer"]
    assert paused(plan, held) == ["cancel hbClayer"]
    # The filter alone, whatever the reconciler said, never lets a sell through.
    sell = reconcile(wants(50), account(30), INSTRUMENT, 7)
    assert "sell market 20" in described(sell) and "sell market 20" not in described(while_paused(sell, account(30)))


def test_a_flat_paused_bot_places_nothing() -> None:
    assert paused(wants(30), account(0)) == []


class Wants(Strategy[StrategyParams]):
    name = "wants"
    summary = "asks for a fixed hedge"
    risk_class = "test"
    leverage_cap = 10.0
    Params: ClassVar[type[StrategyParams]] = StrategyParams
    contracts: ClassVar[int] = 30

    def decide(self, snapshot: Snapshot) -> HedgePlan:
        return wants(self.contracts)


async def test_the_engine_holds_while_paused_and_hedges_once_resumed(tmp_path: Path) -> None:
    clock = Clock()
    exchange = Exchange(clock)
    venue = PaperVenue.open(INSTRUMENT, EngineSettings(leverage=5.0), 0.1, exchange, tmp_path / "paper.json", T0)
    await venue.connect()
    journal = await AsyncJournal.open(tmp_path / "bot.sqlite", T0)
    pause = PauseSwitch(persist=lambda r: journal.record_control(r.action, r.source, r.reason, r.ts_ms))
    await pause.pause("watching only", "cli", T0)
    config = EngineConfig(heartbeat_s=0.01, mark_poll_s=0.01, debounce_ms=0, sample_features=False)
    engine = Engine(
        strategy=Wants(StrategyParams()), venue=venue, lending=Chain(clock), mark=exchange, journal=journal,
        pause=pause, config=config, clock=clock,
    )  # fmt: skip
    task = asyncio.create_task(engine.run())
    await until(engine, lambda: engine.decisions >= 5)
    assert (await venue.account()).position.contracts == 0
    assert (await venue.account()).open_orders == ()
    assert engine.status.last_decision is not None and engine.status.last_decision.target_contracts == 30

    await pause.resume("back", "cli", clock())
    await until(engine, lambda: engine.status.hedge is not None and engine.status.hedge.contracts == -30)
    engine.stop_requested.set()
    assert await task == 0
    assert [o.trigger_price for o in (await venue.account()).open_orders] == [66_000.0]
    await journal.close()
    with Journal.open_readonly(tmp_path / "bot.sqlite") as j:
        rows = [(r["action"], r["source"], r["reason"]) for r in j.rows("SELECT * FROM controls ORDER BY id")]
    assert rows == [("pause", "cli", "watching only"), ("resume", "cli", "back")]


async def test_the_switch_follows_a_pause_journaled_by_another_process(tmp_path: Path) -> None:
    journal = await AsyncJournal.open(tmp_path / "bot.sqlite", T0)
    changes: asyncio.Queue[str] = asyncio.Queue()
    pause = PauseSwitch(on_change=lambda r: changes.put_nowait(r.action))
    pause.restore((await journal.control_state()).paused)
    follower = asyncio.create_task(pause.follow(journal.control_state, interval_s=0.01))
    try:
        with Journal.open(tmp_path / "bot.sqlite", T0) as other:  # `hedgebot pause` with the bot's HTTP off
            other.record_control("pause", "cli", "offline", T0)
        assert await asyncio.wait_for(changes.get(), 5) == "pause"
        assert pause.paused and pause.request is not None and pause.request.reason == "offline"
        with Journal.open(tmp_path / "bot.sqlite", T0) as other:
            other.record_control("resume", "cli", "offline", T0)
        assert await asyncio.wait_for(changes.get(), 5) == "resume"
        assert not pause.paused
    finally:
        follower.cancel()
        await journal.close()
