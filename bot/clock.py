"""The one wall clock: milliseconds since the epoch, as every timestamp in the bot is kept.

Components that stamp or age things take a `Clock` (defaulting to `wall_ms`) so tests and replays can
hand them a clock they control; nothing else in the bot reads the system time for a timestamp.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], int]


def wall_ms() -> int:
    """Now, in whole milliseconds since the epoch (UTC)."""
    return int(time.time() * 1000)


__all__ = ["Clock", "wall_ms"]
