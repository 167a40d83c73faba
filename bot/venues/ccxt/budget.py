"""The exchange's request budget, shared out by priority (C6).

Exchanges count request weight over a rolling minute (Binance COIN-M: 1,200 a minute, a decision with orders
weighs about 22). ccxt's own limiter counts the same window but queues every request behind the one before: once
a burst of decisions had spent the minute, everything waited for it to roll, the mark feed and the protective stops
included, for 15 to 43 s, and a SIGTERM waited with them.

Here the same weight is counted over the same window, but each priority may fill it only up to its share: routine
traffic (decisions, entries, bookkeeping) stops at 60 %, the mark feed at 85 %, and protective orders and cancels
may use all of it. When decisions come too fast it is they that wait; the mark keeps coming and a stop or a cancel
goes out at once. `RollingBudget` is the pure count; `BudgetThrottle` is what ccxt awaits before each request.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from bot.venues.priority import Priority, current_priority

SHARES: Mapping[Priority, float] = MappingProxyType({Priority.PROTECT: 1.0, Priority.MARK: 0.85, Priority.ROUTINE: 0.6})


@dataclass
class RollingBudget:
    """`capacity` weight per `window_ms`, each priority allowed up to its share of it."""

    capacity: float
    window_ms: int = 60_000
    shares: Mapping[Priority, float] = field(default_factory=lambda: SHARES)
    _spent: deque[tuple[int, float]] = field(default_factory=deque)

    def used(self, now_ms: int) -> float:
        while self._spent and self._spent[0][0] <= now_ms - self.window_ms:
            self._spent.popleft()
        return sum(w for _, w in self._spent)

    def wait_ms(self, weight: float, level: Priority, now_ms: int) -> int:
        """How long a request of `weight` at `level` must wait before it fits (0: it may go now)."""
        used = self.used(now_ms)
        limit = self.capacity * self.shares[level]
        if used + weight <= limit or not self._spent:  # an empty window takes any one request, however heavy
            return 0
        excess, freed = used + weight - limit, 0.0
        for t, w in self._spent:
            freed += w
            if freed >= excess:
                return max(1, t + self.window_ms - now_ms)
        return max(1, self._spent[-1][0] + self.window_ms - now_ms)

    def spend(self, weight: float, now_ms: int) -> None:
        self._spent.append((now_ms, weight))


def _monotonic_ms() -> int:
    return int(time.monotonic() * 1000)


class BudgetThrottle:
    """What ccxt awaits before each request (its `throttle(cost)`): the request's weight against the budget, at the
    priority of the code that made it (bot.venues.priority)."""

    def __init__(self, budget: RollingBudget, clock: Callable[[], int] = _monotonic_ms) -> None:
        self.budget = budget
        self.clock = clock

    async def __call__(self, cost: Any = None) -> None:
        weight = 1.0 if cost is None else float(cost)
        level = current_priority()
        while (wait := self.budget.wait_ms(weight, level, self.clock())) > 0:
            await asyncio.sleep(wait / 1000)
        self.budget.spend(weight, self.clock())


def install_budget(exchange: Any, budget: RollingBudget | None = None) -> RollingBudget:
    """Put the budget in place of ccxt's limiter on `exchange` (one per client: the mark feed and the venue share
    it). Without `budget`, the venue's own: `rollingWindowSize / rateLimit` weight per window, as ccxt counts it."""
    if budget is None:
        window_ms = int(getattr(exchange, "rollingWindowSize", 0) or 60_000)
        budget = RollingBudget(capacity=window_ms / float(exchange.rateLimit), window_ms=window_ms)
    exchange.enableRateLimit = True  # ccxt awaits `throttle(cost)` before every request only with it on
    exchange.throttle = BudgetThrottle(budget)
    return budget
