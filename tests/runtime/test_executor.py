"""The executor times every order from its send to the venue's acknowledgement, for /metrics."""

from __future__ import annotations

from pathlib import Path

from bot.domain.instruments import builtin_instrument
from bot.domain.orders import OrderRequest, OrderType, Side
from bot.domain.plan import HedgePlan
from bot.journal.aio import AsyncJournal
from bot.ops.metrics import Metrics
from bot.ops.status import BotStatus
from bot.paper import EngineSettings
from bot.runtime.executor import Executor
from bot.venues.paper import PaperVenue, Quote
from bot.venues.reconcile import Place

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
