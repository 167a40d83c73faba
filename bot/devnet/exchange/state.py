"""The exchange's one account: the paper engine, what Binance shows that the engine does not keep, and its
SQLite copy. The handlers get this object, never the server, so they import nothing of the HTTP life cycle.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.domain.orders import OrderRequest
from bot.paper import PaperEngine


class ExchangeState:
    """The engine plus order times, workingTypes and mark samples, the account's API keys and clock.

    `lock` serialises everything that touches the engine: requests, the candle replay, the admin routes.
    """

    def __init__(
        self,
        engine: PaperEngine,
        *,
        api_key: str,
        api_secret: str,
        clock: Callable[[], int],
        state_path: Path | None = None,
    ) -> None:
        self.engine = engine
        self.api_key, self.api_secret = api_key, api_secret
        self.clock = clock
        self.state_path = state_path
        self.order_times: dict[str, int] = {}  # client id -> creation time (ms); the engine keeps no clock
        self.working_types: dict[str, str] = {}  # algo client id -> workingType as sent
        self.history: list[tuple[int, float]] = []  # (ms, mark) samples, for klines and the 24 h ticker
        # Every order request the exchange answered, accepted or refused, in arrival order and never rewritten:
        # an outside witness of what the account was asked to do (the chaos suite counts duplicates with it).
        self.order_log: list[dict[str, Any]] = []
        self.lock = asyncio.Lock()

    def now_ms(self) -> int:
        return self.clock()

    def set_mark(self, price: float) -> int:
        """Move the mark (and last) to `price`, paying funding that fell due; the fills it caused."""
        now = self.now_ms()
        self.engine.advance_time(now)
        fills = self.engine.move(price)
        self.history.append((now, price))
        del self.history[:-10_000]
        self.save()
        return fills

    def record_order(self, book: str, request: OrderRequest, outcome: str) -> None:
        """Append one answered order request to `order_log` (outcome: "accepted" or "rejected <code>")."""
        self.order_log.append(
            {
                "ts_ms": self.now_ms(),
                "book": book,
                "client_id": request.client_id,
                "side": request.side.value,
                "type": request.type.value,
                "contracts": request.contracts,
                "price": request.price,
                "trigger_price": request.trigger_price,
                "reduce_only": request.reduce_only,
                "mark": self.engine.mark,
                "outcome": outcome,
            }
        )

    def funding_history(self) -> list[tuple[int, float, float]]:
        """(time, rate, mark) of each funding time after the first mark sample kept, up to now.

        The market's funding, whether or not the account held a position: the engine's rate at that time
        and the last mark sampled at or before it.
        """
        if not self.history:
            return []
        interval = self.engine.settings.funding_interval_ms
        events = []
        i = 0
        t = (self.history[0][0] // interval + 1) * interval
        while t <= self.now_ms():
            while i + 1 < len(self.history) and self.history[i + 1][0] <= t:
                i += 1
            events.append((t, self.engine.funding_rate_at(t), self.history[i][1]))
            t += interval
        return events

    def save(self) -> None:
        """Write the account to `state_path` (nothing without one)."""
        if self.state_path is None:
            return
        state = {
            "engine": self.engine.to_dict(),
            "order_times": self.order_times,
            "working_types": self.working_types,
            "order_log": self.order_log,
        }
        with sqlite3.connect(self.state_path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL)")
            db.execute("INSERT OR REPLACE INTO state (id, json) VALUES (1, ?)", (json.dumps(state),))

    def load(self) -> None:
        """Replace the account with the one saved at `state_path`; a file with no account saved changes nothing."""
        assert self.state_path is not None
        with sqlite3.connect(self.state_path) as db:
            row = db.execute("SELECT json FROM state WHERE id = 1").fetchone()
        if row is None:
            return
        state = json.loads(row[0])
        self.engine = PaperEngine.from_dict(state["engine"])
        self.order_times = {k: int(v) for k, v in state["order_times"].items()}
        self.working_types = dict(state["working_types"])
        self.order_log = list(state.get("order_log", []))  # absent from states saved before it was kept
