"""Funding history on each venue: the exact request ccxt builds for `CcxtVenue.funding`, and what a
venue's answer becomes. ccxt's own request building and parsing; only `fetch` is stubbed (ccxt_stub.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.orders import FundingPayment
from bot.venues.ccxt.client import build_exchange
from bot.venues.ccxt.registry import VENUE_IDS
from bot.venues.ccxt.venue import CcxtVenue
from tests.venues.ccxt_stub import Request, stub_network
from tests.venues.test_ccxt_requests import captured, settings

T = 1_700_006_400_000  # a funding time (a multiple of 8 h)

EXPECTED_REQUESTS: dict[str, tuple[str, dict[str, Any]]] = {
    "binancecoinm": (
        "/dapi/v1/income",
        {"incomeType": "FUNDING_FEE", "symbol": "BTCUSD_PERP", "startTime": str(T), "limit": "100"},
    ),
    "bybit": (
        "/v5/execution/list",
        {"execType": "Funding", "symbol": "BTCUSD", "category": "inverse", "startTime": str(T), "size": "100"},
    ),
    # OKX's bills take no start time: ccxt filters the newest page by `since` itself.
    "okx": (
        "/api/v5/account/bills-archive",
        {"type": "8", "limit": "100", "ctType": "inverse", "ccy": "BTC", "instType": "SWAP"},
    ),
    "deribit": (
        "/api/v2/private/get_transaction_log",
        {"currency": "BTC", "start_timestamp": str(T), "query": "settlement", "count": "100"},
    ),
}

# One answer per venue, in the shape its documentation gives, for a short of $30,000 on a positive rate.
ANSWERS: dict[str, tuple[str, Any]] = {
    "binancecoinm": (
        "/dapi/v1/income",
        [
            {
                "symbol": "BTCUSD_PERP",
                "incomeType": "FUNDING_FEE",
                "income": "0.00005",
                "asset": "BTC",
                "info": "FUNDING_FEE",
                "time": T,
                "tranId": "7",
                "tradeId": "",
            },
        ],
    ),
    "bybit": (
        "/v5/execution/list",
        {
            "retCode": 0,
            "retMsg": "OK",
            "time": T,
            "retExtInfo": {},
            "result": {
                "category": "inverse",
                "nextPageCursor": "",
                "list": [
                    {
                        "symbol": "BTCUSD",
                        "execType": "Funding",
                        "execTime": str(T),
                        "execFee": "-0.00005",
                        "feeRate": "0.0001",
                        "execQty": "30000",
                        "execValue": "0.5",
                        "side": "Sell",
                        "execId": "e1",
                        "orderId": "",
                        "orderLinkId": "",
                        "execPrice": "60000",
                        "markPrice": "60000",
                    }
                ],
            },
        },
    ),
    "okx": (
        "/api/v5/account/bills-archive",
        {
            "code": "0",
            "msg": "",
            "data": [
                {
                    "bal": "1.00005",
                    "balChg": "0.00005",
                    "billId": "9",
                    "ccy": "BTC",
                    "instId": "BTC-USD-SWAP",
                    "instType": "SWAP",
                    "mgnMode": "cross",
                    "subType": "174",
                    "sz": "300",
                    "ts": str(T),
                    "type": "8",
                    "posBalChg": "0",
                    "pnl": "0.00005",
                    "fee": "0",
                },
            ],
        },
    ),
    "deribit": (
        "/api/v2/private/get_transaction_log",
        {
            "jsonrpc": "2.0",
            "result": {
                "continuation": None,
                "logs": [
                    {
                        "type": "settlement",
                        "timestamp": T,
                        "instrument_name": "BTC-PERPETUAL",
                        "side": "short",
                        "position": -30000,
                        "interest_pl": 0.00005,
                        "currency": "BTC",
                        "change": 0.0001,
                    },
                    {
                        "type": "settlement",
                        "timestamp": T,
                        "instrument_name": "BTC-29DEC23",
                        "side": "long",
                        "position": 1000,
                        "interest_pl": 0,
                        "currency": "BTC",
                        "change": 0.002,
                    },  # another instrument
                ],
            },
        },
    ),
}

EXPECTED_PAYMENTS = {
    "binancecoinm": FundingPayment(T, 0.00005, 0.0, 0),  # the income row has no rate nor position
    "bybit": FundingPayment(T, 0.00005, 0.0001, -30000),  # $1 contracts
    "okx": FundingPayment(T, 0.00005, 0.0, 0),  # the bill has no rate nor position side
    "deribit": FundingPayment(T, 0.00005, 0.0, -3000),  # $10 contracts
}

VENUES = VENUE_IDS  # every registered venue: a new one fails here until its funding is pinned


async def _venue(exchange_id: str, answers: dict[str, Any] | None = None) -> tuple[CcxtVenue, list[Request]]:
    exchange = build_exchange(settings(exchange_id), testnet=False)
    sent = stub_network(exchange, exchange_id, answers)
    venue = CcxtVenue(settings(exchange_id), exchange=exchange)
    await venue.connect()
    return venue, sent


@pytest.mark.parametrize("exchange_id", VENUES)
async def test_funding_asks_each_venue_for_its_funding_history(exchange_id: str) -> None:
    venue, _ = await _venue(exchange_id)
    request = await captured(venue.funding(T))
    await venue.close()
    path, params = EXPECTED_REQUESTS[exchange_id]
    assert (request.method, request.path) == ("GET", path)
    if exchange_id == "deribit":
        assert int(request.params.pop("end_timestamp")) > T  # now, from ccxt's clock
    assert request.params == params


@pytest.mark.parametrize("exchange_id", VENUES)
async def test_a_venues_funding_answer_becomes_payments_credited_to_the_account(exchange_id: str) -> None:
    path, answer = ANSWERS[exchange_id]
    venue, _ = await _venue(exchange_id, {path: answer})
    payments = await venue.funding(T)
    later = await venue.funding(T + 1)
    await venue.close()
    assert payments == [EXPECTED_PAYMENTS[exchange_id]]
    assert later == []
