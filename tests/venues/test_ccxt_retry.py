"""One retry layer: an order the venue cannot get through is sent at most `attempts` times, with the
same client id, however the failure travels (venue, executor). ccxt builds and signs every request;
only its network layer is stubbed (ccxt_stub.py), and every send is counted there.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import ccxt.async_support as ccxt
import pytest

from bot.domain.orders import OrderRequest, OrderType, Side
from bot.domain.plan import HedgePlan
from bot.journal.aio import AsyncJournal
from bot.runtime.executor import Executor
from bot.venues.ccxt.client import build_exchange
from bot.venues.ccxt.errors import RetryPolicy
from bot.venues.ccxt.venue import CcxtVenue
from bot.venues.reconcile import Place
from tests.venues.ccxt_stub import Request, stub_network
from tests.venues.test_ccxt_requests import settings

POLICY = RetryPolicy(attempts=3, first_delay_s=0.0, max_delay_s=0.0)
SHORT = OrderRequest("hbEretry", Side.SELL, OrderType.MARKET, 3)


def _order_endpoint(send_fails_with: Exception) -> object:
    """/dapi/v1/order as a venue that never heard of the order and fails every new one with `send_fails_with`."""

    def answer(request: Request) -> object:
        if request.method == "GET":  # the look-up by client id before each send
            raise ccxt.OrderNotFound('binancecoinm {"code":-2013,"msg":"Order does not exist."}')
        raise send_fails_with

    return answer


async def _venue(send_fails_with: Exception) -> tuple[CcxtVenue, list[Request]]:
    exchange = build_exchange(settings("binancecoinm"), testnet=False)
    sent = stub_network(exchange, "binancecoinm", {"/dapi/v1/order": _order_endpoint(send_fails_with)})
    venue = CcxtVenue(settings("binancecoinm"), retry=POLICY, exchange=exchange)
    await venue.connect()
    return venue, sent


@pytest.fixture
async def journal(tmp_path: Path) -> AsyncIterator[AsyncJournal]:
    j = await AsyncJournal.open(tmp_path / "bot.sqlite", 1)
    await j.record_decision(1, "test", HedgePlan(hedge_usd=300.0, contracts=3, leverage=2.0))  # decision 1
    yield j
    await j.close()


def _sends(sent: list[Request]) -> list[Request]:
    return [r for r in sent if r.method == "POST" and r.path == "/dapi/v1/order"]


async def test_a_timed_out_order_is_sent_at_most_attempts_times_with_one_client_id(journal: AsyncJournal) -> None:
    venue, sent = await _venue(ccxt.RequestTimeout("binancecoinm POST timed out"))
    report = await Executor(venue, journal, lambda: 2).execute(1, [Place(SHORT)])
    await venue.close()

    assert report.unresolved == ["hbEretry"] and report.placed == []
    sends = _sends(sent)
    assert len(sends) == POLICY.attempts
    assert {r.params["newClientOrderId"] for r in sends} == {"hbEretry"}
    # Each send comes after a look-up of the same id: a resend never doubles an order that landed.
    assert [r.method for r in sent if r.path == "/dapi/v1/order"] == ["GET", "POST"] * POLICY.attempts


async def test_a_rejected_order_is_sent_once(journal: AsyncJournal) -> None:
    venue, sent = await _venue(ccxt.InsufficientFunds('binancecoinm {"code":-2019,"msg":"Margin is insufficient."}'))
    report = await Executor(venue, journal, lambda: 2).execute(1, [Place(SHORT)])
    await venue.close()

    assert [cid for cid, _ in report.rejected] == ["hbEretry"]
    assert len(_sends(sent)) == 1
