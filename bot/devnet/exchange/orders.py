"""The signed /dapi order routes: plain orders (new, query, cancel, amend, open, all) and algo
(conditional STOP_MARKET) orders, which Binance keeps in a separate book."""

from __future__ import annotations

from typing import Any

from bot.devnet.exchange import dialect
from bot.devnet.exchange.http import (
    BinanceError,
    Params,
    check_symbol,
    contracts_param,
    endpoint,
    price_param,
    required_param,
    side_param,
    truthy,
)
from bot.devnet.exchange.state import ExchangeState
from bot.domain.orders import Order, OrderRequest, OrderType
from bot.paper.errors import PaperRejected

signed = endpoint(signed=True)
_CONDITIONAL_TYPES = {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"}


def _plain(state: ExchangeState, order: Order) -> dict[str, Any]:
    created = state.order_times.get(order.client_id, state.now_ms())
    return dialect.plain_order(order, state.engine.instrument, created, state.now_ms())


def _algo(state: ExchangeState, order: Order) -> dict[str, Any]:
    created = state.order_times.get(order.client_id, state.now_ms())
    working = state.working_types.get(order.client_id, "MARK_PRICE")
    return dialect.algo_order(order, state.engine.instrument, working, created, state.now_ms())


def _submit(state: ExchangeState, book: str, request: OrderRequest) -> Order:
    """The order accepted for `request`, logged in the account's order log either way; -4116 for a known id."""
    if state.engine.order(request.client_id) is not None:
        state.record_order(book, request, "rejected -4116")
        raise BinanceError(-4116, "ClientOrderId is duplicated.")
    try:
        order = state.engine.submit(request)
    except PaperRejected as exc:
        state.record_order(book, request, f"rejected {exc.code}")
        raise
    state.record_order(book, request, "accepted")
    return order


def _find(state: ExchangeState, params: Params, algo: bool) -> Order:
    """The order named by orderId/origClientOrderId (or algoId/clientAlgoId); -1102 with neither, -2013 if none."""
    engine = state.engine
    if algo:
        cid, vid = params.get("clientAlgoId"), params.get("algoId")
    else:
        cid, vid = params.get("origClientOrderId"), params.get("orderId")
    order = engine.order(cid) if cid else engine.order_by_venue_id(vid) if vid else None
    if cid is None and vid is None:
        name = "algoId" if algo else "orderId"
        raise BinanceError(-1102, f"Either {name} or the client id must be sent.")
    # Plain and algo orders live in separate books on Binance.
    if order is None or (order.type is OrderType.STOP_MARKET) != algo:
        raise BinanceError(-2013, "Order does not exist.")
    return order


# ------------------------------------------------------------------ plain orders


@signed
def new_order(state: ExchangeState, params: Params) -> dict[str, Any]:
    check_symbol(state, params)
    otype = required_param(params, "type").upper()
    if otype in _CONDITIONAL_TYPES:
        raise BinanceError(
            -4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."
        )
    if otype not in ("MARKET", "LIMIT"):
        raise BinanceError(-1116, "Invalid orderType.")
    cid = params.get("newClientOrderId") or f"devnet{state.engine.fill_count}{state.now_ms()}"
    request = OrderRequest(
        cid,
        side_param(params),
        OrderType.LIMIT if otype == "LIMIT" else OrderType.MARKET,
        contracts_param(params),
        price=price_param(params, "price") if otype == "LIMIT" else None,
        reduce_only=truthy(params.get("reduceOnly")),
    )
    order = _submit(state, "order", request)
    state.order_times[cid] = state.now_ms()
    return _plain(state, order)


@signed
def get_order(state: ExchangeState, params: Params) -> dict[str, Any]:
    check_symbol(state, params)
    return _plain(state, _find(state, params, algo=False))


@signed
def cancel_order(state: ExchangeState, params: Params) -> dict[str, Any]:
    check_symbol(state, params)
    order = _find(state, params, algo=False)
    canceled = state.engine.cancel(order.client_id)
    if canceled is None or canceled.status.value != "canceled" or order.status.value != "open":
        raise BinanceError(-2011, "Unknown order sent.")
    return _plain(state, canceled)


@signed
def amend_order(state: ExchangeState, params: Params) -> dict[str, Any]:
    check_symbol(state, params)
    order = _find(state, params, algo=False)
    if order.type is not OrderType.LIMIT or order.status.value != "open":
        raise BinanceError(-2013, "Order does not exist.")
    amended = state.engine.amend(order.client_id, contracts_param(params), price_param(params, "price"))
    assert amended is not None
    return _plain(state, amended)


@signed
def open_orders(state: ExchangeState, params: Params) -> list[dict[str, Any]]:
    return [_plain(state, o) for o in state.engine.open_orders() if o.type is not OrderType.STOP_MARKET]


@signed
def all_orders(state: ExchangeState, params: Params) -> list[dict[str, Any]]:
    engine = state.engine
    orders = (engine.order(cid) for cid in state.order_times)
    return [_plain(state, o) for o in orders if o is not None and o.type is not OrderType.STOP_MARKET]


# ------------------------------------------------------------------ algo (conditional) orders


@signed
def new_algo_order(state: ExchangeState, params: Params) -> dict[str, Any]:
    check_symbol(state, params)
    if required_param(params, "algoType").upper() != "CONDITIONAL":
        raise BinanceError(-1116, "Invalid algoType.")
    if required_param(params, "type").upper() != "STOP_MARKET":
        raise BinanceError(-1116, "Invalid orderType: the devnet exchange takes STOP_MARKET conditionals only.")
    cid = params.get("clientAlgoId") or f"devnetalgo{state.now_ms()}"
    request = OrderRequest(
        cid,
        side_param(params),
        OrderType.STOP_MARKET,
        contracts_param(params),
        trigger_price=price_param(params, "triggerPrice"),
        reduce_only=truthy(params.get("reduceOnly")),
    )
    order = _submit(state, "algo", request)
    state.order_times[cid] = state.now_ms()
    # Every devnet trigger watches the mark; the workingType sent is echoed back as it was.
    state.working_types[cid] = params.get("workingType", "CONTRACT_PRICE")
    return _algo(state, order)


@signed
def get_algo_order(state: ExchangeState, params: Params) -> dict[str, Any]:
    return _algo(state, _find(state, params, algo=True))


@signed
def cancel_algo_order(state: ExchangeState, params: Params) -> dict[str, Any]:
    order = _find(state, params, algo=True)
    if order.status.value != "open":
        raise BinanceError(-2011, "Unknown order sent.")
    canceled = state.engine.cancel(order.client_id)
    assert canceled is not None
    return _algo(state, canceled)


@signed
def open_algo_orders(state: ExchangeState, params: Params) -> list[dict[str, Any]]:
    return [_algo(state, o) for o in state.engine.open_orders() if o.type is OrderType.STOP_MARKET]
