"""The shape of a venue's ccxt parameter table, what it builds, and the reading of ccxt orders. Pure.

ccxt's unified params are not safe across venues: the same `triggerPrice` is an algo order on Binance
COIN-M, needs a `triggerDirection` on Bybit, is ignored by Deribit (which wants `stopLossPrice`), and
the client order id travels under five names. Each venue module (binancecoinm.py, bybit.py, ...)
therefore fills in its own `VenueParams`, and tests/venues/test_ccxt_requests.py pins the exact request
ccxt builds from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.domain.instruments import Instrument
from bot.domain.orders import Order, OrderRequest, OrderStatus, OrderType, Side


@dataclass(frozen=True, slots=True)
class CreateCall:
    """The arguments of one `exchange.create_order` call."""

    type: str  # ccxt's unified 'market' or 'limit'
    side: str
    amount: float  # in the venue's own unit (Deribit: USD)
    price: float | None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VenueParams:
    """One venue's table. Field names say which ccxt argument they feed."""

    plain_client_id_key: str  # client id of a market/limit order
    trigger_client_id_key: str  # client id of a conditional (algo) order
    # How a stop-market is expressed: 'triggerPrice' (Binance, Bybit, OKX) or 'stopLossPrice' (Deribit).
    trigger_price_key: str
    mark_trigger: Mapping[str, Any]  # the params that make the trigger watch the mark price
    # Params of each fetch_open_orders call; together they return plain *and* conditional orders.
    open_order_queries: tuple[Mapping[str, Any], ...]
    # Extra params that address the conditional book: to cancel an order there, or look one up in it.
    trigger_book_params: Mapping[str, Any]
    needs_trigger_direction: bool = False  # Bybit: 'ascending' for a stop buy, 'descending' for a sell
    margin_mode_param: str | None = None  # OKX: every order says its margin mode ('tdMode')
    reduce_only_key: str = "reduceOnly"
    # The order endpoints never say the mark price; how to read it: 'fetch_mark_price' or 'fetch_ticker'.
    mark_price_method: str = "fetch_mark_price"
    info_client_id_keys: tuple[str, ...] = ()  # where the raw order keeps the id when ccxt does not parse it
    # ccxt's balance 'total' is the equity (wallet + unrealised PnL) everywhere but Bybit (walletBalance).
    balance_total_is_equity: bool = True
    # Account set-up calls this venue has: set_margin_mode, set_leverage (OKX takes the mode with it).
    sets_margin_mode: bool = True
    sets_leverage: bool = True
    leverage_margin_mode_param: str | None = None
    # Binance answers GET order by client id (plain and algo); the others are searched in order lists.
    fetches_by_client_id: bool = False

    def create_call(self, instrument: Instrument, order: OrderRequest, margin_mode: str) -> CreateCall:
        """The create_order arguments that place `order` on this venue."""
        amount = instrument.venue_amount(order.contracts)
        params: dict[str, Any] = {}
        if self.margin_mode_param:
            params[self.margin_mode_param] = margin_mode
        if order.reduce_only:
            params[self.reduce_only_key] = True
        if order.type is OrderType.STOP_MARKET:
            assert order.trigger_price is not None  # OrderRequest checks it
            params[self.trigger_client_id_key] = order.client_id
            params[self.trigger_price_key] = instrument.round_price(order.trigger_price)
            params.update(self.mark_trigger)
            if self.needs_trigger_direction:
                # A stop buy protects a short from a rise; a stop sell entry arms on a fall.
                params["triggerDirection"] = "ascending" if order.side is Side.BUY else "descending"
            return CreateCall("market", order.side.value, amount, None, params)
        params[self.plain_client_id_key] = order.client_id
        if order.type is OrderType.LIMIT:
            assert order.price is not None
            params["timeInForce"] = "GTC"
            return CreateCall("limit", order.side.value, amount, instrument.round_price(order.price), params)
        return CreateCall("market", order.side.value, amount, None, params)

    def cancel_params(self, order: Order) -> dict[str, Any]:
        """Extra params of cancel_order for `order` (conditional orders live elsewhere on some venues)."""
        return dict(self.trigger_book_params) if order.type is OrderType.STOP_MARKET else {}

    def lookup_params(self, client_id: str, conditional: bool) -> dict[str, Any]:
        """fetch_order params that find `client_id` in the plain or the conditional book (fetches_by_client_id)."""
        if conditional:
            return {self.trigger_client_id_key: client_id, **self.trigger_book_params}
        return {"clientOrderId": client_id}  # ccxt's unified name; it says it in the venue's words

    def client_id_of(self, raw: Mapping[str, Any]) -> str:
        """Our client id of a ccxt order structure, wherever this venue put it."""
        cid = raw.get("clientOrderId")
        if cid:
            return str(cid)
        info = raw.get("info") or {}
        for key in self.info_client_id_keys:
            if info.get(key):
                return str(info[key])
        return ""


_STATUS = {
    "open": OrderStatus.OPEN,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "expired": OrderStatus.CANCELED,
    "rejected": OrderStatus.REJECTED,
}


def _num(value: Any) -> float | None:
    return float(value) if value not in (None, "") else None


def order_from_ccxt(params: VenueParams, instrument: Instrument, raw: Mapping[str, Any]) -> Order:
    """The venue-neutral Order for one ccxt order structure."""
    trigger = _num(raw.get("triggerPrice")) or _num(raw.get("stopPrice")) or _num(raw.get("stopLossPrice"))
    raw_type = str(raw.get("type") or "").lower()
    if trigger is not None or "stop" in raw_type or raw_type in {"trigger", "conditional"}:
        otype = OrderType.STOP_MARKET
    elif raw_type == "limit":
        otype = OrderType.LIMIT
    else:
        otype = OrderType.MARKET
    amount = _num(raw.get("amount")) or 0.0
    filled = _num(raw.get("filled")) or 0.0
    return Order(
        client_id=params.client_id_of(raw),
        venue_id=str(raw.get("id") or ""),
        side=Side(str(raw.get("side") or "buy").lower()),
        type=otype,
        contracts=instrument.contracts_from_venue_amount(amount),
        filled_contracts=instrument.contracts_from_venue_amount(filled),
        status=_STATUS.get(str(raw.get("status") or "open").lower(), OrderStatus.OPEN),
        price=_num(raw.get("price")) if otype is OrderType.LIMIT else None,
        trigger_price=trigger,
        reduce_only=bool(raw.get("reduceOnly")),
        average_price=_num(raw.get("average")),
    )
