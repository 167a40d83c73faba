"""B15: 728 -> 727 traded seconds after a trade, each with a market order, a stop replacement and an alert."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import ClassVar

from bot.domain.orders import Side
from bot.domain.plan import HedgePlan, StopTranche
from bot.domain.rebalance import ChangePolicy
from bot.domain.snapshot import Snapshot
from bot.journal.aio import AsyncJournal
from bot.paper import EngineSettings
from bot.runtime.config import EngineConfig
from bot.runtime.engine import Engine
from bot.venues.ccxt.registry import builtin_instrument
from bot.venues.paper import PaperVenue
from strategies.base import Strategy, StrategyParams
from tests.runtime.test_engine_funding import T0, Chain, Clock, Exchange, until


class Wobble(Strategy[StrategyParams]):
    """728 contracts, then 727, 728, 727...: a target that rounding moves by one contract each decision."""

    name = "wobble"
    summary = "a target that moves by one contract"
    risk_class = "test"
    leverage_cap = 10.0
    Params: ClassVar[type[StrategyParams]] = StrategyParams

    def decide(self, snapshot: Snapshot) -> HedgePlan:
        n = int(snapshot.state.get("n", 0) or 0)
        contracts = 728 - n % 2
        return HedgePlan(
            hedge_usd=contracts * 100.0, contracts=contracts, leverage=10.0,
            stops=(StopTranche(65_000.0, contracts),), reason=f"wobble {contracts}", state={"n": n + 1},
        )  # fmt: skip


async def test_a_one_contract_wobble_right_after_a_trade_is_not_traded(tmp_path: Path) -> None:
    clock = Clock()
    exchange = Exchange(clock)
    settings = EngineSettings(slippage_bps=0.0, spread_bps=0.0, leverage=10.0, margin_mode="isolated")
    venue = PaperVenue.open(builtin_instrument("binancecoinm"), settings, 2.0, exchange, tmp_path / "paper.json", T0)
    await venue.connect()
    journal = await AsyncJournal.open(tmp_path / "bot.sqlite", T0)
    config = EngineConfig(
        heartbeat_s=0.01, mark_poll_s=0.01, debounce_ms=0, sample_features=False,
        change=ChangePolicy(min_change_contracts=1, band=0.02, cooldown_ms=30_000),
    )  # fmt: skip
    engine = Engine(
        strategy=Wobble(StrategyParams()), venue=venue, lending=Chain(clock), mark=exchange, journal=journal,
        config=config, clock=clock,
    )  # fmt: skip
    task = asyncio.create_task(engine.run())
    await until(engine, lambda: engine.decisions >= 12)
    engine.stop_requested.set()
    assert await task == 0
    sells = [f for f in venue.engine.fills() if f.side is Side.SELL]
    assert [(f.side, f.contracts) for f in venue.engine.fills()] == [(Side.SELL, 728)]  # one trade, no churn
    assert len(sells) == 1
    stops = [o for o in venue.engine.open_orders() if o.trigger_price]
    assert [(o.contracts, o.trigger_price) for o in stops] == [(728, 65_000.0)]  # never replaced
    await journal.close()
