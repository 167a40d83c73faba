"""The one wall clock. Components take a clock (`Callable[[], int]`) so tests and replays can set time."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], int]


def wall_ms() -> int:
    """Milliseconds since the Unix epoch, now."""
    return int(time.time() * 1000)
