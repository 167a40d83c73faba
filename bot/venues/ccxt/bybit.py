"""Bybit inverse (ccxt `bybit`): BTCUSD, 1 USD contracts. Everything hedgebot knows about it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.instruments import Instrument
from bot.domain.orders import FundingPayment
from bot.venues.ccxt.funding import number
from bot.venues.ccxt.params import VenueParams
from bot.venues.ccxt.spec import VenueSpec, sandbox

INSTRUMENT = Instrument(
    exchange="bybit",
    symbol="BTC/USD:BTC",
    venue_symbol="BTCUSD",
    contract_size_usd=1.0,
    tick_size=0.5,
    max_leverage=100.0,
    maker_fee=0.0002,
    taker_fee=0.00055,
    maintenance_margin_rate=0.005,
)

PARAMS = VenueParams(
    plain_client_id_key="orderLinkId",
    trigger_client_id_key="orderLinkId",
    trigger_price_key="triggerPrice",
    mark_trigger={"triggerBy": "MarkPrice"},
    open_order_queries=({}, {"trigger": True}),  # plain, then orderFilter=StopOrder
    trigger_book_params={},
    needs_trigger_direction=True,
    mark_price_method="fetch_ticker",
    info_client_id_keys=("orderLinkId",),
    balance_total_is_equity=False,  # ccxt's 'total' is Bybit's walletBalance
)


def parse_funding(instrument: Instrument, raw: Mapping[str, Any]) -> FundingPayment:
    """The payment of one row of ccxt's `fetch_funding_history` (GET /v5/execution/list?execType=Funding).

    `amount` is `execFee`, a fee (positive when paid, as for every Bybit fee), so the credit is its
    negation; `rate` is the funding rate (`feeRate`), `execQty` the position size in contracts.
    """
    credited = -number(raw.get("amount"))
    rate = number(raw.get("rate"))
    size = instrument.contracts_from_venue_amount(abs(number((raw.get("info") or {}).get("execQty"))))
    # The side of a funding execution is not documented as the position's: derive it from the money
    # instead. A position pays when the rate's sign matches its own (longs pay a positive rate).
    sign = -1 if (credited > 0) == (rate > 0) else 1
    return FundingPayment(int(raw.get("timestamp") or 0), credited, rate, sign * size if rate and credited else 0)


VENUE = VenueSpec(
    id="bybit",
    name="Bybit inverse",
    instrument=INSTRUMENT,
    params=PARAMS,
    parse_funding=parse_funding,
    client_options={"fetchMarkets": {"types": ["inverse"]}},  # the BTCUSD inverse list only
    use_testnet=sandbox,  # api-testnet.bybit.com
)
