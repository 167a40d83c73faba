"""Small readers of ../shared/data for tests (the product's own loader lives in bot/)."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path


def load_closes(path: Path, start: str, end: str) -> list[float]:
    """Close prices with candle open time in [start, end) (ISO dates)."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:  # type: ignore[operator]
        rows = csv.DictReader(fh)
        return [float(r["close"]) for r in rows if start <= r["timestamp"][:10] < end]
