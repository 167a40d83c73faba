"""The journal's schema as ordered migrations, and the connection settings that make it crash-safe.

Each migration runs in one transaction together with its `schema_version` row, so a crash during an
upgrade leaves the previous version intact and the next start simply runs it again. Never edit a
released migration; append a new one.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from bot.errors import HedgebotError


class JournalError(HedgebotError):
    """The journal cannot be opened or is not one this hedgebot understands."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "snapshots, decisions, orders, fills, funding, alerts, strategy state",
        """
        CREATE TABLE snapshots (
            id INTEGER PRIMARY KEY,
            ts_ms INTEGER NOT NULL,
            health_factor REAL,
            liquidation_price_usd REAL,
            distance_to_liquidation REAL,
            collateral_asset TEXT NOT NULL,
            collateral_price_usd REAL NOT NULL,
            debt_usd REAL NOT NULL,
            btc_price REAL NOT NULL,
            hedge_contracts INTEGER NOT NULL,
            hedge_entry_price REAL NOT NULL,
            hedge_equity_btc REAL NOT NULL,
            funding_rate_8h REAL NOT NULL
        );
        CREATE INDEX snapshots_ts ON snapshots (ts_ms);

        -- AUTOINCREMENT: a sequence number is never reused, even if rows are pruned, because client
        -- order ids are derived from it and a reused one could match an old order on the venue.
        CREATE TABLE decisions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            ts_ms INTEGER NOT NULL,
            strategy TEXT NOT NULL,
            reason TEXT NOT NULL,
            contracts INTEGER NOT NULL,
            plan_json TEXT NOT NULL,
            snapshot_id INTEGER REFERENCES snapshots (id)
        );
        CREATE INDEX decisions_ts ON decisions (ts_ms);

        -- Not unique on client_id: a stop id is derived from its price and size, so the same id can
        -- come back after the earlier order was cancelled. The latest row of an id is its current one.
        CREATE TABLE orders (
            id INTEGER PRIMARY KEY,
            client_id TEXT NOT NULL,
            decision_seq INTEGER REFERENCES decisions (seq),
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL,
            request_json TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('intent', 'open', 'filled', 'canceled', 'rejected', 'not_sent')),
            venue_id TEXT,
            filled_contracts INTEGER NOT NULL DEFAULT 0,
            average_price REAL,
            ack_json TEXT,
            detail TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX orders_client_id ON orders (client_id, id);
        CREATE INDEX orders_state ON orders (state);
        CREATE INDEX orders_updated ON orders (updated_ms);

        -- Venues report fills without a trade id in our interface; the natural key lets the engine
        -- re-read an overlapping window of fills after a restart without counting one twice.
        CREATE TABLE fills (
            id INTEGER PRIMARY KEY,
            client_id TEXT NOT NULL,
            side TEXT NOT NULL,
            contracts INTEGER NOT NULL,
            price REAL NOT NULL,
            fee_btc REAL NOT NULL,
            ts_ms INTEGER NOT NULL,
            UNIQUE (client_id, ts_ms, side, contracts, price)
        );
        CREATE INDEX fills_ts ON fills (ts_ms);

        CREATE TABLE funding (
            id INTEGER PRIMARY KEY,
            ts_ms INTEGER NOT NULL UNIQUE,
            amount_btc REAL NOT NULL,
            rate_8h REAL NOT NULL,
            contracts INTEGER NOT NULL
        );

        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            ts_ms INTEGER NOT NULL,
            kind TEXT NOT NULL,
            key TEXT NOT NULL,
            severity TEXT NOT NULL,
            message TEXT NOT NULL,
            outcome TEXT NOT NULL
        );
        CREATE INDEX alerts_ts ON alerts (ts_ms);

        CREATE TABLE strategy_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            decision_seq INTEGER NOT NULL REFERENCES decisions (seq),
            strategy TEXT NOT NULL,
            state_json TEXT NOT NULL,
            updated_ms INTEGER NOT NULL
        );
        """,
    ),
    Migration(
        2,
        "snapshots keep the hedge's unrealised PnL, for status read from the journal",
        """
        ALTER TABLE snapshots ADD COLUMN hedge_pnl_btc REAL NOT NULL DEFAULT 0.0;
        """,
    ),
    Migration(
        3,
        "controls: kill and pause requests, so they hold across restarts whatever route they came by",
        """
        CREATE TABLE controls (
            id INTEGER PRIMARY KEY,
            ts_ms INTEGER NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('kill', 'clear_kill', 'pause', 'resume')),
            source TEXT NOT NULL,
            reason TEXT NOT NULL
        );
        """,
    ),
    Migration(
        4,
        "transactions: the guardian's on-chain defenses, journaled before signing and before broadcast",
        """
        -- One row per transaction (an approve and its repay are two rows of one defense_id). The intent
        -- is written before signing and the hash before broadcast, so after a crash every transaction
        -- that may have left is looked up by its hash and its nonce, never sent again.
        -- Amounts are the token's smallest unit as decimal text: they can exceed SQLite's 64-bit integers.
        CREATE TABLE transactions (
            id INTEGER PRIMARY KEY,
            defense_id TEXT NOT NULL,
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL,
            mode TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('approve', 'repay', 'supply')),
            chain_id INTEGER NOT NULL,
            sender TEXT NOT NULL,
            to_address TEXT NOT NULL,
            borrower TEXT NOT NULL,
            asset_symbol TEXT NOT NULL,
            asset TEXT NOT NULL,
            amount TEXT NOT NULL,
            amount_usd REAL NOT NULL,
            target_health_factor REAL,
            reason TEXT NOT NULL DEFAULT '',
            nonce INTEGER,
            tx_hash TEXT,
            state TEXT NOT NULL CHECK (state IN (
                'intent', 'signed', 'sent', 'confirmed', 'reverted', 'not_sent', 'dropped', 'refused', 'simulated'
            )),
            block_number INTEGER,
            gas_used INTEGER,
            health_factor_before REAL,
            health_factor_after REAL,
            detail TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX transactions_state ON transactions (state);
        CREATE INDEX transactions_created ON transactions (created_ms);
        CREATE INDEX transactions_hash ON transactions (tx_hash);
        """,
    ),
    Migration(
        5,
        "snapshots keep whether the exact replica matched the Pool (NULL: not known, rows from before)",
        """
        ALTER TABLE snapshots ADD COLUMN matches_chain INTEGER CHECK (matches_chain IN (0, 1));
        """,
    ),
)

