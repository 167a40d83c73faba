"""What every /dapi handler shares: reading a request's parameters, checking its signature, answering in
Binance's error codes. A handler is `(state, params) -> JSON`; `endpoint` makes it an aiohttp handler.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from bot.devnet.exchange.auth import AuthError, check_signed
from bot.devnet.exchange.state import ExchangeState
from bot.domain.orders import Side
from bot.paper.errors import PaperRejected

Params = dict[str, str]
Handler = Callable[[ExchangeState, Params], Any]
RequestHandler = Callable[[web.Request], Awaitable[web.Response]]
STATE_KEY: web.AppKey[ExchangeState] = web.AppKey("state", ExchangeState)


class BinanceError(Exception):
    """A request Binance would refuse: its code and message."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code, self.msg = code, msg


def error(code: int, msg: str, status: int = 400) -> web.Response:
    """Binance's error answer: {"code": ..., "msg": ...}."""
    return web.json_response({"code": code, "msg": msg}, status=status)


def endpoint(signed: bool) -> Callable[[Handler], RequestHandler]:
    """Wrap a handler: parse query and form body, check the signature, serialise engine access."""

    def wrap(handler: Handler) -> RequestHandler:
        @functools.wraps(handler)
        async def run(request: web.Request) -> web.Response:
            state = request.app[STATE_KEY]
            body = await request.text() if request.can_read_body else ""
            params: Params = dict(request.query)
            params.update(dict(parse_qsl(body)))
            try:
                if signed:
                    check_signed(
                        api_key_header=request.headers.get("X-MBX-APIKEY"),
                        api_key=state.api_key,
                        api_secret=state.api_secret,
                        query_string=request.query_string,
                        body=body,
                        params=params,
                        now_ms=state.now_ms(),
                    )
                async with state.lock:
                    state.engine.advance_time(state.now_ms())
                    result = handler(state, params)
                    if request.method != "GET":
                        state.save()
            except AuthError as exc:
                return error(exc.code, exc.msg, exc.status)
            except PaperRejected as exc:
                return error(exc.code, exc.message)
            except BinanceError as exc:
                return error(exc.code, exc.msg)
            return web.json_response(result)

        return run

    return wrap


# ------------------------------------------------------------------ parameters


def required_param(params: Params, name: str) -> str:
    """The parameter's value; -1102 when it is missing or empty."""
    value = params.get(name)
    if value in (None, ""):
        raise BinanceError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
    return str(value)


def check_symbol(state: ExchangeState, params: Params, required: bool = True) -> None:
    """Refuse (-1121) a symbol other than the one the exchange lists."""
    symbol = params.get("symbol")
    if symbol is None and not required:
        return
    if required_param(params, "symbol") != state.engine.instrument.venue_symbol:
        raise BinanceError(-1121, "Invalid symbol.")


def contracts_param(params: Params, name: str = "quantity") -> int:
    """A whole, positive number of contracts."""
    raw = required_param(params, name)
    try:
        value = float(raw)
    except ValueError:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from None
    if value != int(value) or value <= 0:
        raise BinanceError(-1111, "Precision is over the maximum defined for this asset.")
    return int(value)


def price_param(params: Params, name: str) -> float:
    try:
        return float(required_param(params, name))
    except ValueError:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from None


def int_param(params: Params, name: str, default: int) -> int:
    """An optional integer parameter (a time, a limit); `default` when absent or empty."""
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(str(raw))
    except ValueError:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from None


def side_param(params: Params) -> Side:
    side = required_param(params, "side").upper()
    if side not in ("BUY", "SELL"):
        raise BinanceError(-1117, "Invalid side.")
    return Side(side.lower())


def truthy(value: str | None) -> bool:
    """Binance's booleans are the strings 'true' and 'false'."""
    return str(value).lower() == "true"
