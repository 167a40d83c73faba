"""The journal (SQLite): snapshots, decisions, order intents and acks, fills, funding, alerts, strategy state.

Crash safety. WAL mode with `synchronous=FULL` by default. Under WAL a kill -9 of the process alone
never loses a committed transaction even at NORMAL, because the commit already sits in the OS page
cache; FULL adds an fsync per commit so a power cut or kernel crash cannot lose it either. That
matters here because an order intent must be durable *before* the order leaves: otherwise a restart
could neither find the order by its client id nor know the decision sequence number it came from.
The price is one fsync per commit, a few per decision, paid on the journal's own thread.

Start-up reconciliation. `unacknowledged_intents()` lists orders recorded but never acknowledged;
the engine looks each up on the venue by client id and records what it finds (`record_order`) or
that it never arrived (`mark_not_sent`), instead of sending it again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from bot.domain.alerts import Alert
from bot.domain.orders import Fill, Order, OrderRequest
from bot.domain.plan import HedgePlan
from bot.journal.codec import dumps, order_to_dict, plan_from_dict, plan_to_dict, request_from_dict, request_to_dict
from bot.journal.codec import state_from_dict as _state_from_dict
from bot.journal.records import (
    ORDER_COLUMNS,
    SNAPSHOT_COLUMNS,
    TX_INTENT_COLUMNS,
    ControlRequest,
    ControlState,
    DecisionRecord,
    FundingPayment,
    OrderIntent,
    OrderRecord,
    OrderState,
    SavedStrategyState,
    SnapshotSummary,
    TxIntent,
    TxRecord,
    TxState,
    nan_if_null,
    order_record_from_row,
    tx_record_from_row,
)
from bot.journal.schema import LATEST_VERSION, JournalError, configure, current_version, migrate

Synchronous = Literal["NORMAL", "FULL"]

__all__ = [
    "LATEST_VERSION",
    "DecisionRecord",
    "FundingPayment",
    "Journal",
    "JournalError",
    "OrderIntent",
    "OrderRecord",
    "OrderState",
    "SavedStrategyState",
    "SnapshotSummary",
    "TxIntent",
    "TxRecord",
    "TxState",
]


class Journal:
    """The synchronous journal. One connection guarded by a lock; see AsyncJournal for use from asyncio."""

    def __init__(self, conn: sqlite3.Connection, path: Path, readonly: bool) -> None:
        self._conn = conn
        self._lock = threading.RLock()
        self.path = path
        self.readonly = readonly

    @classmethod
    def open(cls, path: Path | str, now_ms: int = 0, synchronous: Synchronous = "FULL") -> Journal:
        """The journal at `path`, created and migrated to the latest schema as needed."""
        path = Path(path)
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            configure(conn, synchronous)
            migrate(conn, now_ms)
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"cannot open the journal {path}: {exc}") from None
        return cls(conn, path, readonly=False)

    @classmethod
    def open_readonly(cls, path: Path | str) -> Journal:
        """The journal at `path` for reading while a bot may be writing it; never creates or migrates."""
        path = Path(path)
        if not path.is_file():
            raise JournalError(f"no journal at {path}: start the bot (hedgebot run) or pass --db")
        try:
            conn = sqlite3.connect(f"file:{path.resolve()}?mode=ro", uri=True, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            version = current_version(conn)
        except sqlite3.DatabaseError as exc:
            raise JournalError(f"cannot read the journal {path}: {exc}") from None
        if version != LATEST_VERSION:
            conn.close()
            raise JournalError(
                f"the journal {path} is at schema version {version}, this hedgebot reads {LATEST_VERSION}: "
                "start the bot once with this version to migrate it"
            )
        return cls(conn, path, readonly=True)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._conn.execute(sql, params).fetchall())

    def schema_version(self) -> int:
        with self._lock:
            return current_version(self._conn)

    def integrity_problems(self) -> list[str]:
        """Empty when SQLite's integrity and foreign-key checks pass."""
        rows = self._query("PRAGMA integrity_check")
        problems = [str(r[0]) for r in rows if str(r[0]) != "ok"]
        problems += [f"foreign key: {tuple(r)}" for r in self._query("PRAGMA foreign_key_check")]
        return problems

    # --- writes -----------------------------------------------------------------------------------

    def record_snapshot(self, summary: SnapshotSummary) -> int:
        """Store a snapshot summary; return its id (to link the decision made on it)."""
        values = [getattr(summary, c) for c in SNAPSHOT_COLUMNS]
        marks = ", ".join("?" for _ in values)
        with self._tx() as conn:
            cur = conn.execute(f"INSERT INTO snapshots ({', '.join(SNAPSHOT_COLUMNS)}) VALUES ({marks})", values)
            return int(cur.lastrowid or 0)

    def record_decision(self, ts_ms: int, strategy: str, plan: HedgePlan, snapshot_id: int | None = None) -> int:
        """Store a decision and the strategy state it carries, in one transaction; return its sequence number.

        The sequence number is durable before it is returned, so client ids derived from it are never
        reused after a crash.
        """
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT INTO decisions (ts_ms, strategy, reason, contracts, plan_json, snapshot_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (ts_ms, strategy, plan.reason, plan.contracts, dumps(plan_to_dict(plan)), snapshot_id),
            )
            seq = int(cur.lastrowid or 0)
            conn.execute(
                "INSERT INTO strategy_state (id, decision_seq, strategy, state_json, updated_ms) "
                "VALUES (1, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET decision_seq = excluded.decision_seq, "
                "strategy = excluded.strategy, state_json = excluded.state_json, updated_ms = excluded.updated_ms",
                (seq, strategy, dumps(dict(plan.state)), ts_ms),
            )
            return seq

    def record_intents(self, decision_seq: int | None, orders: Sequence[OrderRequest], ts_ms: int) -> None:
        """Record orders about to be sent, all or none. Call before sending any of them.

        Recording an intent whose client id is still live (intent or open) is a no-op, so a retry
        after a crash does not duplicate it.
        """
        with self._tx() as conn:
            for order in orders:
                row = conn.execute(
                    "SELECT state FROM orders WHERE client_id = ? ORDER BY id DESC LIMIT 1", (order.client_id,)
                ).fetchone()
                if row is not None and OrderState(row["state"]).live:
                    continue
                conn.execute(
                    "INSERT INTO orders (client_id, decision_seq, created_ms, updated_ms, request_json, state) "
                    "VALUES (?, ?, ?, ?, ?, 'intent')",
                    (order.client_id, decision_seq, ts_ms, ts_ms, dumps(request_to_dict(order))),
                )

    def record_order(self, order: Order, ts_ms: int, detail: str = "") -> None:
        """Record the venue's view of one of our orders (the ack, or any later change).

        An order of ours the journal has never seen (adopted at start-up) gets a row of its own.
        """
        with self._tx() as conn:
            row = conn.execute(
                "SELECT id FROM orders WHERE client_id = ? ORDER BY id DESC LIMIT 1", (order.client_id,)
            ).fetchone()
            values = (
                order.status.value,
                order.venue_id,
                order.filled_contracts,
                order.average_price,
                dumps(order_to_dict(order)),
                detail,
                ts_ms,
            )
            if row is not None:
                conn.execute(
                    "UPDATE orders SET state = ?, venue_id = ?, filled_contracts = ?, average_price = ?, "
                    "ack_json = ?, detail = ?, updated_ms = ? WHERE id = ?",
                    (*values, row["id"]),
                )
                return
            request = OrderRequest(
                order.client_id,
                order.side,
                order.type,
                order.contracts,
                order.price,
                order.trigger_price,
                order.reduce_only,
            )
            conn.execute(
                "INSERT INTO orders (state, venue_id, filled_contracts, average_price, ack_json, detail, updated_ms, "
                "client_id, created_ms, request_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, order.client_id, ts_ms, dumps(request_to_dict(request))),
            )

    def set_order_state(self, client_id: str, state: OrderState, ts_ms: int, detail: str = "") -> bool:
        """Set the state of the latest order with `client_id` (e.g. rejected, canceled); False if unknown."""
        with self._tx() as conn:
            cur = conn.execute(
                "UPDATE orders SET state = ?, detail = ?, updated_ms = ? WHERE id = "
                "(SELECT id FROM orders WHERE client_id = ? ORDER BY id DESC LIMIT 1)",
                (state.value, detail, ts_ms, client_id),
            )
            return cur.rowcount > 0

    def mark_not_sent(self, client_id: str, ts_ms: int, detail: str = "not found on the venue") -> bool:
        """After a crash: the intent never reached the venue, so it is no longer looked up."""
        return self.set_order_state(client_id, OrderState.NOT_SENT, ts_ms, detail)

    def record_fills(self, fills: Sequence[Fill]) -> int:
        """Store fills, skipping ones already stored; return how many were new."""
        with self._tx() as conn:
            new = 0
            for f in fills:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO fills (client_id, side, contracts, price, fee_btc, ts_ms) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (f.client_id, f.side.value, f.contracts, f.price, f.fee_btc, f.timestamp_ms),
                )
                new += cur.rowcount
            return new

    def record_funding(self, payment: FundingPayment) -> bool:
        """Store a funding payment; False if the one at that instant was already stored."""
        with self._tx() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO funding (ts_ms, amount_btc, rate_8h, contracts) VALUES (?, ?, ?, ?)",
                (payment.ts_ms, payment.amount_btc, payment.rate_8h, payment.contracts),
            )
            return cur.rowcount > 0

    def record_alert(self, alert: Alert, outcome: str = "raised") -> None:
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO alerts (ts_ms, kind, key, severity, message, outcome) VALUES (?, ?, ?, ?, ?, ?)",
                (alert.ts_ms, alert.kind.value, alert.key, alert.severity.value, alert.message, outcome),
            )

    def record_control(self, action: str, source: str, reason: str, ts_ms: int) -> None:
        """Journal a kill, pause, resume or kill clearance; durable when this returns."""
        with self._tx() as conn:
            conn.execute(
                "INSERT INTO controls (ts_ms, action, source, reason) VALUES (?, ?, ?, ?)",
                (ts_ms, action, source, reason[:500]),
            )

    def record_tx_intent(self, intent: TxIntent, ts_ms: int, state: TxState = TxState.INTENT, detail: str = "") -> int:
        """Journal a transaction before it is signed (or a dry-run's would-send, or a refusal); its row id."""
        values = [getattr(intent, c) for c in TX_INTENT_COLUMNS]
        values[TX_INTENT_COLUMNS.index("amount")] = str(intent.amount)
        columns = ", ".join((*TX_INTENT_COLUMNS, "created_ms", "updated_ms", "state", "detail"))
        marks = ", ".join("?" for _ in range(len(TX_INTENT_COLUMNS) + 4))
        with self._tx() as conn:
            cur = conn.execute(
                f"INSERT INTO transactions ({columns}) VALUES ({marks})",
                (*values, ts_ms, ts_ms, state.value, detail[:1000]),
            )
            return int(cur.lastrowid or 0)

    def record_tx_signed(self, tx_id: int, tx_hash: str, ts_ms: int) -> None:
        """Journal a signed transaction's hash: call before broadcasting it."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE transactions SET tx_hash = ?, state = 'signed', updated_ms = ? WHERE id = ?",
                (tx_hash, ts_ms, tx_id),
            )

    def set_tx_state(
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
        """Move a transaction on (sent, confirmed, reverted...); figures given are kept, others left as they are."""
        with self._tx() as conn:
            conn.execute(
                "UPDATE transactions SET state = ?, updated_ms = ?, detail = CASE WHEN ? = '' THEN detail ELSE ? END, "
                "block_number = COALESCE(?, block_number), gas_used = COALESCE(?, gas_used), "
                "health_factor_after = COALESCE(?, health_factor_after) WHERE id = ?",
                (state.value, ts_ms, detail, detail[:1000], block_number, gas_used, health_factor_after, tx_id),
            )

    # --- reads ------------------------------------------------------------------------------------

    def health_alert_keys(self) -> list[str]:
        """The keys of every health alert raised, oldest first (the engine rebuilds what is breached)."""
        return [r["key"] for r in self._query("SELECT key FROM alerts WHERE kind = 'health' ORDER BY id")]

    def control_state(self) -> ControlState:
        """The kill and the pause in force, if any (the latest of each pair of actions wins)."""

        if self.schema_version() < 3:  # a journal written before controls existed, opened read-only
            return ControlState()

        def latest(actions: tuple[str, str]) -> ControlRequest | None:
            rows = self._query(
                "SELECT action, source, reason, ts_ms FROM controls WHERE action IN (?, ?) ORDER BY id DESC LIMIT 1",
                actions,
            )
            if not rows or rows[0]["action"] != actions[0]:
                return None
            r = rows[0]
            return ControlRequest(r["action"], r["source"], r["reason"], r["ts_ms"])

        return ControlState(killed=latest(("kill", "clear_kill")), paused=latest(("pause", "resume")))

    def last_decision_seq(self) -> int:
        """The highest decision sequence number ever given (0 before the first decision)."""
        # sqlite_sequence survives deleted rows, unlike MAX(seq).
        rows = self._query("SELECT seq FROM sqlite_sequence WHERE name = 'decisions'")
        return int(rows[0]["seq"]) if rows else 0

    def load_strategy_state(self) -> SavedStrategyState | None:
        rows = self._query("SELECT decision_seq, strategy, state_json FROM strategy_state WHERE id = 1")
        if not rows:
            return None
        row = rows[0]
        return SavedStrategyState(row["decision_seq"], row["strategy"], _state_from_dict(json.loads(row["state_json"])))

    def unacknowledged_intents(self) -> list[OrderIntent]:
        """Orders recorded before sending with no answer from the venue since, oldest first."""
        rows = self._query(
            "SELECT client_id, decision_seq, request_json, created_ms FROM orders WHERE state = 'intent' ORDER BY id"
        )
        return [
            OrderIntent(
                r["client_id"], r["decision_seq"], request_from_dict(json.loads(r["request_json"])), r["created_ms"]
            )
            for r in rows
        ]

    def order(self, client_id: str) -> OrderRecord | None:
        rows = self._query(
            f"SELECT {ORDER_COLUMNS} FROM orders WHERE client_id = ? ORDER BY id DESC LIMIT 1", (client_id,)
        )
        return order_record_from_row(rows[0]) if rows else None

    def orders(self, states: Sequence[OrderState] = (), since_ms: int = 0) -> list[OrderRecord]:
        """Orders updated since `since_ms`, in the given states (all if none), oldest first."""
        sql = f"SELECT {ORDER_COLUMNS} FROM orders WHERE updated_ms >= ?"
        params: list[Any] = [since_ms]
        if states:
            sql += f" AND state IN ({', '.join('?' for _ in states)})"
            params += [s.value for s in states]
        return [order_record_from_row(r) for r in self._query(sql + " ORDER BY id", params)]

    def last_fill_ms(self) -> int:
        """Timestamp of the newest stored fill (0 if none): where to resume `venue.fills(since_ms)`."""
        return int(self._query("SELECT COALESCE(MAX(ts_ms), 0) AS t FROM fills")[0]["t"])

    def last_funding_ms(self) -> int:
        """Timestamp of the newest stored funding payment (0 if none): where to resume `venue.funding`."""
        return int(self._query("SELECT COALESCE(MAX(ts_ms), 0) AS t FROM funding")[0]["t"])

    def funding_total_btc(self, since_ms: int = 0) -> float:
        """Net funding since `since_ms` (positive: received)."""
        rows = self._query("SELECT COALESCE(SUM(amount_btc), 0.0) AS s FROM funding WHERE ts_ms >= ?", (since_ms,))
        return float(rows[0]["s"])

    def latest_snapshot(self) -> SnapshotSummary | None:
        # A journal from before migration 5, opened read-only, has no matches_chain: it reads as unknown.
        columns = [c for c in SNAPSHOT_COLUMNS if c != "matches_chain" or self.schema_version() >= 5]
        rows = self._query(f"SELECT {', '.join(columns)} FROM snapshots ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        r = rows[0]
        exact = ("ts_ms", "collateral_asset", "hedge_contracts", "matches_chain")
        floats = {c: nan_if_null(r[c]) for c in columns if c not in exact}
        matches = r["matches_chain"] if "matches_chain" in columns else None
        return SnapshotSummary(
            ts_ms=r["ts_ms"],
            collateral_asset=r["collateral_asset"],
            hedge_contracts=r["hedge_contracts"],
            matches_chain=None if matches is None else bool(matches),
            **floats,
        )

    def latest_decision(self) -> DecisionRecord | None:
        rows = self._query(
            "SELECT seq, ts_ms, strategy, plan_json, snapshot_id FROM decisions ORDER BY seq DESC LIMIT 1"
        )
        if not rows:
            return None
        r = rows[0]
        return DecisionRecord(
            r["seq"], r["ts_ms"], r["strategy"], plan_from_dict(json.loads(r["plan_json"])), r["snapshot_id"]
        )

    def transaction(self, tx_id: int) -> TxRecord | None:
        rows = self._query("SELECT * FROM transactions WHERE id = ?", (tx_id,))
        return tx_record_from_row(rows[0]) if rows else None

    def transactions(self, since_ms: int = 0, states: Sequence[TxState] = ()) -> list[TxRecord]:
        """The guardian's transactions created since `since_ms`, in the given states (all if none), oldest first."""
        if self.schema_version() < 4:  # a journal from before the guardian, opened read-only
            return []
        sql = "SELECT * FROM transactions WHERE created_ms >= ?"
        params: list[Any] = [since_ms]
        if states:
            sql += f" AND state IN ({', '.join('?' for _ in states)})"
            params += [s.value for s in states]
        return [tx_record_from_row(r) for r in self._query(sql + " ORDER BY id", params)]

    def unresolved_transactions(self) -> list[TxRecord]:
        """Transactions that may be on their way (intent, signed, sent), oldest first: look each up before sending."""
        return self.transactions(states=[s for s in TxState if s.unresolved])

    def defense_spent_usd(self, since_ms: int, mode: str) -> float:
        """USD of repays and supplies in `mode` since `since_ms` that spent (or may have spent) the reserve.

        In dry-run the would-sends count, so a dry-run's daily limit behaves as the live one would.
        """
        if self.schema_version() < 4:
            return 0.0
        states = ("simulated",) if mode == "dry-run" else ("intent", "signed", "sent", "confirmed")
        rows = self._query(
            "SELECT COALESCE(SUM(amount_usd), 0.0) AS s FROM transactions WHERE created_ms >= ? AND mode = ? "
            f"AND kind IN ('repay', 'supply') AND state IN ({', '.join('?' for _ in states)})",
            (since_ms, mode, *states),
        )
        return float(rows[0]["s"])

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Raw read access for the journal's readers (bot/journal/events.py)."""
        return self._query(sql, params)
