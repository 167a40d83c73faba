"""Candles, mark-price candles and funding rates from an exchange's public endpoints (ccxt, no key), appended
to the CSV files `bot.backtest.data` reads (see store.py for the files).

    exchange = public_exchange("binancecoinm")
    plan = await plan_downloads(exchange, ["BTC/USD:BTC"], "1h", ["ohlcv", "funding"], Path("data"))
    results = await download(exchange, plan, since_ms, until_ms, await venue_now_ms(exchange, "BTC/USD:BTC"))

Each series resumes after its file's last row, asks the venue one window of bars at a time (ccxt's rate
limiter on) and writes each page as it comes, so an interruption loses at most the page in flight. Only closed bars are
written (by the venue's clock). Bars the venue does not have are reported as gaps, never filled; a row the
backtest would refuse (a bar whose low is above its close, an absurd funding rate) is dropped and counted.
"""

from __future__ import annotations

import difflib
import functools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ccxt.async_support as ccxt

from bot.backtest.data import format_time
from bot.backtest.store import (
    FUNDING_HEADER,
    MARK_HEADER,
    OHLCV_HEADER,
    Appender,
    Gaps,
    file_name,
    find_gaps,
    iso_time,
    number,
    read_times,
)
from bot.domain.features.history import closed_bars
from bot.errors import UsageError, VenueError
from bot.venues.ccxt.errors import RetryPolicy, classify, with_retries
from bot.venues.ccxt.registry import VENUE_IDS, venue_spec

KINDS = ("ohlcv", "mark", "funding")
FUNDING_PAGE = {"bybit": 200, "okx": 100}  # rows per funding-history request; Binance gives 1000
DEFAULT_FUNDING_PAGE = 1000
RETRY = RetryPolicy()  # network trouble: resend, backing off, then stop (a rerun resumes)
ABSURD_FUNDING_RATE = 0.05  # bot.backtest.data refuses a rate this large per interval

Progress = Callable[[str, int, int], None]  # (series label, ms done, ms to do)


@dataclass(frozen=True, slots=True)
class Series:
    """One file to bring up to date: a kind of data for one market."""

    kind: str  # ohlcv, mark or funding
    symbol: str  # ccxt's unified symbol
    timeframe: str | None  # None for funding
    bar_ms: int | None  # None for funding: its interval is read from the rows
    path: Path

    @property
    def label(self) -> str:
        what = {"ohlcv": "candles", "mark": "mark candles", "funding": "funding rates"}[self.kind]
        return f"{self.symbol} {self.timeframe + ' ' if self.timeframe else ''}{what}"

    @property
    def header(self) -> tuple[str, ...]:
        return {"ohlcv": OHLCV_HEADER, "mark": MARK_HEADER, "funding": FUNDING_HEADER}[self.kind]


@dataclass(slots=True)
class Result:
    """What a download did to one file, and what the file holds now."""

    series: Series
    rows_before: int = 0
    rows_added: int = 0
    rows_in_range: int = 0
    first_ms: int | None = None
    last_ms: int | None = None
    dropped: int = 0
    gaps: Gaps = field(default_factory=Gaps)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        s = self.series
        return {
            "kind": s.kind,
            "symbol": s.symbol,
            "timeframe": s.timeframe,
            "path": str(s.path),
            "rows": self.rows_before + self.rows_added,
            "rows_added": self.rows_added,
            "first": iso_time(self.first_ms) if self.first_ms is not None else None,
            "last": iso_time(self.last_ms) if self.last_ms is not None else None,
            "dropped": self.dropped,
            "gaps": self.gaps.as_dict(),
            "notes": self.notes,
        }


