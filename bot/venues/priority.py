"""Which exchange request goes first when the request budget runs short (C6).

Every request carries the priority of the code that made it, set around it with `priority(...)` and read by the
venue's budget (bot.venues.ccxt.budget): what protects the position is never held up by what adds to it.

- PROTECT: protective stops, reduce-only orders, cancels, and the reads an exit needs to make them;
- MARK: the mark feed (a decision is only as good as its mark, and the data guard halts on a stale one);
- ROUTINE: everything else, the decision's account read and its entries, look-ups, fills and funding.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from enum import IntEnum


class Priority(IntEnum):
    PROTECT = 0
    MARK = 1
    ROUTINE = 2


_current: ContextVar[Priority] = ContextVar("venue_request_priority", default=Priority.ROUTINE)


@contextmanager
def priority(level: Priority) -> Iterator[None]:
    """Requests made inside (in this task, and tasks it starts) are budgeted at `level`."""
    token = _current.set(level)
    try:
        yield
    finally:
        _current.reset(token)


def current_priority() -> Priority:
    return _current.get()
