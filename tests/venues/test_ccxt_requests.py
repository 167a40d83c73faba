"""The exact request ccxt builds for each of our actions, on each venue.

Method: ccxt's own request building and signing, with only the network layer stubbed (see
ccxt_stub.py) — the way ccxt's static request tests work. Markets come from stored raw instrument
responses, parsed by ccxt itself. No mocks of our code and no network.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from pydantic import SecretStr

from bot.config import ExchangeSettings
from bot.domain.instruments import Instrument
from bot.domain.orders import Order, OrderRequest, OrderStatus, OrderType, Side
from bot.venues.ccxt.client import build_exchange
from bot.venues.ccxt.instruments import instrument_from_ccxt_market
from bot.venues.ccxt.registry import VENUE_IDS, VENUES
from tests.venues.ccxt_stub import Captured, Request, stub_network
from tests.venues.expected_requests import EXPECTED_CANCELS, EXPECTED_OPEN_QUERIES, EXPECTED_ORDERS

SYMBOL = "BTC/USD:BTC"

MARKET_SHORT = OrderRequest("hbEmarket", Side.SELL, OrderType.MARKET, 3)
LIMIT_SHORT = OrderRequest("hbElimit", Side.SELL, OrderType.LIMIT, 3, price=60123.45)
PROTECTIVE_STOP = OrderRequest("hbSstop", Side.BUY, OrderType.STOP_MARKET, 3, trigger_price=66000.07, reduce_only=True)
CONDITIONAL_ENTRY = OrderRequest("hbCentry", Side.SELL, OrderType.STOP_MARKET, 2, trigger_price=55000.0)
ACTIONS = {"market": MARKET_SHORT, "limit": LIMIT_SHORT, "stop": PROTECTIVE_STOP, "conditional": CONDITIONAL_ENTRY}


def settings(exchange_id: str) -> ExchangeSettings:
    return ExchangeSettings(
        id=exchange_id,
        api_key=SecretStr("test-key"),
        api_secret=SecretStr("test-secret"),
        password=SecretStr("test-pass") if exchange_id == "okx" else None,
    )


async def _loaded(exchange_id: str, testnet: bool = False) -> tuple[Any, list[Request]]:
    exchange = build_exchange(settings(exchange_id), testnet=testnet)
    if exchange_id == "bybit":
        # ccxt asks Bybit whether the key is a unified account before each order; answer as a UTA key.
        exchange.options["enableUnifiedAccount"] = True
        exchange.options["enableUnifiedMargin"] = False
    sent = stub_network(exchange, exchange_id)
    await exchange.load_markets()
    return exchange, sent


# One loaded client per venue for the whole module: building a ccxt client is the slow part.
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(
    params=VENUE_IDS,  # every registered venue has its requests pinned
    scope="module",
    loop_scope="module",
)
async def venue(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, Any, Instrument]]:
    exchange, _ = await _loaded(request.param)
    yield request.param, exchange, instrument_from_ccxt_market(request.param, exchange.market(SYMBOL))
    await exchange.close()


async def captured(coro: Any) -> Request:
    with pytest.raises(Captured) as info:
        await coro
    return info.value.request


@pytest.mark.parametrize("action", list(ACTIONS))
async def test_each_order_shape_becomes_the_venues_own_request(venue: tuple[str, Any, Instrument], action: str) -> None:
    exchange_id, exchange, instrument = venue
    call = VENUES[exchange_id].params.create_call(instrument, ACTIONS[action], "isolated")
    request = await captured(exchange.create_order(SYMBOL, call.type, call.side, call.amount, call.price, call.params))
    method, path, params = EXPECTED_ORDERS[exchange_id][action]
    assert (request.method, request.path) == (method, path)
    assert request.params == params


async def test_open_orders_are_read_from_plain_and_conditional_books(venue: tuple[str, Any, Instrument]) -> None:
    exchange_id, exchange, _ = venue
    seen = []
    for query in VENUES[exchange_id].params.open_order_queries:
        request = await captured(exchange.fetch_open_orders(SYMBOL, None, None, dict(query)))
        seen.append((request.path, request.params))
    assert seen == EXPECTED_OPEN_QUERIES[exchange_id]


@pytest.mark.parametrize("conditional", [False, True])
async def test_cancel_goes_to_the_book_the_order_lives_in(
    venue: tuple[str, Any, Instrument], conditional: bool
) -> None:
    exchange_id, exchange, _ = venue
    otype = OrderType.STOP_MARKET if conditional else OrderType.LIMIT
    order = Order("hbX", "123", Side.BUY, otype, 1, 0, OrderStatus.OPEN)
    request = await captured(exchange.cancel_order("123", SYMBOL, VENUES[exchange_id].params.cancel_params(order)))
    assert (request.method, request.path, request.params) == EXPECTED_CANCELS[exchange_id][int(conditional)]


async def test_binance_finds_its_orders_by_client_id_in_both_books() -> None:
    exchange, _ = await _loaded("binancecoinm")
    plain = await captured(exchange.fetch_order(None, SYMBOL, {"clientOrderId": "hbE1"}))
    algo = await captured(exchange.fetch_order(None, SYMBOL, {"clientAlgoId": "hbS1", "trigger": True}))
    await exchange.close()
    assert (plain.path, plain.params) == ("/dapi/v1/order", {"symbol": "BTCUSD_PERP", "origClientOrderId": "hbE1"})
    assert (algo.path, algo.params) == ("/dapi/v1/algoOrder", {"symbol": "BTCUSD_PERP", "clientAlgoId": "hbS1"})


@pytest.mark.parametrize(
    ("exchange_id", "host", "header"),
    [
        ("binancecoinm", "demo-dapi.binance.com", None),  # demo trading; the futures testnet is deprecated
        ("bybit", "api-testnet.bybit.com", None),
        ("okx", "www.okx.com", ("x-simulated-trading", "1")),  # OKX demo is the live host plus a header
        ("deribit", "test.deribit.com", None),
    ],
)
async def test_testnet_requests_go_to_each_venues_test_environment(
    exchange_id: str, host: str, header: tuple[str, str] | None
) -> None:
    exchange, _ = await _loaded(exchange_id, testnet=True)
    call = VENUES[exchange_id].params.create_call(
        instrument_from_ccxt_market(exchange_id, exchange.market(SYMBOL)), MARKET_SHORT, "cross"
    )
    request = await captured(exchange.create_order(SYMBOL, call.type, call.side, call.amount, call.price, call.params))
    await exchange.close()
    assert request.host == host
    if header is not None:
        # ccxt merges exchange-wide headers inside the real fetch, which the stub replaces.
        assert {**exchange.headers, **request.headers}.get(header[0]) == header[1]


async def test_the_url_override_sends_every_dapi_call_to_the_local_server() -> None:
    s = settings("binancecoinm").model_copy(update={"api_url": "http://127.0.0.1:8081"})
    exchange = build_exchange(s, testnet=False)
    stub_network(exchange, "binancecoinm")
    await exchange.load_markets()
    request = await captured(exchange.fetch_open_orders(SYMBOL))
    await exchange.close()
    assert request.url.startswith("http://127.0.0.1:8081/dapi/v1/openOrders?")
    assert request.headers["X-MBX-APIKEY"] == "test-key"