def public_exchange(exchange_id: str, api_url: str | None = None) -> Any:
    """A ccxt client with no key and its rate limiter on; `api_url` sends it to a compatible local server."""
    if exchange_id not in ccxt.exchanges:
        close = difflib.get_close_matches(exchange_id.lower(), ccxt.exchanges, n=4)
        hint = f"; did you mean {', '.join(close)}?" if close else " (see ccxt's list of exchange ids)"
        raise UsageError(f"ccxt has no exchange {exchange_id!r}{hint}")
    exchange = getattr(ccxt, exchange_id)({"enableRateLimit": True})
    if exchange_id == "binancecoinm":
        # Markets come from dapi alone; the currency and margin lists are spot calls a download never needs.
        exchange.options["fetchCurrencies"] = False
        exchange.options["fetchMargins"] = False
    if api_url:
        point_at = venue_spec(exchange_id).point_at if exchange_id in VENUE_IDS else None
        if point_at is None:
            raise UsageError(f"--api-url points {exchange_id} at a local server, which only binancecoinm speaks")
        point_at(exchange, api_url)
    return exchange


def bar_ms_of(exchange: Any, timeframe: str) -> int:
    """The length of the venue's `timeframe` bars; UsageError listing the venue's own when it has none."""
    fixed = [name for name in exchange.timeframes or {} if not name.endswith(("M", "y"))]
    if timeframe not in fixed:
        raise UsageError(f"{exchange.id} has no {timeframe!r} timeframe; it offers {', '.join(fixed)}")
    return int(exchange.parse_timeframe(timeframe) * 1000)


def find_market(exchange: Any, text: str) -> dict[str, Any]:
    """The market a unified symbol (BTC/USD:BTC) or a venue id (BTCUSD_PERP) names; UsageError with close ones."""
    markets: dict[str, Any] = exchange.markets
    for candidate in (text, text.upper()):
        if candidate in markets:
            return dict(markets[candidate])
        by_id = exchange.markets_by_id.get(candidate)
        if by_id:
            return dict(by_id[0])
    wanted = text.upper()
    close = difflib.get_close_matches(wanted, sorted(markets), n=5, cutoff=0.5)
    by_venue_id = {m["id"]: m["symbol"] for m in markets.values()}
    close += [
        by_venue_id[i]
        for i in difflib.get_close_matches(wanted, list(by_venue_id), n=3, cutoff=0.6)
        if by_venue_id[i] not in close
    ]
    hint = f"; close ones: {', '.join(close)}" if close else f"; it lists {', '.join(sorted(markets)[:8])}, ..."
    raise UsageError(f"{exchange.id} lists no market {text!r}{hint}")


async def plan_downloads(
    exchange: Any, symbols: list[str], timeframe: str, kinds: list[str], out: Path
) -> list[Series]:
    """The files to bring up to date, every input checked before anything is downloaded."""
    bar_ms = bar_ms_of(exchange, timeframe)
    try:
        await exchange.load_markets()
    except ccxt.BaseError as exc:
        raise classify(exc, f"{exchange.id}: loading the markets") from None
    plan = []
    for text in symbols:
        market = find_market(exchange, text)
        for kind in kinds:
            if kind == "mark" and not market.get("contract"):
                raise UsageError(f"{market['symbol']} is a spot market: mark candles exist for perpetuals and futures")
            if kind == "funding" and not (market.get("swap") and exchange.has.get("fetchFundingRateHistory")):
                raise UsageError(f"{exchange.id} {market['symbol']}: funding-rate history exists for perpetuals only")
            tf = None if kind == "funding" else timeframe
            name = file_name(exchange.id, market["id"], kind, tf)
            plan.append(Series(kind, market["symbol"], tf, None if kind == "funding" else bar_ms, out / name))
    return plan


async def venue_now_ms(exchange: Any, symbol: str) -> int:
    """The venue's clock (a bar is closed by its clock, not ours); ours when it does not tell."""
    if exchange.has.get("fetchTime"):
        market = exchange.market(symbol)
        params = {"type": market["type"]}
        if market.get("contract"):
            params["subType"] = "linear" if market.get("linear") else "inverse"
        try:
            return int(await exchange.fetch_time(params))
        except ccxt.BaseError:
            pass
    return int(time.time() * 1000)


