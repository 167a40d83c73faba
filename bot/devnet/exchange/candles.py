"""Candle files for the mark price replay (the ../shared/data OHLCV format, gzip or plain CSV)."""

from __future__ import annotations

import csv
import gzip
import io
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Candle:
    timestamp: str
    open: float
    high: float
    low: float
    close: float

    def path(self) -> tuple[float, float, float, float]:
        """The prices a mark walks through inside the bar: a red bar is assumed to visit its high first."""
        if self.close >= self.open:
            return (self.open, self.low, self.high, self.close)
        return (self.open, self.high, self.low, self.close)


def load_candles(path: Path) -> list[Candle]:
    """Every row of a `timestamp,open,high,low,close[,volume]` file."""
    raw = path.read_bytes()
    text = gzip.decompress(raw).decode() if path.suffix == ".gz" else raw.decode()
    rows = csv.DictReader(io.StringIO(text))
    return [
        Candle(r["timestamp"], float(r["open"]), float(r["high"]), float(r["low"]), float(r["close"])) for r in rows
    ]
