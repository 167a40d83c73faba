"""C8: a -1021 storm (every signed request answered "timestamp outside the recvWindow") mid-decision, and the
end of an outage.

The real ccxt client and the local exchange; the answers come from the chaos suite's HTTP fault proxy in front of
it, Binance's -1021 body on every signed request, as `make chaos` injects it: a skewed server clock alone does
not last (the venue measures the offset on the first -1021 and signs right after, tested in
test_devnet_exchange.py), while an exchange answering -1021 for seconds outlasts the venue's retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import wall_ms
from bot.devnet.exchange import ExchangeServer
from bot.domain.orders import OrderRequest, OrderType, Side
from bot.domain.plan import HedgePlan
from bot.journal.aio import AsyncJournal
from bot.monitors.mark import CcxtMarkFeed
from bot.runtime.executor import Executor
from bot.runtime.recovery import resolve_intents
from bot.venues.ccxt.errors import RetryPolicy
from bot.venues.ccxt.venue import CcxtVenue
from bot.venues.reconcile import Place
from chaos.faults.exchange import EXCHANGE_ANSWERS
from chaos.proxy import FaultProxy
from tests.integration.test_devnet_exchange import FAST_RETRY, devnet_settings

pytestmark = pytest.mark.integration


@pytest.fixture
async def proxied(tmp_path: Path) -> AsyncIterator[tuple[ExchangeServer, FaultProxy, CcxtVenue, AsyncJournal]]:
    server = ExchangeServer(port=0, balance_btc=1.0, mark_price=60_000.0, state_path=tmp_path / "exchange.sqlite")
    await server.start()
    proxy = FaultProxy("exchange", server.url)
    await proxy.start()
    venue = CcxtVenue(devnet_settings(proxy.url), retry=FAST_RETRY)
    await venue.connect()
    await venue.configure(5, "isolated")
    journal = await AsyncJournal.open(tmp_path / "bot.sqlite", wall_ms())
    yield server, proxy, venue, journal
    await journal.close()
    await venue.close()
    await proxy.close()
    await server.stop()


async def test_a_1021_storm_mid_decision_leaves_no_intent_unresolved(
    proxied: tuple[ExchangeServer, FaultProxy, CcxtVenue, AsyncJournal],
) -> None:
    server, proxy, venue, journal = proxied
    entry = OrderRequest("hbEc8entry", Side.SELL, OrderType.MARKET, 20)
    stop = OrderRequest("hbSc8stop", Side.BUY, OrderType.STOP_MARKET, 20, trigger_price=66_000.0, reduce_only=True)
    layer = OrderRequest("hbSc8layer", Side.BUY, OrderType.STOP_MARKET, 5, trigger_price=64_000.0, reduce_only=True)
    proxy.fault = EXCHANGE_ANSWERS["-1021"](5.0)  # every signed request: 400 {"code":-1021,...}
    seq = await journal.record_decision(wall_ms(), "test", HedgePlan(hedge_usd=2_000.0, contracts=20, leverage=5.0))
    report = await Executor(venue, journal, wall_ms).execute(seq, [Place(entry), Place(stop), Place(layer)])
    assert report.unresolved == ["hbEc8entry"] and report.placed == []
    assert any(r.fault == "-1021" for r in proxy.records)  # the answers really were -1021
    # The places after the unresolved one never left: journaled as not sent, not left open for a restart.
    assert [i.client_id for i in await journal.unacknowledged_intents()] == ["hbEc8entry"]
    record = await journal.order("hbSc8stop")
    assert record is not None and record.state.value == "not_sent"

    # The venue answers again: the running bot resolves the open one by client id before its next decision.
    proxy.clear()
    adopted, not_sent = await resolve_intents(venue, journal, wall_ms)
    assert (adopted, not_sent) == ([], ["hbEc8entry"])  # the exchange never got it (every answer was -1021)
    assert await journal.unacknowledged_intents() == []
    assert server.engine.position().contracts == 0


async def test_a_back_off_ends_when_the_venue_answers_again(
    proxied: tuple[ExchangeServer, FaultProxy, CcxtVenue, AsyncJournal],
) -> None:
    """After an outage the decision does not sleep out its back-off while the mark feed already reads the venue
    (`make chaos` measured 3-4 s gaps after exchange faults from that alone)."""
    _, proxy, venue, _ = proxied
    venue.retry = RetryPolicy(attempts=3, first_delay_s=4.0, max_delay_s=4.0)
    proxy.fault = EXCHANGE_ANSWERS["503"](5.0)
    loop = asyncio.get_running_loop()
    read = asyncio.create_task(venue.account())  # fails, then backs off 4 s
    while not any(r.fault == "503" for r in proxy.records):
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)
    proxy.clear()
    back = loop.time()
    await CcxtMarkFeed(venue.exchange).read()  # the mark feed reads the venue again
    account = await asyncio.wait_for(read, 10)
    assert account.wallet_btc > 0
    assert loop.time() - back < 2.0  # not the rest of the 4 s back-off