async def _call(what: str, request: Callable[[], Awaitable[Any]], retry: RetryPolicy) -> Any:
    """One ccxt request under the venue's one retry policy; a refusal says whether it is the input or the venue."""

    async def once() -> Any:
        try:
            return await request()
        except (ccxt.BadRequest, ccxt.NotSupported, ccxt.BadSymbol) as exc:
            raise UsageError(f"{what}: the venue refused: {exc}") from None
        except ccxt.BaseError as exc:
            raise classify(exc, what) from None

    try:
        return await with_retries(what, once, retry)
    except VenueError as error:
        raise VenueError(f"{error}; the rows written so far are kept: rerun the same command to resume") from None


def _page_bars(exchange: Any, market: dict[str, Any], kind: str) -> int:
    """Bars per request: the most the venue gives in one answer (ccxt's features), 500 when it does not say."""
    section = "spot" if market.get("spot") else ("swap" if market.get("swap") else "future")
    features = (exchange.features or {}).get(section) or {}
    if section != "spot":
        features = features.get("linear" if market.get("linear") else "inverse") or {}
    limits = features.get("fetchOHLCV") or {}
    return int(limits.get("mark" if kind == "mark" else "limit") or limits.get("limit") or 500)


def _candle_row(row: list[Any], kind: str) -> list[str] | None:
    """The CSV row of a ccxt candle; None when the backtest would refuse it (a missing or inconsistent price)."""
    t, o, h, lo, c = row[0], row[1], row[2], row[3], row[4]
    if None in (o, h, lo, c) or not (0 < lo <= min(o, c) and max(o, c) <= h):
        return None
    prices = [iso_time(int(t)), number(o), number(h), number(lo), number(c)]
    return prices if kind == "mark" else [*prices, number(row[5] if len(row) > 5 else None)]


async def _candles(
    exchange: Any,
    s: Series,
    out: Appender,
    result: Result,
    start: int,
    until: int,
    now: int,
    retry: RetryPolicy,
    progress: Progress,
) -> list[int]:
    assert s.bar_ms is not None and s.timeframe is not None
    bar, page_bars = s.bar_ms, _page_bars(exchange, exchange.market(s.symbol), s.kind)
    params = {"price": "mark"} if s.kind == "mark" else {}
    end = min(until, now - bar + 1)  # the last bar that has closed opens before this
    written: list[int] = []
    cursor = start
    while cursor < end:
        window_end = min(end, cursor + page_bars * bar)
        until_param = {**params, "until": window_end - 1}
        request = functools.partial(exchange.fetch_ohlcv, s.symbol, s.timeframe, cursor, page_bars, until_param)
        page = await _call(f"{exchange.id} {s.label} from {format_time(cursor)}", request, retry)
        bars = [r for r in closed_bars(page, bar, now) if cursor <= int(r[0]) < window_end]
        rows = []
        for r in bars:
            row = _candle_row(list(r), s.kind)
            if row is None:
                result.dropped += 1
            else:
                rows.append(row)
                written.append(int(r[0]))
        out.write(rows)
        # After a window with rows, go on from the last: a venue that gave fewer than asked is not skipped.
        cursor = int(bars[-1][0]) + bar if bars else window_end
        progress(s.label, cursor - start, end - start)
    return written


async def _funding(
    exchange: Any,
    s: Series,
    out: Appender,
    result: Result,
    start: int,
    until: int,
    now: int,
    retry: RetryPolicy,
    progress: Progress,
) -> list[int]:
    limit = FUNDING_PAGE.get(exchange.id, DEFAULT_FUNDING_PAGE)
    end = min(until, now + 1)
    written: list[int] = []
    cursor = start
    while cursor < end:
        request = functools.partial(exchange.fetch_funding_rate_history, s.symbol, cursor, limit, {"until": end - 1})
        page = await _call(f"{exchange.id} {s.label} from {format_time(cursor)}", request, retry)
        by_time = {int(r["timestamp"]): r.get("fundingRate") for r in page if r.get("timestamp") is not None}
        times = [t for t in sorted(by_time) if cursor <= t < end]
        if not times:
            break
        rows = []
        for t in times:
            rate = by_time[t]
            if rate is None or abs(rate) >= ABSURD_FUNDING_RATE:
                result.dropped += 1
                continue
            rows.append([iso_time(t), number(rate)])
            written.append(t)
        out.write(rows)
        cursor = times[-1] + 1
        progress(s.label, cursor - start, end - start)
    return written


