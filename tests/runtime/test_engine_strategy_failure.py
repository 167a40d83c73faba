"""B8: a strategy that raises or returns garbage halts trading, alerts once, names itself, keeps the stops."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import Any, ClassVar

import pytest

from bot.domain.orders import OrderRequest, OrderType, Side
from bot.domain.plan import HedgePlan, StopTranche, plan_problem
from bot.domain.snapshot import Snapshot
from bot.journal.aio import AsyncJournal
from bot.paper import EngineSettings
from bot.runtime.config import EngineConfig
from bot.runtime.engine import Engine
from bot.venues.ccxt.registry import builtin_instrument
from bot.venues.paper import PaperVenue
from strategies.base import Strategy, StrategyParams
from tests.runtime.test_engine_funding import T0, Chain, Clock, Exchange, until


class Broken(Strategy[StrategyParams]):
    name = "broken"
    summary = "fails as told"
    risk_class = "test"
    leverage_cap = 10.0
    Params: ClassVar[type[StrategyParams]] = StrategyParams
    answer: ClassVar[Any] = None

    def decide(self, snapshot: Snapshot) -> HedgePlan:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer  # type: ignore[no-any-return]


GARBAGE = {
    "raises": (ZeroDivisionError("float division by zero"), "raised ZeroDivisionError: float division by zero"),
    "nan hedge": (HedgePlan(hedge_usd=math.nan, contracts=0, leverage=5.0), "non-finite hedge_usd"),
    "not a plan": ({"contracts": 10}, "returned dict, not a HedgePlan"),
    "negative stop": (
        HedgePlan(hedge_usd=1e12, contracts=2500, leverage=5.0, stops=(StopTranche(-5.0, 2500),)),
        "a stop at -5.0",
    ),
}


@pytest.mark.parametrize("case", sorted(GARBAGE))
async def test_a_failing_strategy_halts_alerts_once_and_keeps_the_stops(tmp_path: Path, case: str) -> None:
    answer, said = GARBAGE[case]
    clock = Clock()
    exchange = Exchange(clock)
    settings = EngineSettings(slippage_bps=0.0, spread_bps=0.0, leverage=5.0)
    venue = PaperVenue.open(builtin_instrument("binancecoinm"), settings, 0.1, exchange, tmp_path / "paper.json", T0)
    await venue.connect()
    await venue.place(OrderRequest("hbEshort", Side.SELL, OrderType.MARKET, 30))
    await venue.place(
        OrderRequest("hbSstop", Side.BUY, OrderType.STOP_MARKET, 30, trigger_price=66_000.0, reduce_only=True)
    )
    journal = await AsyncJournal.open(tmp_path / "bot.sqlite", T0)
    config = EngineConfig(heartbeat_s=0.01, mark_poll_s=0.01, debounce_ms=0, sample_features=False)
    Broken.answer = answer
    engine = Engine(
        strategy=Broken(StrategyParams()), venue=venue, lending=Chain(clock), mark=exchange, journal=journal,
        config=config, clock=clock,
    )  # fmt: skip
    task = asyncio.create_task(engine.run())
    await until(engine, lambda: engine.status.halted)
    seen = engine.decisions
    await until(engine, lambda: engine.decisions >= seen + 5)  # heartbeats keep coming; it stays halted
    engine.stop_requested.set()
    assert await task == 0
    reason = engine.status.halt_reason or ""
    assert reason.startswith("strategy broken ") and said in reason
    account = await venue.account()
    assert account.position.contracts == -30
    assert [(o.client_id, o.trigger_price) for o in account.open_orders] == [("hbSstop", 66_000.0)]
    alerts = [r["key"] for r in await journal.call(lambda j: j.rows("SELECT key FROM alerts"))]
    assert alerts.count("error-strategy failed: trading stopped, stops kept") == 1
    await journal.close()


def test_a_good_plan_has_no_problem() -> None:
    assert (
        plan_problem(HedgePlan(hedge_usd=1000.0, contracts=10, leverage=5.0, stops=(StopTranche(66_000.0, 10),)))
        is None
    )
