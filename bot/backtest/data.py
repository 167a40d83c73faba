"""Historical candles and funding rates from CSV files (the format of ../shared/data), and their alignment.

OHLCV files: `timestamp,open,high,low,close,volume`, timestamp = candle open time, ISO-8601 UTC, ascending.
Funding files: `timestamp,funding_rate`, one rate per interval. `.gz` files are read as gzip.
Missing bars stay missing: alignment keeps only instants both series have, and reports every gap.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import statistics
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from bot.errors import UsageError

# The shared market data folder beside a clone (../shared/data): the default of every command and script
# that reads candles. A user's own files are passed with --data.
SHARED_DATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "data"


class DataError(UsageError):
    """A data file is missing or malformed, or two series cannot be replayed together (exit 2)."""


@dataclass(frozen=True, slots=True)
class Candles:
    """One OHLC series in columns (arrays keep a year of minute bars small)."""

    source: str
    ts_ms: array[int]
    open: array[float]
    high: array[float]
    low: array[float]
    close: array[float]
    bar_ms: int

    def __len__(self) -> int:
        return len(self.ts_ms)


@dataclass(frozen=True, slots=True)
class FundingSeries:
    source: str
    times_ms: list[int]
    rates: list[float]
    interval_ms: int


@dataclass(frozen=True, slots=True)
class Gap:
    """Bars missing between two present ones (in either series)."""

    after_ms: int
    before_ms: int
    missing_bars: int


@dataclass(frozen=True, slots=True)
class AlignedBars:
    """BTC and collateral bars at the same instants; `gap_before[i]` is 1 when bars are missing before i."""

    ts_ms: array[int]
    btc: tuple[array[float], array[float], array[float], array[float]]  # open, high, low, close
    collateral: tuple[array[float], array[float], array[float], array[float]]
    gap_before: bytes
    gaps: tuple[Gap, ...]
    bar_ms: int

    def __len__(self) -> int:
        return len(self.ts_ms)


def parse_time_ms(text: str) -> int:
    """Milliseconds since the epoch of an ISO-8601 time or date; a naive one is taken as UTC."""
    try:
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise DataError(f"{text!r} is not an ISO-8601 time (e.g. 2021-05-12 or 2021-05-12T00:00:00Z)") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def format_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%MZ")


def _rows(path: Path, header: list[str]) -> Iterator[tuple[int, list[str]]]:
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        raw = path.read_bytes()
        text = gzip.decompress(raw).decode() if raw[:2] == b"\x1f\x8b" else raw.decode()
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    reader = csv.reader(io.StringIO(text))
    first = next(reader, None)
    if first is None or [h.strip().lower() for h in first[: len(header)]] != header:
        raise DataError(f"{path}: header must start with {','.join(header)}, got {','.join(first or [])!r}")
    for lineno, row in enumerate(reader, start=2):
        if row:
            yield lineno, row


def _time(path: Path, lineno: int, text: str) -> int:
    try:
        return parse_time_ms(text)
    except DataError:
        raise DataError(f"{path}:{lineno}: bad timestamp {text!r}") from None


def _bar_length(ts: array[int], source: str) -> int:
    if len(ts) < 2:
        raise DataError(f"{source}: needs at least two rows, has {len(ts)}")
    # The median step ignores the gaps, which are rarer than the regular steps.
    return int(statistics.median(ts[i + 1] - ts[i] for i in range(min(len(ts) - 1, 10_000))))


def load_candles(path: Path) -> Candles:
    """An OHLCV file; DataError naming the file and line of the first problem."""
    ts: array[int] = array("q")
    o, h, lo, c = array("d"), array("d"), array("d"), array("d")
    prev = -1
    for lineno, row in _rows(path, ["timestamp", "open", "high", "low", "close"]):
        t = _time(path, lineno, row[0])
        try:
            op, hi, low, cl = float(row[1]), float(row[2]), float(row[3]), float(row[4])
        except (ValueError, IndexError):
            raise DataError(f"{path}:{lineno}: open, high, low and close must be numbers: {row!r}") from None
        if not (0 < low <= min(op, cl) and max(op, cl) <= hi):
            raise DataError(f"{path}:{lineno}: inconsistent bar (low {low}, high {hi}, open {op}, close {cl})")
        if t <= prev:
            raise DataError(f"{path}:{lineno}: timestamps must ascend without duplicates ({row[0]})")
        prev = t
        ts.append(t)
        o.append(op)
        h.append(hi)
        lo.append(low)
        c.append(cl)
    return Candles(str(path), ts, o, h, lo, c, _bar_length(ts, str(path)))


def load_funding(path: Path) -> FundingSeries:
    """A funding-rate file; the interval comes from the name (`_8h`, `_1h`) or the median step."""
    times: list[int] = []
    rates: list[float] = []
    for lineno, row in _rows(path, ["timestamp", "funding_rate"]):
        t = _time(path, lineno, row[0])
        try:
            rate = float(row[1])
        except (ValueError, IndexError):
            raise DataError(f"{path}:{lineno}: funding_rate must be a number: {row!r}") from None
        if abs(rate) >= 0.05:
            raise DataError(f"{path}:{lineno}: funding rate {rate} per interval is absurd (>= 5 %)")
        if times and t <= times[-1]:
            raise DataError(f"{path}:{lineno}: timestamps must ascend without duplicates ({row[0]})")
        times.append(t)
        rates.append(rate)
    named = re.search(r"_(\d+)h\b", path.name)
    interval = int(named.group(1)) * 3_600_000 if named else _bar_length(array("q", times), str(path))
    return FundingSeries(str(path), times, rates, interval)


def resample(candles: Candles, bar_ms: int) -> Candles:
    """`candles` aggregated to `bar_ms` bars (a multiple of its own); a bar is built only from rows present."""
    if bar_ms % candles.bar_ms:
        raise DataError(f"{candles.source}: {candles.bar_ms} ms bars cannot be aggregated to {bar_ms} ms")
    ts: array[int] = array("q")
    o, h, lo, c = array("d"), array("d"), array("d"), array("d")
    for i in range(len(candles)):
        bucket = candles.ts_ms[i] // bar_ms * bar_ms
        if ts and ts[-1] == bucket:
            h[-1] = max(h[-1], candles.high[i])
            lo[-1] = min(lo[-1], candles.low[i])
            c[-1] = candles.close[i]
        else:
            ts.append(bucket)
            o.append(candles.open[i])
            h.append(candles.high[i])
            lo.append(candles.low[i])
            c.append(candles.close[i])
    return Candles(candles.source, ts, o, h, lo, c, bar_ms)


def align(btc: Candles, collateral: Candles, start_ms: int | None = None, end_ms: int | None = None) -> AlignedBars:
    """The bars both series have in [start, end); finer series are aggregated to the coarser bar length."""
    bar_ms = max(btc.bar_ms, collateral.bar_ms)
    if btc.bar_ms != bar_ms:
        btc = resample(btc, bar_ms)
    if collateral.bar_ms != bar_ms:
        collateral = resample(collateral, bar_ms)
    lo_ms = start_ms if start_ms is not None else -(2**62)
    hi_ms = end_ms if end_ms is not None else 2**62
    index = {t: i for i, t in enumerate(collateral.ts_ms) if lo_ms <= t < hi_ms}
    ts: array[int] = array("q")
    cols = [array("d") for _ in range(8)]
    for i, t in enumerate(btc.ts_ms):
        j = index.get(t)
        if j is None:
            continue
        ts.append(t)
        for k, src in enumerate((btc.open, btc.high, btc.low, btc.close)):
            cols[k].append(src[i])
        for k, src in enumerate((collateral.open, collateral.high, collateral.low, collateral.close)):
            cols[4 + k].append(src[j])
    if len(ts) < 2:
        # Only the bounds that were asked for: the open ends are sentinels no calendar can print.
        span = "".join(
            (
                f" from {format_time(start_ms)}" if start_ms is not None else "",
                f" before {format_time(end_ms)}" if end_ms is not None else "",
            )
        )
        raise DataError(
            f"{btc.source} ({format_time(btc.ts_ms[0])} .. {format_time(btc.ts_ms[-1])}) and {collateral.source}"
            f" ({format_time(collateral.ts_ms[0])} .. {format_time(collateral.ts_ms[-1])}) share fewer than two bars"
            f"{span}: give series that overlap, or a --start/--end inside them"
        )
    gap_before = bytearray(len(ts))
    gaps: list[Gap] = []
    for i in range(1, len(ts)):
        step = ts[i] - ts[i - 1]
        if step != bar_ms:
            gap_before[i] = 1
            gaps.append(Gap(ts[i - 1], ts[i], step // bar_ms - 1))
    return AlignedBars(
        ts,
        (cols[0], cols[1], cols[2], cols[3]),
        (cols[4], cols[5], cols[6], cols[7]),
        bytes(gap_before),
        tuple(gaps),
        bar_ms,
    )


# ----------------------------------------------------------------------------------------------------------
# Minute bars from mixed resolutions: a realistic year out of the shared files.
#
# The shared data has 1-minute bars for one month, 5-minute bars for about fifteen months and hourly bars
# for five years. `minute_candles` builds one 1-minute series over any span from them: every hour comes
# from the finest file that holds all of that hour's bars (1m, else 5m, else the hourly bar), and a coarse
# bar is expanded into minute bars along a path that keeps its open, high, low and close exactly (see
# `expand`). Hours no file holds stay missing: nothing is forward-filled.

_HOUR_MS = 3_600_000
_OHLCV_NAME = re.compile(r"^binance_(?P<symbol>[A-Z]+)USDT_(?P<n>\d+)(?P<unit>[mh])(_[0-9-]+)?\.csv(\.gz)?$")


def expand(candles: Candles, bar_ms: int) -> Candles:
    """Each bar of `candles` as `bar_ms` bars whose aggregate is that bar, exactly.

    The path inside a bar is the usual cautious assumption of bar replays: a rising bar (close >= open)
    goes open -> low -> high -> close, a falling one open -> high -> low -> close, in straight lines.
    Each leg takes a share of the bar's minutes proportional to its length (at least one minute for a
    leg that moves), and the extremes sit on minute boundaries, so the first sub-bar opens at the open,
    the last closes at the close, and the sub-bars' highest high and lowest low are the bar's high and
    low. A sub-bar's own high and low are its open and close: the path is straight within it.
    """
    k = candles.bar_ms // bar_ms
    if k * bar_ms != candles.bar_ms or k < 1:
        raise DataError(f"{candles.source}: {candles.bar_ms} ms bars cannot be split into {bar_ms} ms bars")
    if k == 1 or len(candles) == 0:
        return candles
    if k < 3:
        raise DataError(f"{candles.source}: a bar needs at least 3 sub-bars to keep its high and low")
    o, h, lo, c = (
        np.frombuffer(col, dtype=np.float64) for col in (candles.open, candles.high, candles.low, candles.close)
    )
    up = c >= o
    e1 = np.where(up, lo, h)  # the first extreme the path visits
    e2 = np.where(up, h, lo)
    legs = np.stack([np.abs(e1 - o), np.abs(e2 - e1), np.abs(c - e2)], axis=1)
    total = legs.sum(axis=1, keepdims=True)
    share = np.divide(k * legs, total, out=np.zeros_like(legs), where=total > 0)
    n = np.maximum(np.floor(share), (legs > 0).astype(np.float64)).astype(np.int64)
    biggest = legs.argmax(axis=1)
    rows = np.arange(len(o))
    n[rows, biggest] += k - n.sum(axis=1)  # the longest leg takes (or gives back) what rounding left
    p1 = n[:, 0:1]
    p2 = p1 + n[:, 1:2]
    t = np.arange(k + 1, dtype=np.int64)[None, :]
    v0, v1, v2, v3 = o[:, None], e1[:, None], e2[:, None], c[:, None]
    first = v0 + (v1 - v0) * (t / np.maximum(p1, 1))
    second = v1 + (v2 - v1) * ((t - p1) / np.maximum(p2 - p1, 1))
    third = v2 + (v3 - v2) * ((t - p2) / np.maximum(k - p2, 1))
    path = np.where(t <= p1, first, np.where(t <= p2, second, third))
    # The vertices themselves, exactly (interpolation may round them), and nothing outside the bar's range.
    path = np.where(t == p2, v2, np.where(t == p1, v1, path))
    path[:, 0], path[:, -1] = o, c
    path = np.clip(path, lo[:, None], h[:, None])
    sub_open = path[:, :-1].ravel()
    sub_close = path[:, 1:].ravel()
    ts = (
        np.frombuffer(candles.ts_ms, dtype=np.int64)[:, None] + np.arange(k, dtype=np.int64)[None, :] * bar_ms
    ).ravel()
    return Candles(
        candles.source,
        _array("q", ts),
        _array("d", sub_open),
        _array("d", np.maximum(sub_open, sub_close)),
        _array("d", np.minimum(sub_open, sub_close)),
        _array("d", sub_close),
        bar_ms,
    )


def _array(code: str, values: npt.NDArray[Any]) -> array[Any]:
    out: array[Any] = array(code)
    out.frombytes(np.ascontiguousarray(values, dtype=np.int64 if code == "q" else np.float64).tobytes())
    return out


def _rows_between(candles: Candles, start_ms: int, end_ms: int) -> Candles:
    ts = np.frombuffer(candles.ts_ms, dtype=np.int64)
    i, j = np.searchsorted(ts, [start_ms, end_ms])
    return Candles(
        candles.source,
        candles.ts_ms[i:j],
        candles.open[i:j],
        candles.high[i:j],
        candles.low[i:j],
        candles.close[i:j],
        candles.bar_ms,
    )


def _select_hours(candles: Candles, hours: npt.NDArray[np.int64]) -> Candles:
    ts = np.frombuffer(candles.ts_ms, dtype=np.int64)
    keep = np.isin(ts // _HOUR_MS * _HOUR_MS, hours)
    cols = [
        np.frombuffer(col, dtype=np.float64)[keep] for col in (candles.open, candles.high, candles.low, candles.close)
    ]
    o, h, lo, c = (_array("d", col) for col in cols)
    return Candles(candles.source, _array("q", ts[keep]), o, h, lo, c, candles.bar_ms)


def ohlcv_files(data_dir: Path, symbol: str) -> list[Path]:
    """The OHLCV files of `symbol` (BTC, ETH) in a folder laid out as ../shared/data, finest first."""
    found = []
    for path in data_dir.iterdir():
        m = _OHLCV_NAME.match(path.name)
        if m and m["symbol"] == symbol:
            found.append((int(m["n"]) * (60_000 if m["unit"] == "m" else _HOUR_MS), path.name, path))
    return [p for _, _, p in sorted(found)]


@dataclass(frozen=True, slots=True)
class MinuteSource:
    """How many hours of a minute series came from each resolution (bar length in ms -> hours)."""

    hours_by_bar_ms: dict[int, int]

    def describe(self) -> str:
        names = {60_000: "1m", 300_000: "5m", _HOUR_MS: "1h"}
        return ", ".join(f"{names.get(ms, f'{ms // 1000}s')} {n:,} h" for ms, n in sorted(self.hours_by_bar_ms.items()))


def minute_candles(files: list[Path], start_ms: int, end_ms: int, bar_ms: int = 60_000) -> tuple[Candles, MinuteSource]:
    """One `bar_ms` series over [start, end) from `files` of one symbol at any resolutions (each a
    multiple of `bar_ms` dividing an hour, or an hour): each hour from the finest file holding all of it."""
    sources = sorted(
        (_rows_between(load_candles(p), start_ms - _HOUR_MS, end_ms + _HOUR_MS) for p in files),
        key=lambda s: s.bar_ms,
    )
    taken = np.zeros(0, dtype=np.int64)
    pieces: list[Candles] = []
    used: dict[int, int] = {}
    for candles in sources:
        if _HOUR_MS % candles.bar_ms or candles.bar_ms % bar_ms:
            raise DataError(f"{candles.source}: {candles.bar_ms} ms bars do not fit {bar_ms} ms bars within hours")
        ts = np.frombuffer(candles.ts_ms, dtype=np.int64)
        hours, counts = np.unique(ts // _HOUR_MS * _HOUR_MS, return_counts=True)
        whole = hours[(counts == _HOUR_MS // candles.bar_ms) & (hours >= start_ms) & (hours + _HOUR_MS <= end_ms)]
        mine = np.setdiff1d(whole, taken, assume_unique=True)
        if len(mine) == 0:
            continue
        used[candles.bar_ms] = used.get(candles.bar_ms, 0) + len(mine)
        taken = np.union1d(taken, mine)
        pieces.append(expand(_select_hours(candles, mine), bar_ms))
    if not pieces:
        raise DataError(f"no file among {', '.join(str(p) for p in files)} holds a whole hour in the span asked")
    ts_all = np.concatenate([np.frombuffer(p.ts_ms, dtype=np.int64) for p in pieces])
    order = np.argsort(ts_all, kind="stable")
    cols = [
        np.concatenate([np.frombuffer(getattr(p, name), dtype=np.float64) for p in pieces])[order]
        for name in ("open", "high", "low", "close")
    ]
    source = f"{' + '.join(Path(c.source).name for c in sources)} as {bar_ms // 1000}s bars"
    o, h, lo, c = (_array("d", col) for col in cols)
    merged = Candles(source, _array("q", ts_all[order]), o, h, lo, c, bar_ms)
    return merged, MinuteSource(used)


def shared_minutes(
    start_ms: int, end_ms: int, collateral: str = "ETH", data_dir: Path = SHARED_DATA_DIR
) -> tuple[AlignedBars, MinuteSource, MinuteSource]:
    """BTC and `collateral` 1-minute bars over [start, end) built from every resolution in `data_dir`."""
    btc, btc_src = minute_candles(ohlcv_files(data_dir, "BTC"), start_ms, end_ms)
    coll, coll_src = minute_candles(ohlcv_files(data_dir, collateral), start_ms, end_ms)
    return align(btc, coll, start_ms, end_ms), btc_src, coll_src