async def _has_rows_before(exchange: Any, s: Series, since_ms: int, first_ms: int, retry: RetryPolicy) -> bool:
    """Whether the venue has a row of `s` in [since, first): rows a download that only appends leaves out."""
    if s.kind == "funding":
        request = functools.partial(exchange.fetch_funding_rate_history, s.symbol, since_ms, 1, {"until": first_ms - 1})
        page = await _call(f"{exchange.id} {s.label} before {format_time(first_ms)}", request, retry)
        return any(since_ms <= int(r["timestamp"]) < first_ms for r in page if r.get("timestamp") is not None)
    params = {"price": "mark"} if s.kind == "mark" else {}
    request = functools.partial(
        exchange.fetch_ohlcv, s.symbol, s.timeframe, since_ms, 1, {**params, "until": first_ms - 1}
    )
    page = await _call(f"{exchange.id} {s.label} before {format_time(first_ms)}", request, retry)
    return any(since_ms <= int(r[0]) < first_ms for r in page)


async def download_series(
    exchange: Any,
    s: Series,
    since_ms: int,
    until_ms: int,
    now_ms: int,
    progress: Progress | None = None,
    retry: RetryPolicy = RETRY,
) -> Result:
    """Bring one file up to date for [since, until): append what comes after its last row."""
    times = read_times(s.path, s.header)
    result = Result(s, rows_before=len(times))
    step = s.bar_ms or 1
    start = max(since_ms, times[-1] + step) if times else since_ms
    if times and times[0] > since_ms and await _has_rows_before(exchange, s, since_ms, times[0], retry):
        result.notes.append(
            f"the file starts at {format_time(times[0])} and the venue has earlier rows: a download only appends;"
            " move the file away to fetch them"
        )
    fetch = _candles if s.kind in ("ohlcv", "mark") else _funding
    out = Appender(s.path, s.header)
    progress = progress or (lambda *_: None)
    try:
        added = await fetch(exchange, s, out, result, start, until_ms, now_ms, retry, progress)
    finally:
        out.close()  # an error or Ctrl-C still ends the file with whole rows
    progress(s.label, 1, 1)  # done, wherever the venue's rows ended
    times += added
    result.rows_added = len(added)
    result.rows_in_range = sum(1 for t in times if since_ms <= t < until_ms)
    if times:
        result.first_ms, result.last_ms = times[0], times[-1]
    result.gaps = find_gaps(times, s.bar_ms)
    return result


def download_command(
    symbols: list[str],
    since: str | None,
    until: str | None,
    out: Path | str,
    *,
    exchange: str | None = None,
    timeframe: str = "1h",
    kinds: tuple[str, ...] = ("ohlcv",),
) -> str:
    """The `hedgebot data download` command line that writes these series (what to run when data is missing)."""
    parts = ["hedgebot data download"]
    if exchange is not None:
        parts.append(f"--exchange {exchange}")
    parts += [f"--symbol {' '.join(symbols)}", f"--timeframe {timeframe}"]
    if kinds != ("ohlcv",):
        parts.append(f"--kind {' '.join(kinds)}")
    parts.append(f"--since {since or 'YYYY-MM-DD'}")
    if until is not None:
        parts.append(f"--until {until}")
    parts.append(f"--out {out}")
    return " ".join(parts)


def no_data_message(exchange: Any, empty: list[Result], since_ms: int, until_ms: int) -> str:
    """What to say when series have no row in the range asked for."""
    labels = ", ".join(r.series.label for r in empty)
    return (
        f"{exchange.id} has no {labels} from {format_time(since_ms)} to {format_time(until_ms)}: choose a range"
        " inside the market's history (a perpetual's starts at its listing)"
    )


async def download(
    exchange: Any,
    plan: list[Series],
    since_ms: int,
    until_ms: int,
    now_ms: int,
    progress: Progress | None = None,
    retry: RetryPolicy = RETRY,
) -> list[Result]:
    """Every series of `plan` brought up to date, one after another (they share the venue's rate limit)."""
    return [await download_series(exchange, s, since_ms, until_ms, now_ms, progress, retry) for s in plan]
