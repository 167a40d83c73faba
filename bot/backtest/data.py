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
