"""The unsigned /dapi market routes: ping, time, exchangeInfo, premiumIndex (the mark), tickers, klines."""

from __future__ import annotations

from typing import Any

from bot.devnet.exchange import dialect
from bot.devnet.exchange.http import Params, check_symbol, endpoint
from bot.devnet.exchange.state import ExchangeState

public = endpoint(signed=False)


@public
def ping(state: ExchangeState, params: Params) -> dict[str, Any]:
    return {}


@public
def server_time(state: ExchangeState, params: Params) -> dict[str, Any]:
    return {"serverTime": state.now_ms()}


@public
def exchange_info(state: ExchangeState, params: Params) -> dict[str, Any]:
    return dialect.exchange_info(state.engine.instrument, state.now_ms())


@public
def premium_index(state: ExchangeState, params: Params) -> list[dict[str, Any]]:
    check_symbol(state, params, required=False)
    e = state.engine
    return [
        {
            "symbol": e.instrument.venue_symbol,
            "pair": dialect.PAIR,
            "markPrice": dialect.num(e.mark),
            "indexPrice": dialect.num(e.mark),
            "estimatedSettlePrice": dialect.num(e.mark),
            "lastFundingRate": dialect.num(e.funding_rate_at(state.now_ms())),
            "interestRate": "0.00010000",
            "nextFundingTime": e.next_funding_ms,
            "time": state.now_ms(),
        }
    ]


@public
def ticker_24hr(state: ExchangeState, params: Params) -> list[dict[str, Any]]:
    check_symbol(state, params, required=False)
    now = state.now_ms()
    day = [p for t, p in state.history if t >= now - 86_400_000] or [state.engine.last]
    e = state.engine
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


@public
def book_ticker(state: ExchangeState, params: Params) -> list[dict[str, Any]]:
    check_symbol(state, params, required=False)
    e = state.engine
    return [
        {
            "symbol": e.instrument.venue_symbol,
            "pair": dialect.PAIR,
            "bidPrice": dialect.num(e.bid),
            "bidQty": "1000",
            "askPrice": dialect.num(e.ask),
            "askQty": "1000",
            "time": state.now_ms(),
        }
    ]


@public
def klines(state: ExchangeState, params: Params) -> list[list[Any]]:
    """One-minute bars of the mark samples seen (the interval asked for is not resampled).

    As Binance pages them: bars opening in [startTime, endTime], the first `limit` of them from a
    startTime, else the last `limit` (at most 1500, 500 by default).
    """
    check_symbol(state, params)
    bars: dict[int, list[float]] = {}
    for t, p in state.history:
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
