"""Sends a decision's actions to the venue, journaling each order's intent before it leaves.

The executor does not retry: the venue resends retryable failures (network, timeouts, rate limits)
itself, under its one retry policy and with the same client id, so it sees one order however often it
is sent (bot.venues.ccxt.errors). A RetryableVenueError that still reaches here means the venue gave
up: the order is unresolved, to be found by its client id later. A rejection is not retried blindly:
it is recorded and reported, and the next decision re-plans from what the venue then holds. An
authentication failure stops trading.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.clock import Clock
from bot.domain.orders import Order
from bot.errors import AuthFailed, OrderRejected, RetryableVenueError
from bot.journal.aio import AsyncJournal
from bot.journal.records import OrderState
from bot.ops.metrics import Metrics
from bot.venues.base import Venue
from bot.venues.reconcile import Action, Cancel, Place


@dataclass(slots=True)
class ExecutionReport:
    placed: list[Order] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (client id, why)
    unresolved: list[str] = field(default_factory=list)  # the venue gave up retrying: resolve by client id later
    auth_failed: str | None = None


class Executor:
    def __init__(
        self,
        venue: Venue,
        journal: AsyncJournal,
        clock: Clock,
        metrics: Metrics | None = None,
    ) -> None:
        self._venue = venue
        self._journal = journal
        self.clock = clock
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
                    order = await self._venue.place(request)
                    acked_ms = self.clock()
                    if self._metrics is not None:
                        # The venue's retries included: how long the hedge waited for the venue to hold the order.
                        self._metrics.order_ack_seconds.observe((acked_ms - sent_ms) / 1000)
                    await self._journal.record_order(order, acked_ms)
                    report.placed.append(order)
                elif isinstance(action, Cancel):
                    await self._venue.cancel(action.client_id)
                    await self._journal.set_order_state(action.client_id, OrderState.CANCELED, self.clock(), action.why)
                    report.cancelled.append(action.client_id)
            except OrderRejected as exc:
                cid = action.order.client_id if isinstance(action, Place) else action.client_id
                await self._journal.set_order_state(cid, OrderState.REJECTED, self.clock(), str(exc))
                report.rejected.append((cid, str(exc)))
            except AuthFailed as exc:
                report.auth_failed = str(exc)
                return report
            except RetryableVenueError:  # the venue's retries are spent
                report.unresolved.append(action.order.client_id if isinstance(action, Place) else action.client_id)
                return report  # the venue is unreachable: stop here, the next decision starts from its state
        return report
