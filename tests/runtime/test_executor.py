"""The executor times every order from its send to the venue's acknowledgement, for /metrics."""

from __future__ import annotations

from pathlib import Path

from bot.domain.orders import OrderRequest, OrderType, Side
from bot.domain.plan import HedgePlan
from bot.journal.aio import AsyncJournal
from bot.ops.metrics import Metrics
from bot.ops.status import BotStatus
from bot.paper import EngineSettings
from bot.runtime.executor import Executor
from bot.venues.ccxt.registry import builtin_instrument
from bot.venues.paper import PaperVenue, Quote
from bot.venues.reconcile import Cancel, Place

T0 = 1_700_000_000_000
ROUND_TRIP_MS = 40


class SlowExchange:
    """A steady 60,000 mark from an exchange that takes 40 ms to answer each request."""

    def __init__(self) -> None:
        self.now_ms = T0

    def __call__(self) -> int:
        return self.now_ms

    async def quote(self) -> Quote:
        self.now_ms += ROUND_TRIP_MS
        return Quote(self.now_ms, 60_000.0)


async def test_an_acknowledged_order_is_timed_from_send_to_ack(tmp_path: Path) -> None:
    exchange = SlowExchange()
    venue = PaperVenue.open(builtin_instrument("binancecoinm"), EngineSettings(), 0.1, exchange, now_ms=T0)
    journal = await AsyncJournal.open(tmp_path / "bot.sqlite", T0)
    metrics = Metrics(BotStatus(), exchange)
    executor = Executor(venue, journal, exchange, metrics=metrics)
    try:
        seq = await journal.record_decision(T0, "test", HedgePlan(hedge_usd=1_000.0, contracts=10, leverage=5.0))
        report = await executor.execute(seq, [Place(OrderRequest("hbE1", Side.SELL, OrderType.MARKET, 10))])
    finally:
        await journal.close()
    assert [o.client_id for o in report.placed] == ["hbE1"]
    sample = metrics.registry.get_sample_value
    assert sample("hedgebot_order_ack_seconds_count") == 1.0
    assert sample("hedgebot_order_ack_seconds_sum") == ROUND_TRIP_MS / 1000
    assert 'hedgebot_order_ack_seconds_bucket{le="0.05"} 1.0' in metrics.render().decode()


async def test_a_refused_replacement_stop_keeps_the_one_it_was_to_replace(tmp_path: Path) -> None:
    exchange = SlowExchange()
    venue = PaperVenue.open(builtin_instrument("binancecoinm"), EngineSettings(), 0.1, exchange, now_ms=T0)
    await venue.place(OrderRequest("hbEshort", Side.SELL, OrderType.MARKET, 30))
    old = OrderRequest("hbSold", Side.BUY, OrderType.STOP_MARKET, 30, trigger_price=66_000.0, reduce_only=True)
    await venue.place(old)
    journal = await AsyncJournal.open(tmp_path / "bot.sqlite", T0)
    executor = Executor(venue, journal, exchange)
    try:
        seq = await journal.record_decision(T0, "test", HedgePlan(hedge_usd=3_000.0, contracts=30, leverage=5.0))
        # The replacement would trigger at once (below the 60,000 mark): refused; the old stop must stay.
        new = OrderRequest("hbSnew", Side.BUY, OrderType.STOP_MARKET, 30, trigger_price=59_000.0, reduce_only=True)
        report = await executor.execute(seq, [Place(new), Cancel("hbSold", "stop replaced")])
    finally:
        await journal.close()
    assert report.stop_refused and report.rejected[0][0] == "hbSnew"
    assert report.cancelled == [] and report.uncovered_closed == 0
    account = await venue.account()
    assert [o.client_id for o in account.open_orders] == ["hbSold"]
    assert account.position.contracts == -30
