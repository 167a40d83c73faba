"""The CSV files `hedgebot data download` appends to, in the format `bot.backtest.data` reads.

A file is only ever appended to: a plain file by whole lines, a `.gz` file by one gzip member per run (gzip
readers, this package's and pandas', read the members as one stream), flushed after each page. What a
killed run leaves half written (a line without its newline, a member without its end) is cut back to whole
rows the next time the file is read, so a rerun resumes from the last whole row.
"""

from __future__ import annotations

import gzip
import os
import re
import statistics
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from bot.backtest.data import DataError, format_time, parse_time_ms

OHLCV_HEADER = ("timestamp", "open", "high", "low", "close", "volume")
MARK_HEADER = ("timestamp", "open", "high", "low", "close")  # as ../shared/data's mark klines: no volume
FUNDING_HEADER = ("timestamp", "funding_rate")


def file_name(exchange_id: str, market_id: str, kind: str, timeframe: str | None) -> str:
    """binance_BTCUSDT_1h.csv.gz (the name ../shared/data uses), ..._mark_1h.csv.gz, ..._funding.csv."""
    market = re.sub(r"[^A-Za-z0-9_-]", "-", market_id)
    if kind == "funding":
        return f"{exchange_id}_{market}_funding.csv"
    return f"{exchange_id}_{market}_{'mark_' if kind == 'mark' else ''}{timeframe}.csv.gz"


def iso_time(ms: int) -> str:
    """The file's timestamp: ISO-8601 UTC, to the second (to the millisecond when it has one)."""
    dt = datetime.fromtimestamp(ms / 1000, UTC)
    if ms % 1000:
        return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def number(value: float | None) -> str:
    """A price, volume or rate as written: up to 15 significant digits; empty when the venue gave none."""
    return "" if value is None else format(float(value), ".15g")


_CHUNK = 1 << 16


def _salvage_gzip(raw: bytes) -> tuple[int, bytes, bytes]:
    """(length of `raw`'s leading complete gzip members, their text, the text of a last member cut short).

    Read a chunk at a time, so a file of many members is read in one pass.
    """
    view = memoryview(raw)
    pos = 0
    complete: list[bytes] = []
    while pos < len(raw):
        member = zlib.decompressobj(wbits=31)
        out: list[bytes] = []
        at = pos
        try:
            while not member.eof and at < len(raw):
                chunk = view[at : at + _CHUNK]
                out.append(member.decompress(chunk))
                at += len(chunk)
        except zlib.error:
            return pos, b"".join(complete), b"".join(out)
        if not member.eof:
            return pos, b"".join(complete), b"".join(out)
        complete.extend(out)
        pos = at - len(member.unused_data)
    return pos, b"".join(complete), b""


def _read_repaired(path: Path) -> str:
    """The text of `path`, after cutting off what a killed run left half written.

    A plain file loses a last line without its newline. A gzip file's last member, cut short, is replaced
    by a complete member holding its whole lines (the writer flushes the member after each page).
    """
    raw = path.read_bytes()
    if not path.name.endswith(".gz"):
        whole = raw.rfind(b"\n") + 1
        if whole < len(raw):
            os.truncate(path, whole)
        return raw[:whole].decode()
    try:
        return gzip.decompress(raw).decode()
    except (EOFError, zlib.error, gzip.BadGzipFile):
        whole, text, tail = _salvage_gzip(raw)
    tail = tail[: tail.rfind(b"\n") + 1]
    os.truncate(path, whole)
    if tail:
        with path.open("ab") as f:
            f.write(gzip.compress(tail, mtime=0))
    return (text + tail).decode()


