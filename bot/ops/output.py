"""What an operator reads: values as strict JSON (status, --json) and as aligned text tables.

Non-finite floats become "Infinity"/"-Infinity" (an HF without debt) or null (NaN) in JSON, and ∞ in tables.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO


def jsonable(value: Any) -> Any:
    """`value` with every non-finite float replaced, recursively through mappings and sequences."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def print_json(obj: Any) -> None:
    """One JSON document on stdout; infinities as the strings "Infinity"/"-Infinity", NaN as null."""
    print(json.dumps(jsonable(obj), indent=2, sort_keys=False))


def format_value(value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return "∞" if value > 0 else ("-∞" if value < 0 else "n/a")
        if abs(value) >= 1000:
            return f"{value:,.2f}"
        return f"{value:.6g}"
    if value is None:
        return "-"
    return str(value)


def print_table(rows: Iterable[tuple[str, Any]], title: str | None = None) -> None:
    """Two aligned columns: name and value."""
    items = [(k, format_value(v)) for k, v in rows]
    width = max((len(k) for k, _ in items), default=0)
    if title:
        print(title)
    for key, value in items:
        print(f"  {key:<{width}}  {value}")


def print_grid(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A table with a header row."""
    text = [[format_value(v) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in text]) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    for row in text:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def progress_bar(done: int, total: int, label: str, stream: TextIO) -> None:
    """Redraw one line of progress on `stream` (a terminal: callers check isatty), without a newline."""
    width = 40
    share = min(1.0, done / total) if total > 0 else 1.0
    filled = int(width * share)
    print(f"\r[{'#' * filled}{'.' * (width - filled)}] {share:4.0%} {label}", end="", file=stream, flush=True)
