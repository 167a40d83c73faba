"""Binance COIN-M (ccxt `binancecoinm`): BTCUSD_PERP, 100 USD contracts. Everything hedgebot knows about it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.domain.instruments import Instrument
from bot.domain.orders import FundingPayment
from bot.venues.ccxt.funding import number
from bot.venues.ccxt.params import VenueParams
from bot.venues.ccxt.spec import VenueSpec

INSTRUMENT = Instrument(
    exchange="binancecoinm",
    symbol="BTC/USD:BTC",
    venue_symbol="BTCUSD_PERP",
    contract_size_usd=100.0,
    tick_size=0.1,
    max_leverage=125.0,
    maker_fee=0.0001,
    taker_fee=0.0005,
    maintenance_margin_rate=0.004,
)

PARAMS = VenueParams(
    plain_client_id_key="newClientOrderId",
    # ccxt sends conditional COIN-M orders to POST /dapi/v1/algoOrder, whose id field is clientAlgoId.
    trigger_client_id_key="clientAlgoId",
    trigger_price_key="triggerPrice",
    mark_trigger={"workingType": "MARK_PRICE"},
    open_order_queries=({}, {"trigger": True}),  # openOrders, then openAlgoOrders
    trigger_book_params={"trigger": True},
    info_client_id_keys=("clientAlgoId", "clientOrderId"),
    fetches_by_client_id=True,
)


def parse_funding(instrument: Instrument, raw: Mapping[str, Any]) -> FundingPayment:
    """The payment of one row of ccxt's `fetch_funding_history` (GET /dapi/v1/income?incomeType=FUNDING_FEE).

    `amount` is the income row, already signed as credited; the row has neither the rate nor the
    position it was paid on.
    """
    return FundingPayment(int(raw.get("timestamp") or 0), number(raw.get("amount")), 0.0, 0)


def use_demo_trading(exchange: Any) -> None:
    """Binance's futures testnet is deprecated in ccxt; demo trading is demo-dapi.binance.com."""
    exchange.enable_demo_trading(True)


_HOST = re.compile(r"^https?://[^/]+")


def point_at(exchange: Any, api_url: str) -> None:
    """Send every REST call of `exchange` to `api_url`, keeping each endpoint's path (`/dapi/v1`, ...).

    Used for the local devnet exchange. ccxt picks its exchange-specific error table by the URL's host
    (dapi.binance.com, demo-dapi...), which a local URL does not match; the COIN-M table is merged into
    the generic one so -2019, -2021, -2022 and -4120 still map to InsufficientFunds, OrderImmediately-
    Fillable and InvalidOrder exactly as they do against Binance.
    """
    base = api_url.rstrip("/")
    urls = exchange.urls["api"]
    for key, url in list(urls.items()):
        if isinstance(url, str):
            urls[key] = _HOST.sub(base, url)
    inverse = exchange.exceptions.get("inverse") or {}
    for kind in ("exact", "broad"):
        exchange.exceptions[kind] = {**exchange.exceptions[kind], **(inverse.get(kind) or {})}


VENUE = VenueSpec(
    id="binancecoinm",
    name="Binance COIN-M",
    instrument=INSTRUMENT,
    params=PARAMS,
    parse_funding=parse_funding,
    # Markets come from dapi alone; the currency list is a spot (sapi) call this bot never needs, and
    # demo-dapi and the local server do not serve sapi at all.
    client_options={"fetchCurrencies": False, "fetchMargins": False},
    use_testnet=use_demo_trading,
    point_at=point_at,
)
