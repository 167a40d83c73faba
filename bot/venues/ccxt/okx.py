"""OKX (ccxt `okx`): BTC-USD-SWAP, 100 USD contracts. Everything hedgebot knows about it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.instruments import Instrument
from bot.domain.orders import FundingPayment
from bot.venues.ccxt.funding import number
from bot.venues.ccxt.params import VenueParams
from bot.venues.ccxt.spec import VenueSpec, sandbox

INSTRUMENT = Instrument(
    exchange="okx",
    symbol="BTC/USD:BTC",
    venue_symbol="BTC-USD-SWAP",
    contract_size_usd=100.0,
    tick_size=0.1,
    max_leverage=125.0,
    maker_fee=0.0002,
    taker_fee=0.0005,
    maintenance_margin_rate=0.004,
)

PARAMS = VenueParams(
    plain_client_id_key="clOrdId",
    # Trigger orders go to /trade/order-algo, whose client id is algoClOrdId (clOrdId is the child's).
    trigger_client_id_key="algoClOrdId",
    trigger_price_key="triggerPrice",
    mark_trigger={"triggerPxType": "mark"},
    open_order_queries=({}, {"trigger": True}),  # orders-pending, then orders-algo-pending
    trigger_book_params={"trigger": True},
    margin_mode_param="tdMode",
    info_client_id_keys=("algoClOrdId", "clOrdId"),
    sets_margin_mode=False,  # OKX's margin mode is per order (tdMode) and per leverage setting
    leverage_margin_mode_param="marginMode",
)


def parse_funding(instrument: Instrument, raw: Mapping[str, Any]) -> FundingPayment:
    """The payment of one row of ccxt's `fetch_funding_history` (GET /api/v5/account/bills-archive?type=8).

    `amount` is the balance change, signed as credited; a funding bill says neither the rate nor the
    position's side.
    """
    return FundingPayment(int(raw.get("timestamp") or 0), number(raw.get("amount")), 0.0, 0)


VENUE = VenueSpec(
    id="okx",
    name="OKX",
    instrument=INSTRUMENT,
    params=PARAMS,
    parse_funding=parse_funding,
    client_options={
        "fetchMarkets": {"types": ["swap"]},
        "brokerId": None,  # without it ccxt adds a broker clOrdId to algo orders, beside our algoClOrdId
    },
    use_testnet=sandbox,  # demo trading: the live host plus the x-simulated-trading header
    needs_password=True,
)
