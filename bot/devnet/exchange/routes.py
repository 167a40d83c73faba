"""The /dapi routes: parse, authenticate, call the paper engine, answer in Binance's JSON and codes."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot.devnet.exchange import dialect
from bot.devnet.exchange.auth import AuthError, check_signed
from bot.domain.orders import Order, OrderType
from bot.paper.errors import PaperRejected

if TYPE_CHECKING:
    from bot.devnet.exchange.server import ExchangeServer

Params = dict[str, str]
SERVER_KEY: web.AppKey[ExchangeServer] = web.AppKey("server")
Handler = Callable[["ExchangeServer", Params], Any]


def _server(request: web.Request) -> ExchangeServer:
    return request.app[SERVER_KEY]


def error(code: int, msg: str, status: int = 400) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status)


def endpoint(signed: bool) -> Callable[[Handler], Callable[[web.Request], Awaitable[web.Response]]]:
    """Wrap a handler: parse query and form body, check the signature, serialise engine access."""

    def wrap(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        @functools.wraps(handler)
        async def run(request: web.Request) -> web.Response:
            server = _server(request)
            body = await request.text() if request.can_read_body else ""
            params: Params = dict(request.query)
            params.update(dict(parse_qsl(body)))
            try:
                if signed:
                    check_signed(
                        api_key_header=request.headers.get("X-MBX-APIKEY"),
                        api_key=server.api_key,
                        api_secret=server.api_secret,
                        query_string=request.query_string,
                        body=body,
                        params=params,
                        now_ms=server.now_ms(),
                    )
                async with server.lock:
                    server.engine.advance_time(server.now_ms())
                    result = handler(server, params)
                    if request.method != "GET":
                        server.save()
            except AuthError as exc:
                return error(exc.code, exc.msg, exc.status)
            except PaperRejected as exc:
                return error(exc.code, exc.message)
            except BinanceError as exc:
                return error(exc.code, exc.msg)
            return web.json_response(result)

        return run

    return wrap


class BinanceError(Exception):
    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code, self.msg = code, msg


def _need(params: Params, name: str) -> str:
    value = params.get(name)
    if value in (None, ""):
        raise BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
    return str(value)


def _symbol(server: ExchangeServer, params: Params, required: bool = True) -> None:
    symbol = params.get("symbol")
    if symbol is None and not required:
        return
    if _need(params, "symbol") != server.engine.instrument.venue_symbol:
        raise BinanceError(-1121, "Invalid symbol.")


def _contracts(params: Params, name: str = "quantity") -> int:
    raw = _need(params, name)
    try:
        value = float(raw)
    except ValueError:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from None
    if value != int(value) or value <= 0:
        raise BinanceError(-1111, "Precision is over the maximum defined for this asset.")
    return int(value)


def _price(params: Params, name: str) -> float:
    try:
        return float(_need(params, name))
    except ValueError:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from None


def _truthy(value: str | None) -> bool:
    return str(value).lower() == "true"


def _plain(server: ExchangeServer, order: Order) -> dict[str, Any]:
    created = server.order_times.get(order.client_id, server.now_ms())
    return dialect.plain_order(order, server.engine.instrument, created, server.now_ms())


def _algo(server: ExchangeServer, order: Order) -> dict[str, Any]:
    created = server.order_times.get(order.client_id, server.now_ms())
    working = server.working_types.get(order.client_id, "MARK_PRICE")
    return dialect.algo_order(order, server.engine.instrument, working, created, server.now_ms())


def _find(server: ExchangeServer, params: Params, algo: bool) -> Order:
    """The order named by orderId/origClientOrderId (or algoId/clientAlgoId); -2011/-2013 otherwise."""
    engine = server.engine
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


# ------------------------------------------------------------------ public


@endpoint(signed=False)
def ping(server: ExchangeServer, params: Params) -> dict[str, Any]:
    return {}


@endpoint(signed=False)
def server_time(server: ExchangeServer, params: Params) -> dict[str, Any]:
    return {"serverTime": server.now_ms()}


@endpoint(signed=False)
def exchange_info(server: ExchangeServer, params: Params) -> dict[str, Any]:
    return dialect.exchange_info(server.engine.instrument, server.now_ms())


@endpoint(signed=False)
def premium_index(server: ExchangeServer, params: Params) -> list[dict[str, Any]]:
    _symbol(server, params, required=False)
    e = server.engine
    return [
        {
            "symbol": e.instrument.venue_symbol,
            "pair": dialect.PAIR,
            "markPrice": dialect.num(e.mark),
            "indexPrice": dialect.num(e.mark),
            "estimatedSettlePrice": dialect.num(e.mark),
            "lastFundingRate": dialect.num(e.funding_rate_at(server.now_ms())),
            "interestRate": "0.00010000",
            "nextFundingTime": e.next_funding_ms,
            "time": server.now_ms(),
        }
    ]


@endpoint(signed=False)
def ticker_24hr(server: ExchangeServer, params: Params) -> list[dict[str, Any]]:
    _symbol(server, params, required=False)
    now = server.now_ms()
    day = [p for t, p in server.history if t >= now - 86_400_000] or [server.engine.last]
    e = server.engine
    return [
        {
            "symbol": e.instrument.venue_symbol,
            "pair": dialect.PAIR,
            "priceChange": dialect.num(day[-1] - day[0]),
            "priceChangePercent": dialect.num((day[-1] / day[0] - 1) * 100, 3),
            "weightedAvgPrice": dialect.num(sum(day) / len(day)),
            "lastPrice": dialect.num(e.last),
            "lastQty": "1",
            "openPrice": dialect.num(day[0]),
            "highPrice": dialect.num(max(day)),
            "lowPrice": dialect.num(min(day)),
            "volume": "0",
            "baseVolume": "0",
            "openTime": now - 86_400_000,
            "closeTime": now,
            "firstId": 0,
            "lastId": 0,
            "count": 0,
        }
    ]


@endpoint(signed=False)
def book_ticker(server: ExchangeServer, params: Params) -> list[dict[str, Any]]:
    _symbol(server, params, required=False)
    e = server.engine
    return [
        {
            "symbol": e.instrument.venue_symbol,
            "pair": dialect.PAIR,
            "bidPrice": dialect.num(e.bid),
            "bidQty": "1000",
            "askPrice": dialect.num(e.ask),
            "askQty": "1000",
            "time": server.now_ms(),
        }
    ]


@endpoint(signed=False)
def klines(server: ExchangeServer, params: Params) -> list[list[Any]]:
    """One-minute bars of the mark samples seen (the interval asked for is not resampled).

    As Binance pages them: bars opening in [startTime, endTime], the first `limit` of them from a
    startTime, else the last `limit` (at most 1500, 500 by default).
    """
    _symbol(server, params)
    bars: dict[int, list[float]] = {}
    for t, p in server.history:
        bars.setdefault(t - t % 60_000, []).append(p)
    start = int(params["startTime"]) if params.get("startTime") else None
    end = int(params["endTime"]) if params.get("endTime") else None
    limit = min(int(params.get("limit") or "500"), 1500)
    opens = [t for t in sorted(bars) if (start is None or t >= start) and (end is None or t <= end)]
    out = []
    for start_ms in opens[:limit] if start is not None else opens[-limit:]:
        ps = bars[start_ms]
        o, h, lo, c = ps[0], max(ps), min(ps), ps[-1]
        out.append([start_ms, *(dialect.num(x) for x in (o, h, lo, c)), "0", start_ms + 59_999, "0", 0, "0", "0", "0"])
    return out
