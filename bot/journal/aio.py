"""The journal for asyncio: every call runs on one dedicated thread.

Why a thread and not sqlite3 on the event loop: with synchronous=FULL each commit waits for an fsync
(a millisecond on an SSD, tens on a busy or network disk), and the loop must keep reading blocks
and order updates meanwhile. Why exactly one thread: a sqlite3 connection must not be used by two
threads at once, and one worker also keeps writes in the order the engine issued them, so an
intent awaited before `venue.place` is on disk before the order leaves.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from bot.domain.alerts import Alert
from bot.domain.orders import Fill, Order, OrderRequest
from bot.domain.plan import HedgePlan
from bot.journal.journal import (
    DecisionRecord,
    FundingPayment,
    Journal,
    OrderIntent,
    OrderRecord,
    OrderState,
    SavedStrategyState,
    SnapshotSummary,
    Synchronous,
    TxIntent,
    TxRecord,
    TxState,
)
from bot.journal.records import ControlState

P = ParamSpec("P")
T = TypeVar("T")


class AsyncJournal:
    """Awaitable twins of Journal's methods, run in order on the journal's thread."""

    def __init__(self, journal: Journal, executor: ThreadPoolExecutor) -> None:
        self.journal = journal
        self._executor = executor

    @classmethod
    async def open(cls, path: Path | str, now_ms: int = 0, synchronous: Synchronous = "FULL") -> AsyncJournal:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="journal")
        loop = asyncio.get_running_loop()
        journal = await loop.run_in_executor(executor, functools.partial(Journal.open, path, now_ms, synchronous))
        return cls(journal, executor)

    async def call(self, method: Callable[Concatenate[Journal, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run any Journal method on the journal's thread: `await aj.call(Journal.orders, since_ms=t)`."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(method, self.journal, *args, **kwargs))

    async def close(self) -> None:
        await self.call(Journal.close)
        self._executor.shutdown(wait=True)

    async def record_snapshot(self, summary: SnapshotSummary) -> int:
        return await self.call(Journal.record_snapshot, summary)

    async def record_decision(self, ts_ms: int, strategy: str, plan: HedgePlan, snapshot_id: int | None = None) -> int:
        return await self.call(Journal.record_decision, ts_ms, strategy, plan, snapshot_id)

    async def record_intents(self, decision_seq: int | None, orders: Sequence[OrderRequest], ts_ms: int) -> None:
        await self.call(Journal.record_intents, decision_seq, orders, ts_ms)

    async def record_order(self, order: Order, ts_ms: int, detail: str = "") -> None:
        await self.call(Journal.record_order, order, ts_ms, detail)

    async def set_order_state(self, client_id: str, state: OrderState, ts_ms: int, detail: str = "") -> bool:
        return await self.call(Journal.set_order_state, client_id, state, ts_ms, detail)

    async def mark_not_sent(self, client_id: str, ts_ms: int, detail: str = "not found on the venue") -> bool:
        return await self.call(Journal.mark_not_sent, client_id, ts_ms, detail)

    async def record_fills(self, fills: Sequence[Fill]) -> int:
        return await self.call(Journal.record_fills, fills)

    async def record_funding(self, payment: FundingPayment) -> bool:
        return await self.call(Journal.record_funding, payment)

    async def record_alert(self, alert: Alert, outcome: str = "raised") -> None:
        await self.call(Journal.record_alert, alert, outcome)

    async def record_control(self, action: str, source: str, reason: str, ts_ms: int) -> None:
        await self.call(Journal.record_control, action, source, reason, ts_ms)

    async def health_alert_keys(self) -> list[str]:
        return await self.call(Journal.health_alert_keys)

    async def control_state(self) -> ControlState:
        return await self.call(Journal.control_state)

    async def last_decision_seq(self) -> int:
        return await self.call(Journal.last_decision_seq)

    async def load_strategy_state(self) -> SavedStrategyState | None:
        return await self.call(Journal.load_strategy_state)

    async def unacknowledged_intents(self) -> list[OrderIntent]:
        return await self.call(Journal.unacknowledged_intents)

    async def order(self, client_id: str) -> OrderRecord | None:
        return await self.call(Journal.order, client_id)

    async def last_fill_ms(self) -> int:
        return await self.call(Journal.last_fill_ms)

    async def last_funding_ms(self) -> int:
        return await self.call(Journal.last_funding_ms)

    async def funding_total_btc(self, since_ms: int = 0) -> float:
        return await self.call(Journal.funding_total_btc, since_ms)

    async def latest_decision(self) -> DecisionRecord | None:
        return await self.call(Journal.latest_decision)

    async def record_tx_intent(
        self, intent: TxIntent, ts_ms: int, state: TxState = TxState.INTENT, detail: str = ""
    ) -> int:
        return await self.call(Journal.record_tx_intent, intent, ts_ms, state, detail)

    async def record_tx_signed(self, tx_id: int, tx_hash: str, ts_ms: int) -> None:
        await self.call(Journal.record_tx_signed, tx_id, tx_hash, ts_ms)

    async def set_tx_state(
        self,
        tx_id: int,
        state: TxState,
        ts_ms: int,
        detail: str = "",
        *,
        block_number: int | None = None,
        gas_used: int | None = None,
        health_factor_after: float | None = None,
    ) -> None:
        await self.call(
            Journal.set_tx_state,
            tx_id,
            state,
            ts_ms,
            detail,
            block_number=block_number,
            gas_used=gas_used,
            health_factor_after=health_factor_after,
        )

    async def unresolved_transactions(self) -> list[TxRecord]:
        return await self.call(Journal.unresolved_transactions)

    async def transactions(self, since_ms: int = 0, states: Sequence[TxState] = ()) -> list[TxRecord]:
        return await self.call(Journal.transactions, since_ms, states)

    async def defense_spent_usd(self, since_ms: int, mode: str) -> float:
        return await self.call(Journal.defense_spent_usd, since_ms, mode)