def read_times(path: Path, header: Sequence[str]) -> list[int]:
    """The times (ms) of the rows already in `path`, oldest first; [] when there is no file.

    What a killed run left half written is cut off first (whole rows are kept). A file with another
    header is refused: it is not a file of this kind, and appending to it would spoil it.
    """
    if not path.exists():
        return []
    lines = _read_repaired(path).splitlines()
    if not lines:
        return []
    if lines[0].strip().lower() != ",".join(header):
        raise DataError(
            f"{path}: its header is {lines[0]!r}, not {','.join(header)}: this is not a file `hedgebot data"
            " download` appends to; move it away or choose another --out"
        )
    times = []
    for lineno, line in enumerate(lines[1:], start=2):
        if line:
            try:
                times.append(parse_time_ms(line.split(",", 1)[0]))
            except DataError:
                raise DataError(f"{path}:{lineno}: bad timestamp in {line!r}") from None
    return times


class Appender:
    """Appends pages of rows to one file during a run: a plain file line by line, a `.gz` file as one new
    gzip member, flushed to the disk's cache after each page so a kill loses at most the page being written.

    Opened at the first page (a run with nothing new leaves the file as it was); `close` ends the member.
    """

    def __init__(self, path: Path, header: Sequence[str]) -> None:
        self.path, self.header = path, header
        self._raw: BinaryIO | None = None
        self._gzip: gzip.GzipFile | None = None

    def write(self, rows: Sequence[Sequence[str]]) -> None:
        if not rows:
            return
        text = "".join(",".join(row) + "\n" for row in rows)
        if self._raw is None:
            if not self.path.exists() or self.path.stat().st_size == 0:
                text = ",".join(self.header) + "\n" + text
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._raw = self.path.open("ab")
            if self.path.name.endswith(".gz"):
                self._gzip = gzip.GzipFile(fileobj=self._raw, mode="ab", mtime=0)
        if self._gzip is not None:
            self._gzip.write(text.encode())
            self._gzip.flush(zlib.Z_SYNC_FLUSH)  # a reader of the cut member gets every row up to here
        else:
            self._raw.write(text.encode())
        self._raw.flush()

    def close(self) -> None:
        if self._gzip is not None:
            self._gzip.close()
        if self._raw is not None:
            self._raw.close()
        self._raw = self._gzip = None


@dataclass(frozen=True, slots=True)
class Gaps:
    """Steps missing between present rows: how many holes, how many steps in all, and the largest hole."""

    count: int = 0
    missing: int = 0
    largest_missing: int = 0
    largest_after_ms: int | None = None
    largest_before_ms: int | None = None

    def describe(self, unit: str) -> str:
        if not self.count:
            return "no gaps"
        assert self.largest_after_ms is not None and self.largest_before_ms is not None
        return (
            f"{self.count} gap{'s' if self.count > 1 else ''}, {self.missing} {unit} missing; the largest"
            f" {self.largest_missing} {unit} between {format_time(self.largest_after_ms)}"
            f" and {format_time(self.largest_before_ms)}"
        )

    def as_dict(self) -> dict[str, object]:
        largest = None
        if self.largest_after_ms is not None and self.largest_before_ms is not None:
            largest = {
                "after": iso_time(self.largest_after_ms),
                "before": iso_time(self.largest_before_ms),
                "missing": self.largest_missing,
            }
        return {"count": self.count, "missing": self.missing, "largest": largest}


def find_gaps(times: Sequence[int], step_ms: int | None = None) -> Gaps:
    """The holes in `times` for rows every `step_ms` (None: the median step, for funding's interval)."""
    if len(times) < 2:
        return Gaps()
    step = step_ms or int(statistics.median(times[i + 1] - times[i] for i in range(min(len(times) - 1, 10_000))))
    count = missing = 0
    largest = Gaps()
    for i in range(1, len(times)):
        # Rounded: funding times can be a few milliseconds late, bars cannot.
        absent = round((times[i] - times[i - 1]) / step) - 1
        if absent > 0:
            count += 1
            missing += absent
            if absent > largest.largest_missing:
                largest = Gaps(0, 0, absent, times[i - 1], times[i])
    return Gaps(count, missing, largest.largest_missing, largest.largest_after_ms, largest.largest_before_ms)
