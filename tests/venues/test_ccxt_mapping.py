"""Pure mappings: ccxt errors to decisions, ccxt markets to instruments, ccxt orders to ours."""

from __future__ import annotations

import json

import ccxt.async_support as ccxt
import pytest

from bot.domain.orders import OrderStatus, OrderType
from bot.errors import AuthFailed, OrderRejected, RetryableVenueError, VenueError
from bot.venues.ccxt import binancecoinm, deribit, okx
from bot.venues.ccxt.errors import RetryPolicy, classify, is_no_change
from bot.venues.ccxt.instruments import instrument_from_ccxt_market
from bot.venues.ccxt.params import order_from_ccxt
from tests.venues.ccxt_stub import FIXTURES, stub_network


@pytest.mark.parametrize(
    ("exc", "decision"),
    [
        (ccxt.NetworkError("reset"), RetryableVenueError),
        (ccxt.RequestTimeout("slow"), RetryableVenueError),
        (ccxt.ExchangeNotAvailable("503"), RetryableVenueError),
        (ccxt.DDoSProtection("418"), RetryableVenueError),
        (ccxt.RateLimitExceeded("429"), RetryableVenueError),
        (ccxt.InvalidNonce("-1021 timestamp"), RetryableVenueError),  # clock skew: resync, resend
        (ccxt.InsufficientFunds("-2019"), OrderRejected),
        (ccxt.InvalidOrder("-2022"), OrderRejected),
        (ccxt.OrderImmediatelyFillable("-2021"), OrderRejected),
        (ccxt.AuthenticationError("-1022"), AuthFailed),
        (ccxt.PermissionDenied("-2015"), AuthFailed),
        (ccxt.BadRequest("-1111 precision is over the maximum"), OrderRejected),  # re-plan, never resend
        (ccxt.ExchangeError("odd"), VenueError),
    ],
)
def test_each_ccxt_error_maps_to_what_to_do(exc: Exception, decision: type[VenueError]) -> None:
    err = classify(exc, "place hbE1")
    assert type(err) is decision
    assert "place hbE1" in str(err)


def test_backoff_doubles_and_is_capped() -> None:
    policy = RetryPolicy(attempts=6, first_delay_s=0.5, max_delay_s=3.0)
    assert [policy.delay_s(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_a_setting_already_in_place_is_not_an_error() -> None:
    assert is_no_change(ccxt.MarginModeAlreadySet("-4046 No need to change margin type."))
    assert is_no_change(ccxt.BadRequest("110043 Set leverage not modified"))
    assert not is_no_change(ccxt.BadRequest("-4028 invalid leverage"))


@pytest.mark.parametrize(
    ("exchange_id", "size_usd", "tick", "unit"),
    [
        ("binancecoinm", 100.0, 0.1, "contracts"),
        ("bybit", 1.0, 0.5, "contracts"),
        ("okx", 100.0, 0.1, "contracts"),
        ("deribit", 10.0, 0.5, "usd"),
    ],
)
async def test_instruments_come_from_the_markets_ccxt_parses(
    exchange_id: str, size_usd: float, tick: float, unit: str
) -> None:
    exchange = getattr(ccxt, exchange_id)({"enableRateLimit": False})
    if exchange_id in ("bybit", "okx"):
        exchange.options["fetchMarkets"] = {"types": ["inverse"] if exchange_id == "bybit" else ["swap"]}
    stub_network(exchange, exchange_id)
    await exchange.load_markets()
    spec = instrument_from_ccxt_market(exchange_id, exchange.market("BTC/USD:BTC"))
    await exchange.close()
    assert (spec.contract_size_usd, spec.tick_size, spec.amount_unit) == (size_usd, tick, unit)
    assert (spec.lot_contracts, spec.min_contracts) == (1.0, 1.0)  # Deribit's 10 USD step is one contract
    assert spec.venue_amount(3) == (30.0 if unit == "usd" else 3.0)
    assert FIXTURES.joinpath(f"{exchange_id}_markets.json").is_file()


def test_a_binance_algo_order_reads_back_with_its_client_id_and_trigger() -> None:
    spec = instrument_from_ccxt_market("binancecoinm", _binance_market())
    raw = {
        "id": "9",
        "clientOrderId": None,
        "info": {"clientAlgoId": "hbSabc"},
        "type": "stop_market",
        "side": "buy",
        "amount": 3.0,
        "filled": 0.0,
        "status": "open",
        "triggerPrice": 66000.0,
        "reduceOnly": True,
        "price": None,
    }
    order = order_from_ccxt(binancecoinm.PARAMS, spec, raw)
    assert (order.client_id, order.type, order.contracts, order.trigger_price) == (
        "hbSabc",
        OrderType.STOP_MARKET,
        3,
        66000.0,
    )
    assert order.status is OrderStatus.OPEN and order.reduce_only


def test_deribit_amounts_in_usd_read_back_as_contracts_and_labels_as_client_ids() -> None:
    spec = instrument_from_ccxt_market(
        "deribit",
        {
            "inverse": True,
            "settle": "BTC",
            "contractSize": 10.0,
            "precision": {"price": 0.5, "amount": 10.0},
            "symbol": "BTC/USD:BTC",
            "id": "BTC-PERPETUAL",
            "limits": {"amount": {"min": 10.0}},
        },
    )
    raw = {
        "id": "1",
        "info": {"label": "hbEx"},
        "type": "market",
        "side": "sell",
        "amount": 30.0,
        "filled": 30.0,
        "status": "closed",
    }
    order = order_from_ccxt(deribit.PARAMS, spec, raw)
    assert (order.client_id, order.contracts, order.filled_contracts, order.status) == (
        "hbEx",
        3,
        3,
        OrderStatus.FILLED,
    )
    assert okx.PARAMS.client_id_of({"info": {"algoClOrdId": "hbS1", "clOrdId": ""}}) == "hbS1"


def _binance_market() -> dict[str, object]:
    raw = json.loads(FIXTURES.joinpath("binancecoinm_markets.json").read_text())
    exchange = ccxt.binancecoinm()
    return exchange.parse_market(raw["/dapi/v1/exchangeInfo"]["symbols"][0])  # type: ignore[no-any-return]
