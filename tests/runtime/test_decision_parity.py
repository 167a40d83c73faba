"""Issue 11: the engine and the backtest take the same decisions: one price path, both edges, same orders.

The path goes through the engine (a paper venue, a lending feed read from a simulated loan, the engine's
own triggers and guards, its journal) and through the backtest (`run_hedged`); both call the one decision
step, so the orders sent, in order, are the same.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import replace
from pathlib import Path

import pytest

from bot.backtest.data import AlignedBars
from bot.backtest.hedger import run_hedged
from bot.backtest.types import LendingSetup, ReplaySettings, open_loan
from bot.domain.features.tracker import FeatureTracker
from bot.domain.snapshot import LendingView
from bot.journal.aio import AsyncJournal
from bot.plugins import loader as plugins
from bot.runtime.config import EngineConfig
from bot.runtime.engine import Engine
from bot.runtime.feeds import LendingReading, MarkReading
from bot.venues.ccxt.registry import builtin_instrument
from bot.venues.paper import PaperVenue, Quote

T0 = 1_620_781_200_000  # 2021-05-12T01:00Z: two hours before the next funding time
BAR_MS = 10_000  # shorter than the heartbeat (30 s), so the triggers decide which bars are decided on
SETUP = LendingSetup()


def price_path(bars: int = 240) -> tuple[list[float], list[float]]:
    """BTC falls 18 % and recovers a little; ETH follows it with a beta of about 1.3 (no step beyond 1 %)."""
    btc, eth = [], []
    for i in range(bars):
        x = i / (bars - 1)
        fall = 0.18 * math.sin(math.pi * x * 0.8)
        btc.append(round(60_000 * (1 - fall), 1))
        eth.append(round(3_000 * (1 - 1.3 * fall), 2))
    return btc, eth


def flat_bars(btc: list[float], eth: list[float]) -> AlignedBars:
    n = len(btc)
    b, e = array("d", btc), array("d", eth)
    return AlignedBars(
        array("q", [T0 + i * BAR_MS for i in range(n)]), (b, b, b, b), (e, e, e, e), bytes(n), (), BAR_MS
    )


class Now:
    def __init__(self) -> None:
        self.ms = T0

    def __call__(self) -> int:
        return self.ms


class Path_:
    """The feeds and quotes the engine reads: the path's current bar."""

    def __init__(self, now: Now) -> None:
        self.now = now
        self.btc = self.eth = 0.0
        self.loan = open_loan(SETUP, 3_000.0)

    async def quote(self) -> Quote:
        return Quote(self.now(), self.btc)

    async def read(self) -> MarkReading:
        return MarkReading(self.btc, self.now(), 0.0001)

    def lending(self) -> LendingReading:
        loan = self.loan
        view = LendingView(
            collateral_asset=SETUP.collateral_asset,
            collateral_amount=loan.amount,
            collateral_price_usd=self.eth,
            total_collateral_usd=loan.amount * self.eth,
            debt_usd=loan.debt_usd,
            health_factor=loan.health_factor(self.eth),
            liquidation_price_usd=loan.liquidation_price,
            liquidation_threshold=SETUP.liquidation_threshold,
        )
        return LendingReading(view, 1, self.now())

    async def close(self) -> None:
        pass


# dynamic had been left out: its replay priced the short's liquidation for the paper account's margin mode
# (cross) while this engine's risk layer assumed isolated; with the modes matched it takes the same orders.
# layered-stop and stop-hunt-scalp rest conditional entries: the replay sees their fill on the bar it
# happens (a "fill" trigger) while the engine learns of it at its next decision (a mark move or the
# heartbeat), and this paper venue only matches on the engine's own calls. Left out until the engine
# watches fills between decisions.
@pytest.mark.parametrize("strategy", ["percentage", "dca", "dynamic"])
async def test_the_engine_and_the_backtest_send_the_same_orders(tmp_path: Path, strategy: str) -> None:
    btc, eth = price_path()
    settings = ReplaySettings()
    instrument = builtin_instrument("binancecoinm")

    # The backtest.
    bars = flat_bars(btc, eth)
    _, stats, _, replay_fills = run_hedged(bars, 0, 0, SETUP, plugins.load(strategy), instrument, None, settings)

    # The engine, on the same path, one bar at a time: the open of the first bar, then every close.
    now = Now()
    path = Path_(now)
    path.btc, path.eth = btc[0], eth[0]
    venue = PaperVenue.open(instrument, settings.engine, SETUP.hedge_capital_usd / btc[0], path, None, T0)
    live = plugins.load(strategy)
    leverage = min(getattr(live.params, "leverage", 5.0), live.leverage_cap, settings.risk.max_leverage)
    await venue.connect()
    await venue.configure(leverage, venue.engine.margin_mode)
    journal = await AsyncJournal.open(tmp_path / "bot.sqlite", T0)
    # The risk layer prices the short's liquidation for the venue's margin mode, as `hedgebot run` configures it.
    limits = replace(settings.risk, margin_mode=venue.engine.margin_mode)
    engine = Engine(
        strategy=live, venue=venue, lending=path, mark=path, journal=journal,  # type: ignore[arg-type]
        config=EngineConfig(sample_features=False, risk=limits), clock=now,
    )  # fmt: skip
    engine.features = FeatureTracker.for_bar_length(BAR_MS)
    engine.venue_leverage = leverage  # as `assemble` sets it after configuring the venue
    await engine.start()

    async def step() -> None:
        engine.observe_lending(path.lending())
        engine.observe_mark(await path.read())
        if engine.due() is not None:
            await engine.decide_once()

    await step()  # the first bar's open, before its features exist (the backtest's first decision)
    for i in range(len(btc)):
        now.ms, path.btc, path.eth = T0 + i * BAR_MS, btc[i], eth[i]
        engine.features.update(btc[i], btc[i], btc[i], eth[i])
        await step()
    await journal.close()

    engine_fills = venue.engine.fills()
    assert len(replay_fills) > 3
    assert [(f.client_id, f.side, f.contracts) for f in engine_fills] == [
        (f.client_id, f.side, f.contracts) for f in replay_fills
    ]
    for mine, theirs in zip(engine_fills, replay_fills, strict=True):
        assert mine.price == pytest.approx(theirs.price, rel=1e-9)
    assert engine.decisions == stats.decisions  # decided on the same bars: the same triggers fired