LATEST_VERSION = MIGRATIONS[-1].version


def configure(conn: sqlite3.Connection, synchronous: str) -> None:
    """WAL, the chosen fsync level, foreign keys, and a wait instead of an error when a reader holds a lock."""
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise JournalError(
            f"the journal's file system does not support WAL (got journal_mode={mode}); use a local disk"
        )
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=5000")


def current_version(conn: sqlite3.Connection) -> int:
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_version'").fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    return int(row[0] or 0)


def migrate(conn: sqlite3.Connection, now_ms: int, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Apply every missing migration in order; return the resulting version."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        "version INTEGER PRIMARY KEY, applied_ms INTEGER NOT NULL, description TEXT NOT NULL)"
    )
    version = current_version(conn)
    if version > migrations[-1].version:
        raise JournalError(
            f"the journal is at schema version {version}, newer than this hedgebot knows ({LATEST_VERSION}): "
            "upgrade hedgebot or point db_path at another file"
        )
    for step in migrations:
        if step.version <= version:
            continue
        # BEGIN IMMEDIATE takes the write lock first, so two processes starting together cannot both
        # apply the same step; the version row commits atomically with the step's DDL.
        conn.execute("BEGIN IMMEDIATE")
        try:
            if current_version(conn) >= step.version:
                conn.execute("ROLLBACK")
                continue
            for statement in _statements(step.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_version (version, applied_ms, description) VALUES (?, ?, ?)",
                (step.version, now_ms, step.description),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return current_version(conn)


def _statements(script: str) -> list[str]:
    # executescript() would commit our open transaction first; split and run statements inside it instead.
    out: list[str] = []
    buffer = ""
    for line in script.splitlines():
        if line.strip().startswith("--"):
            continue
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            out.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        raise ValueError(f"incomplete SQL statement in migration: {buffer.strip()[:60]}")
    return out
