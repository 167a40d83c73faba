"""The signed /dapi routes (account, orders, algo orders) and the route table, admin routes included."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.devnet.exchange import dialect, income, routes
from bot.devnet.exchange.routes import (
    SERVER_KEY,
    BinanceError,
    Params,
    _algo,
    _contracts,
    _find,
    _need,
    _plain,
    _price,
    _symbol,
)
from bot.devnet.exchange.routes import _truthy as truthy
from bot.domain.orders import OrderRequest, OrderType, Side
from bot.paper.errors import MarginModeChangeRejected

if TYPE_CHECKING:
    from bot.devnet.exchange.server import ExchangeServer

signed = routes.endpoint(signed=True)
_CONDITIONAL_TYPES = {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"}


def _side(params: Params) -> Side:
    side = _need(params, "side").upper()
    if side not in ("BUY", "SELL"):
        raise BinanceError(-1117, "Invalid side.")
    return Side(side.lower())


# ------------------------------------------------------------------ account


@signed
def account(server: ExchangeServer, params: Params) -> dict[str, Any]:
    return dialect.account(server.engine, server.now_ms())


@signed
def balance(server: ExchangeServer, params: Params) -> list[dict[str, Any]]:
    return dialect.balance(server.engine, server.now_ms())


@signed
def position_risk(server: ExchangeServer, params: Params) -> list[dict[str, Any]]:
    return [dialect.position_risk(server.engine, server.now_ms())]


@signed
def leverage_bracket(server: ExchangeServer, params: Params) -> list[dict[str, Any]]:
    return dialect.leverage_brackets(server.engine.instrument)


@signed
def set_leverage(server: ExchangeServer, params: Params) -> dict[str, Any]:
    _symbol(server, params)
    leverage = int(_price(params, "leverage"))
    engine = server.engine
    if not 1 <= leverage <= engine.instrument.max_leverage:
        raise BinanceError(-4028, f"Leverage {leverage} is not valid")
    engine.configure(float(leverage), engine.margin_mode)
    return {"leverage": leverage, "maxQty": "1000000", "symbol": engine.instrument.venue_symbol}


@signed
def set_margin_type(server: ExchangeServer, params: Params) -> dict[str, Any]:
    _symbol(server, params)
    wanted = {"ISOLATED": "isolated", "CROSSED": "cross"}.get(_need(params, "marginType").upper())
    if wanted is None:
        raise BinanceError(-4044, "The margin type is invalid.")
    engine = server.engine
    if wanted == engine.margin_mode:
        raise BinanceError(-4046, "No need to change margin type.")
    try:
        engine.configure(engine.leverage, wanted)  # type: ignore[arg-type]
    except MarginModeChangeRejected:
        raise BinanceError(-4048, "Margin type cannot be changed if there exists position.") from None
    return {"code": 200, "msg": "success"}


@signed
def user_trades(server: ExchangeServer, params: Params) -> list[dict[str, Any]]:
    engine = server.engine
    spec = engine.instrument
    since = int(params.get("startTime", "0"))
    out = []
    for i, fill in enumerate(engine.fills(since), start=1):
        order = engine.order(fill.client_id)
        out.append(
            {
                "symbol": spec.venue_symbol,
                "id": i,
                "orderId": int(order.venue_id) if order else 0,
                "pair": dialect.PAIR,
                "side": fill.side.value.upper(),
                "price": dialect.num(fill.price),
                "qty": str(fill.contracts),
                "realizedPnl": "0",
                "marginAsset": "BTC",
                "baseQty": dialect.num(fill.contracts * spec.contract_size_usd / fill.price),
                "commission": dialect.num(fill.fee_btc),
                "commissionAsset": "BTC",
                "time": fill.timestamp_ms,
                "positionSide": "BOTH",
                "buyer": fill.side is Side.BUY,
                "maker": False,
            }
        )
    return out[-int(params.get("limit", "500")) :]


# ------------------------------------------------------------------ plain orders


@signed
def new_order(server: ExchangeServer, params: Params) -> dict[str, Any]:
    _symbol(server, params)
    otype = _need(params, "type").upper()
    if otype in _CONDITIONAL_TYPES:
        raise BinanceError(
            -4120, "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."
        )
    if otype not in ("MARKET", "LIMIT"):
        raise BinanceError(-1116, "Invalid orderType.")
    cid = params.get("newClientOrderId") or f"devnet{server.engine.fill_count}{server.now_ms()}"
    if server.engine.order(cid) is not None:
        raise BinanceError(-4116, "ClientOrderId is duplicated.")
    request = OrderRequest(
        cid,
        _side(params),
        OrderType.LIMIT if otype == "LIMIT" else OrderType.MARKET,
        _contracts(params),
        price=_price(params, "price") if otype == "LIMIT" else None,
        reduce_only=truthy(params.get("reduceOnly")),
    )
    server.order_times[cid] = server.now_ms()
    return _plain(server, server.engine.submit(request))


@signed
def get_order(server: ExchangeServer, params: Params) -> dict[str, Any]:
    _symbol(server, params)
    return _plain(server, _find(server, params, algo=False))


@signed
def cancel_order(server: ExchangeServer, params: Params) -> dict[str, Any]:
    _symbol(server, params)
    order = _find(server, params, algo=False)
    canceled = server.engine.cancel(order.client_id)
    if canceled is None or canceled.status.value != "canceled" or order.status.value != "open":
        raise BinanceError(-2011, "Unknown order sent.")
    return _plain(server, canceled)


@signed
def amend_order(server: ExchangeServer, params: Params) -> dict[str, Any]:
    _symbol(server, params)
    order = _find(server, params, algo=False)
    if order.type is not OrderType.LIMIT or order.status.value != "open":
        raise BinanceError(-2013, "Order does not exist.")
    amended = server.engine.amend(order.client_id, _contracts(params), _price(params, "price"))
    assert amended is not None
    return _plain(server, amended)


@signed
def open_orders(server: ExchangeServer, params: Params) -> list[dict[str, Any]]:
    return [_plain(server, o) for o in server.engine.open_orders() if o.type is not OrderType.STOP_MARKET]


@signed
def all_orders(server: ExchangeServer, params: Params) -> list[dict[str, Any]]:
    engine = server.engine
    orders = (engine.order(cid) for cid in server.order_times)
    return [_plain(server, o) for o in orders if o is not None and o.type is not OrderType.STOP_MARKET]


# ------------------------------------------------------------------ algo (conditional) orders


@signed
def new_algo_order(server: ExchangeServer, params: Params) -> dict[str, Any]:
    _symbol(server, params)
    if _need(params, "algoType").upper() != "CONDITIONAL":
        raise BinanceError(-1116, "Invalid algoType.")
    if _need(params, "type").upper() != "STOP_MARKET":
        raise BinanceError(-1116, "Invalid orderType: the devnet exchange takes STOP_MARKET conditionals only.")
    cid = params.get("clientAlgoId") or f"devnetalgo{server.now_ms()}"
    if server.engine.order(cid) is not None:
        raise BinanceError(-4116, "ClientOrderId is duplicated.")
    request = OrderRequest(
        cid,
        _side(params),
        OrderType.STOP_MARKET,
        _contracts(params),
        trigger_price=_price(params, "triggerPrice"),
        reduce_only=truthy(params.get("reduceOnly")),
    )
    order = server.engine.submit(request)
    server.order_times[cid] = server.now_ms()
    # Every devnet trigger watches the mark; the workingType sent is echoed back as it was.
    server.working_types[cid] = params.get("workingType", "CONTRACT_PRICE")
    return _algo(server, order)


@signed
def get_algo_order(server: ExchangeServer, params: Params) -> dict[str, Any]:
    return _algo(server, _find(server, params, algo=True))


@signed
def cancel_algo_order(server: ExchangeServer, params: Params) -> dict[str, Any]:
    order = _find(server, params, algo=True)
    if order.status.value != "open":
        raise BinanceError(-2011, "Unknown order sent.")
    canceled = server.engine.cancel(order.client_id)
    assert canceled is not None
    return _algo(server, canceled)


@signed
def open_algo_orders(server: ExchangeServer, params: Params) -> list[dict[str, Any]]:
    return [_algo(server, o) for o in server.engine.open_orders() if o.type is OrderType.STOP_MARKET]


# ------------------------------------------------------------------ admin (outside /dapi, unsigned)


async def admin_mark_price(request: web.Request) -> web.Response:
    server: ExchangeServer = request.app[SERVER_KEY]
    body = await request.json()
    if body.get("symbol", server.engine.instrument.venue_symbol) != server.engine.instrument.venue_symbol:
        return routes.error(-1121, "Invalid symbol.")
    async with server.lock:
        fills = server.set_mark(float(body["price"]))
    return web.json_response(
        {"symbol": server.engine.instrument.venue_symbol, "markPrice": server.engine.mark, "fills": fills}
    )


async def admin_state(request: web.Request) -> web.Response:
    server: ExchangeServer = request.app[SERVER_KEY]
    e = server.engine
    async with server.lock:
        pos = e.position()
        body = {
            "mark": e.mark,
            "wallet_btc": e.wallet_btc,
            "equity_btc": e.equity_btc(),
            "contracts": pos.contracts,
            "entry_price": pos.entry_price,
            "unrealized_pnl_btc": pos.unrealized_pnl_btc,
            "open_orders": len(e.open_orders()),
            "leverage": e.leverage,
            "margin_mode": e.margin_mode,
        }
    return web.json_response(body)


def add_routes(app: web.Application) -> None:
    v1 = "/dapi/v1"
    app.router.add_get(f"{v1}/ping", routes.ping)
    app.router.add_get(f"{v1}/time", routes.server_time)
    app.router.add_get(f"{v1}/exchangeInfo", routes.exchange_info)
    app.router.add_get(f"{v1}/premiumIndex", routes.premium_index)
    app.router.add_get(f"{v1}/ticker/24hr", routes.ticker_24hr)
    app.router.add_get(f"{v1}/ticker/bookTicker", routes.book_ticker)
    app.router.add_get(f"{v1}/klines", routes.klines)
    app.router.add_get(f"{v1}/account", account)
    app.router.add_get(f"{v1}/balance", balance)
    app.router.add_get(f"{v1}/positionRisk", position_risk)
    app.router.add_get("/dapi/v2/leverageBracket", leverage_bracket)
    app.router.add_post(f"{v1}/leverage", set_leverage)
    app.router.add_post(f"{v1}/marginType", set_margin_type)
    app.router.add_get(f"{v1}/userTrades", user_trades)
    app.router.add_get(f"{v1}/income", income.income)
    app.router.add_post(f"{v1}/order", new_order)
    app.router.add_get(f"{v1}/order", get_order)
    app.router.add_delete(f"{v1}/order", cancel_order)
    app.router.add_put(f"{v1}/order", amend_order)
    app.router.add_get(f"{v1}/openOrders", open_orders)
    app.router.add_get(f"{v1}/allOrders", all_orders)
    app.router.add_post(f"{v1}/algoOrder", new_algo_order)
    app.router.add_get(f"{v1}/algoOrder", get_algo_order)
    app.router.add_delete(f"{v1}/algoOrder", cancel_algo_order)
    app.router.add_get(f"{v1}/openAlgoOrders", open_algo_orders)
    app.router.add_post("/_devnet/mark_price", admin_mark_price)
    app.router.add_get("/_devnet/state", admin_state)
