"""Sends a decision's actions to the venue, journaling each order's intent before it leaves.

The executor does not retry: the venue resends retryable failures (network, timeouts, rate limits)
itself, under its one retry policy and with the same client id, so it sees one order however often it
is sent (bot.venues.ccxt.errors). A RetryableVenueError that still reaches here means the venue gave
up: the order is unresolved, to be found by its client id later. A rejection is not retried blindly:
it is recorded and reported, and the next decision re-plans from what the venue then holds. An
authentication failure stops trading.

The protective stop and the entry. A reduce-only stop for a short that does not exist yet is refused by
the venue (Binance: -2022), so a stop cannot go first for a new short, and no venue here takes the two
atomically. The order is therefore: the entry, then at once the stops for the new size, then the cancel
of the stops they replace (the reconciler's order). If a new stop is refused, the stops it was to replace
are kept and the short is cut back at once, reduce-only at market, to what the resting stops cover: the
entry of this decision is undone and no contract is left without a stop for longer than that round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.clock import Clock
from bot.domain.orders import AccountState, Order, OrderRequest, OrderType, Side, is_protective_stop
from bot.errors import AuthFailed, OrderRejected, RetryableVenueError
from bot.journal.aio import AsyncJournal
from bot.journal.records import OrderState
from bot.ops.metrics import Metrics
from bot.venues.base import Venue
from bot.venues.priority import Priority, priority
from bot.venues.reconcile import STOP, Action, Cancel, Place, client_id, role_of


@dataclass(slots=True)
class ExecutionReport:
    placed: list[Order] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (client id, why)
    unresolved: list[str] = field(default_factory=list)  # the venue gave up retrying: resolve by client id later
    not_sent: list[str] = field(default_factory=list)  # places after an unresolved one or an auth failure: never sent
    auth_failed: str | None = None
    # A protective stop was refused: contracts bought back at once because no resting stop covered them.
    uncovered_closed: int = 0
    stop_refused: bool = False


class Executor:
    def __init__(
        self,
        venue: Venue,
        journal: AsyncJournal,
        clock: Clock,
        metrics: Metrics | None = None,
        namespace: str = "hedgebot",
    ) -> None:
        self._venue = venue
        self._journal = journal
        self.clock = clock
        self._metrics = metrics
        self._namespace = namespace

    async def execute(self, decision_seq: int, actions: Sequence[Action]) -> ExecutionReport:
        """Run `actions` in order; stops early on an authentication failure or an unresolved send.

        A refused protective stop keeps the stops it was to replace and cuts the short to what they cover.
        """
        report = ExecutionReport()
        places = [a.order for a in actions if isinstance(a, Place)]
        if places:
            # Durable before anything leaves: a crash after sending finds these by client id.
            await self._journal.record_intents(decision_seq, places, self.clock())
        for i, action in enumerate(actions):
            if kept_after_refusal(action, report.stop_refused):
                continue  # the old stop still protects what its refused replacement was to protect
            if not await self._run(action, report):
                await self._not_sent(actions[i + 1 :], report)
                return report
        if report.stop_refused:
            await self._cover(decision_seq, report)
        return report

    async def _run(self, action: Action, report: ExecutionReport) -> bool:
        """One action; False when the rest must not be sent (authentication failed, venue unreachable)."""
        try:
            if isinstance(action, Place):
                await self._place(action.order, report)
            else:
                await self._venue.cancel(action.client_id)
                await self._journal.set_order_state(action.client_id, OrderState.CANCELED, self.clock(), action.why)
                report.cancelled.append(action.client_id)
        except OrderRejected as exc:
            cid = action.order.client_id if isinstance(action, Place) else action.client_id
            await self._journal.set_order_state(cid, OrderState.REJECTED, self.clock(), str(exc))
            report.rejected.append((cid, str(exc)))
            if isinstance(action, Place) and is_protective_stop(
                action.order.type, action.order.side, action.order.reduce_only
            ):
                report.stop_refused = True
        except AuthFailed as exc:
            report.auth_failed = str(exc)
            return False
        except RetryableVenueError:  # the venue's retries are spent
            report.unresolved.append(action.order.client_id if isinstance(action, Place) else action.client_id)
            return False  # the venue is unreachable: stop here, the next decision starts from its state
        return True

    async def _not_sent(self, rest: Sequence[Action], report: ExecutionReport) -> None:
        """The places after the one that stopped the decision never left: journaled so, not left as open intents
        for a restart to look up (C8: a -1021 storm once left a decision's every later intent unresolved)."""
        why = "not sent: " + ("authentication failed" if report.auth_failed else "the venue gave up on an order before")
        for action in rest:
            if isinstance(action, Place):
                await self._journal.mark_not_sent(action.order.client_id, self.clock(), why)
                report.not_sent.append(action.order.client_id)

    async def _place(self, request: OrderRequest, report: ExecutionReport) -> Order:
        sent_ms = self.clock()
        order = await self._venue.place(request)
        acked_ms = self.clock()
        if self._metrics is not None:
            # The venue's retries included: how long the hedge waited for the venue to hold the order.
            self._metrics.order_ack_seconds.observe((acked_ms - sent_ms) / 1000)
        await self._journal.record_order(order, acked_ms)
        report.placed.append(order)
        return order

    async def _cover(self, decision_seq: int, report: ExecutionReport) -> None:
        """Buy back, reduce-only at market, the part of the short no resting stop of ours covers."""
        with priority(Priority.PROTECT):  # the read that sizes the buy-back protects too (C6)
            account = await self._venue.account()
        request = cover_order(account, self._namespace, decision_seq)
        if request is None:
            return
        cid = request.client_id
        await self._journal.record_intents(decision_seq, [request], self.clock())
        if await self._run(Place(request), report) and cid not in {c for c, _ in report.rejected}:
            report.uncovered_closed = request.contracts


# The stop-first rules as pure functions: the executor runs them against a venue, the replay
# (bot.backtest.hedger) against the paper engine, so both act the same on a refused stop.


def kept_after_refusal(action: Action, stop_refused: bool) -> bool:
    """Whether `action` is skipped: a stop's cancel once a protective stop was refused (the old one stays)."""
    return stop_refused and isinstance(action, Cancel) and role_of(action.client_id) == STOP


def cover_order(account: AccountState, namespace: str, decision_seq: int) -> OrderRequest | None:
    """The reduce-only market buy of the part of the short no resting stop of ours covers, or None."""
    short = max(0, -account.position.contracts)
    covered = sum(
        o.contracts - o.filled_contracts
        for o in account.open_orders
        if role_of(o.client_id) == STOP and is_protective_stop(o.type, o.side, o.reduce_only)
    )
    uncovered = short - covered
    if uncovered <= 0:
        return None
    cid = client_id(namespace, "entry", decision_seq, "uncovered", uncovered, short)
    return OrderRequest(cid, Side.BUY, OrderType.MARKET, uncovered, reduce_only=True)
