"""Deribit (ccxt `deribit`): BTC-PERPETUAL, 10 USD contracts, amounts in USD. Everything hedgebot knows about it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.instruments import Instrument
from bot.domain.orders import FundingPayment
from bot.venues.ccxt.funding import PAGE, number
from bot.venues.ccxt.params import VenueParams
from bot.venues.ccxt.spec import VenueSpec, sandbox

INSTRUMENT = Instrument(
    exchange="deribit",
    symbol="BTC/USD:BTC",
    venue_symbol="BTC-PERPETUAL",
    contract_size_usd=10.0,
    tick_size=0.5,
    max_leverage=50.0,
    maker_fee=0.0,
    taker_fee=0.0005,
    maintenance_margin_rate=0.0,
    amount_unit="usd",  # orders and positions are said in USD, multiples of the contract size
)

PARAMS = VenueParams(
    plain_client_id_key="label",
    trigger_client_id_key="label",
    # ccxt's Deribit createOrder ignores triggerPrice; stopLossPrice makes it a stop_market.
    trigger_price_key="stopLossPrice",
    mark_trigger={"trigger": "mark_price"},
    open_order_queries=({},),  # get_open_orders_by_instrument returns triggers too (type=all)
    trigger_book_params={},
    mark_price_method="fetch_ticker",
    info_client_id_keys=("label",),
    sets_margin_mode=False,  # Deribit has no per-instrument leverage or margin mode: it is account-wide
    sets_leverage=False,
)


async def fetch_funding(exchange: Any, symbol: str, instrument: Instrument, since_ms: int) -> list[Any]:
    """The settlement rows of the transaction log since `since_ms` on `instrument`.

    ccxt has no `fetch_funding_history` for Deribit: perpetual funding is realised in the transaction
    log, where each `settlement` row of BTC-PERPETUAL carries `interest_pl` (the session's funding, BTC)
    and the position. Funding realised inside a trade (closing between settlements) is not in those rows.
    """
    response = await exchange.private_get_get_transaction_log(
        {
            "currency": "BTC",
            "start_timestamp": since_ms,
            "end_timestamp": exchange.milliseconds(),
            "query": "settlement",
            "count": PAGE,
        }
    )
    logs: list[dict[str, Any]] = ((response or {}).get("result") or {}).get("logs") or []
    return [row for row in logs if row.get("instrument_name") == instrument.venue_symbol]


def parse_funding(instrument: Instrument, raw: Mapping[str, Any]) -> FundingPayment:
    """The payment of one settlement row; it has no rate (funding accrues continuously on Deribit)."""
    size = instrument.contracts_from_venue_amount(abs(number(raw.get("position"))))
    sign = -1 if raw.get("side") == "short" else 1
    return FundingPayment(int(raw.get("timestamp") or 0), number(raw.get("interest_pl")), 0.0, sign * size)


VENUE = VenueSpec(
    id="deribit",
    name="Deribit",
    instrument=INSTRUMENT,
    params=PARAMS,
    parse_funding=parse_funding,
    fetch_funding=fetch_funding,
    use_testnet=sandbox,  # test.deribit.com
)
