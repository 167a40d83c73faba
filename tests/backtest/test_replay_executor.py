"""The replay sends a decision's orders by the executor's rules: a refused protective stop keeps the stop it
was to replace and the short is cut at once to what the resting stops cover, as `hedgebot run` does."""

from __future__ import annotations

from pathlib import Path

from bot.backtest.hedger import _ReplayEdges
from bot.backtest.types import LendingSetup, ReplaySettings, open_loan
from bot.domain.orders import OrderRequest, OrderType, Side
from bot.domain.plan import HedgePlan
from bot.journal.aio import AsyncJournal
from bot.paper import EngineSettings
from bot.paper.engine import PaperEngine
from bot.plugins import loader as plugins
from bot.runtime.executor import Executor
from bot.venues.ccxt.registry import builtin_instrument
from bot.venues.paper import PaperVenue, Quote
from bot.venues.reconcile import Action, Cancel, Place

T0 = 1_700_000_000_000
SHORT = OrderRequest("hbEshort", Side.SELL, OrderType.MARKET, 30)
OLD_STOP = OrderRequest("hbSold", Side.BUY, OrderType.STOP_MARKET, 30, trigger_price=66_000.0, reduce_only=True)
# Grow the short by 10 and protect all 40 with a stop that would trigger at once (below the 60,000 mark).
ACTIONS: list[Action] = [
    Place(OrderRequest("hbEgrow", Side.SELL, OrderType.MARKET, 10)),
    Place(OrderRequest("hbSnew", Side.BUY, OrderType.STOP_MARKET, 40, trigger_price=59_000.0, reduce_only=True)),
    Cancel("hbSold", "stop replaced"),
]


class Market:
    async def quote(self) -> Quote:
        return Quote(T0, 60_000.0)


async def test_a_refused_stop_is_handled_by_the_replay_as_by_the_executor(tmp_path: Path) -> None:
    instrument = builtin_instrument("binancecoinm")
    venue = PaperVenue.open(instrument, EngineSettings(), 0.1, Market(), now_ms=T0)
    await venue.place(SHORT)
    await venue.place(OLD_STOP)
    journal = await AsyncJournal.open(tmp_path / "bot.sqlite", T0)
    try:
        seq = await journal.record_decision(T0, "test", HedgePlan(hedge_usd=4_000.0, contracts=40, leverage=5.0))
        report = await Executor(venue, journal, lambda: T0).execute(seq, ACTIONS)
    finally:
        await journal.close()
    assert report.stop_refused and report.uncovered_closed == 10

    engine = PaperEngine(instrument, EngineSettings(), 0.1, T0)
    engine.move(60_000.0, continuous=False)
    engine.submit(SHORT)
    engine.submit(OLD_STOP)
    setup = LendingSetup()
    edges = _ReplayEdges(
        plugins.load("percentage"), instrument, engine, open_loan(setup, 3_000.0), setup, ReplaySettings()
    )
    edges.seq = seq  # the cover order's id carries the decision's number, as the executor's does
    edges.send(ACTIONS)

    live = venue.engine
    assert [(f.client_id, f.side, f.contracts) for f in engine.fills()] == [
        (f.client_id, f.side, f.contracts) for f in live.fills()
    ]
    assert engine.fills()[-1].side is Side.BUY and engine.fills()[-1].contracts == 10  # the uncovered part
    assert [o.client_id for o in engine.open_orders()] == [o.client_id for o in live.open_orders()] == ["hbSold"]
    assert engine.contracts == live.contracts == -30
    assert edges.rejected == 1
