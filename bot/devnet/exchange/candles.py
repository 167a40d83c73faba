"""Candles as the mark price walks them: the ../shared/data OHLCV files, read by the product's loader."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.backtest import data


@dataclass(frozen=True, slots=True)
class Candle:
    ts_ms: int  # the bar's open time
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
    """Every bar of an OHLCV file (`bot.backtest.data.load_candles`: the same checks, the same errors)."""
    bars = data.load_candles(path)
    return [Candle(*row) for row in zip(bars.ts_ms, bars.open, bars.high, bars.low, bars.close, strict=True)]
