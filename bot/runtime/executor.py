"""Sends a decision's actions to the venue, journaling each order's intent before it leaves.

Retryable failures (network, timeouts, rate limits) are resent with the same client id, so the venue
sees one order however often it is sent. A rejection is not retried blindly: it is recorded and
reported, and the next decision re-plans from what the venue then holds. An authentication failure
stops trading.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TypeVar

from bot.clock import Clock
from bot.domain.orders import Order
from bot.errors import AuthFailed, OrderRejected, RetryableVenueError
from bot.journal.aio import AsyncJournal
from bot.journal.records import OrderState
from bot.ops.metrics import Metrics
from bot.venues.base import Venue
from bot.venues.reconcile import Action, Cancel, Place

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5
    first_backoff_s: float = 0.2
    max_backoff_s: float = 5.0


@dataclass(slots=True)
class ExecutionReport:
    placed: list[Order] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (client id, why)
    unresolved: list[str] = field(default_factory=list)  # gave up retrying: resolve by client id later
    auth_failed: str | None = None


class GaveUp(Exception):
    """Retries exhausted on a retryable error."""


async def with_retries(call: Callable[[], Awaitable[T]], policy: RetryPolicy) -> T:
    """`call()`, retried with exponential backoff while the venue says it may be resent."""
    delay = policy.first_backoff_s
    for attempt in range(1, policy.attempts + 1):
        try:
            return await call()
        except RetryableVenueError as exc:
            if attempt == policy.attempts:
                raise GaveUp(str(exc)) from exc
            await asyncio.sleep(delay)
            delay = min(policy.max_backoff_s, delay * 2)
    raise AssertionError("unreachable")


class Executor:
    def __init__(
        self,
        venue: Venue,
        journal: AsyncJournal,
        clock: Clock,
        policy: RetryPolicy = RetryPolicy(),
        metrics: Metrics | None = None,
    ) -> None:
        self._venue = venue
        self._journal = journal
        self.clock = clock
        self._policy = policy
        self._metrics = metrics

    async def execute(self, decision_seq: int, actions: Sequence[Action]) -> ExecutionReport:
        """Run `actions` in order; stops early on an authentication failure or an unresolved send."""
        report = ExecutionReport()
        places = [a.order for a in actions if isinstance(a, Place)]
        if places:
            # Durable before anything leaves: a crash after sending finds these by client id.
            await self._journal.record_intents(decision_seq, places, self.clock())
        for action in actions:
            try:
                if isinstance(action, Place):
                    request = action.order
                    sent_ms = self.clock()
                    order = await with_retries(partial(self._venue.place, request), self._policy)
                    acked_ms = self.clock()
                    if self._metrics is not None:
                        # Retries included: how long the hedge waited for the venue to hold the order.
                        self._metrics.order_ack_seconds.observe((acked_ms - sent_ms) / 1000)
                    await self._journal.record_order(order, acked_ms)
                    report.placed.append(order)
                elif isinstance(action, Cancel):
                    cid = action.client_id
                    await with_retries(partial(self._venue.cancel, cid), self._policy)
                    await self._journal.set_order_state(action.client_id, OrderState.CANCELED, self.clock(), action.why)
                    report.cancelled.append(action.client_id)
            except OrderRejected as exc:
                cid = action.order.client_id if isinstance(action, Place) else action.client_id
                await self._journal.set_order_state(cid, OrderState.REJECTED, self.clock(), str(exc))
                report.rejected.append((cid, str(exc)))
            except AuthFailed as exc:
                report.auth_failed = str(exc)
                return report
            except GaveUp:
                report.unresolved.append(action.order.client_id if isinstance(action, Place) else action.client_id)
                return report  # the venue is unreachable: stop here, the next decision starts from its state
        return report
