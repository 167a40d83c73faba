"""The unsigned /dapi market routes: ping, time, exchangeInfo, premiumIndex (the mark), tickers, klines of the
last and of the mark price, and the funding-rate history."""

from __future__ import annotations

from typing import Any

from bot.devnet.exchange import dialect
from bot.devnet.exchange.http import BinanceError, Params, check_symbol, endpoint, int_param, required_param
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


# Binance's kline intervals of fixed length. Weekly bars open on Monday 00:00 UTC (the epoch was a Thursday);
# monthly bars ("1M") follow the calendar and are not served.
INTERVAL_MS = {
    **{f"{n}m": n * 60_000 for n in (1, 3, 5, 15, 30)},
    **{f"{n}h": n * 3_600_000 for n in (1, 2, 4, 6, 8, 12)},
    **{f"{n}d": n * 86_400_000 for n in (1, 3)},
    "1w": 7 * 86_400_000,
}
_WEEK_OFFSET_MS = 4 * 86_400_000


def _bar_open(t: int, interval_ms: int) -> int:
    offset = _WEEK_OFFSET_MS if interval_ms == INTERVAL_MS["1w"] else 0
    return t - (t - offset) % interval_ms


def _page(times: list[int], params: Params, default_limit: int, max_limit: int) -> list[int]:
    """Binance's paging of a time series: the times in [startTime, endTime], the first `limit` of them
    from a startTime, else the last `limit`."""
    start = int_param(params, "startTime", -1)
    end = int_param(params, "endTime", 2**62)
    limit = min(int_param(params, "limit", default_limit), max_limit)
    if limit < 1:
        raise BinanceError(-1130, "Data sent for parameter 'limit' is not valid.")
    inside = [t for t in times if start <= t <= end]
    return inside[:limit] if start >= 0 else inside[-limit:]


def _mark_bars(state: ExchangeState, params: Params) -> list[tuple[int, int, list[float]]]:
    """(open time, interval, mark samples) of each bar of the interval asked for that has a sample, paged."""
    check_symbol(state, params)
    interval_ms = INTERVAL_MS.get(required_param(params, "interval"))
    if interval_ms is None:
        raise BinanceError(-1120, "Invalid interval.")
    bars: dict[int, list[float]] = {}
    for t, p in state.history:
        bars.setdefault(_bar_open(t, interval_ms), []).append(p)
    return [(t, interval_ms, bars[t]) for t in _page(sorted(bars), params, 500, 1500)]


def _kline_rows(state: ExchangeState, params: Params) -> list[list[Any]]:
    return [
        [t, *(dialect.num(x) for x in (ps[0], max(ps), min(ps), ps[-1])), "0", t + ms - 1, "0", len(ps), "0", "0", "0"]
        for t, ms, ps in _mark_bars(state, params)
    ]


@public
def klines(state: ExchangeState, params: Params) -> list[list[Any]]:
    """Bars of the mark samples seen, at the interval asked for (the last price is the mark here).

    As Binance pages them: bars opening in [startTime, endTime], the first `limit` of them from a
    startTime, else the last `limit` (at most 1500, 500 by default). A bar with no sample is absent.
    """
    return _kline_rows(state, params)


@public
def mark_price_klines(state: ExchangeState, params: Params) -> list[list[Any]]:
    """GET /dapi/v1/markPriceKlines: the mark's bars, paged as klines (Binance leaves the volumes "0")."""
    return _kline_rows(state, params)


@public
def funding_rate(state: ExchangeState, params: Params) -> list[dict[str, Any]]:
    """GET /dapi/v1/fundingRate: the market's funding rate at each funding time the mark history spans.

    Paged as Binance does (limit 100 by default, at most 1000), oldest first, with the mark it settled at.
    """
    check_symbol(state, params)
    events = {t: (rate, mark) for t, rate, mark in state.funding_history()}
    return [
        {
            "symbol": state.engine.instrument.venue_symbol,
            "fundingTime": t,
            "fundingRate": dialect.num(events[t][0]),
            "markPrice": dialect.num(events[t][1]),
        }
        for t in _page(sorted(events), params, 100, 1000)
    ]
