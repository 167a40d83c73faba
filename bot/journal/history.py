"""The journal as time series, for the dashboard's charts: snapshots as columns, and the latest events.

Snapshots come every block, so a long window is thinned to at most `max_points` evenly spaced rows (the
newest always kept). Non-finite figures (the health factor of a loan without debt) become None: a gap in
a chart, not a string.
"""

from __future__ import annotations

import math
from typing import Any

from bot.journal.journal import Journal

SERIES = (
    "health_factor",
    "collateral_price_usd",
    "liquidation_price_usd",
    "distance_to_liquidation",
    "btc_price",
    "hedge_contracts",
    "hedge_pnl_btc",
    "funding_rate_8h",
)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def thin(rows: list[Any], max_points: int) -> list[Any]:
    """At most `max_points` of `rows`, evenly spaced, the last one always kept."""
    if max_points <= 0 or len(rows) <= max_points:
        return rows
    step = len(rows) / max_points
    picked = [rows[int(i * step)] for i in range(max_points - 1)]
    return [*picked, rows[-1]]


def history(journal: Journal, since_ms: int, max_points: int = 1500, events: int = 30) -> dict[str, Any]:
    """The dashboard's history document: snapshot columns since `since_ms`, funding since then, and the
    newest `events` decisions, alerts and controls (whenever they were)."""
    rows = journal.rows(
        f"SELECT ts_ms, {', '.join(SERIES)} FROM snapshots WHERE ts_ms >= ? ORDER BY ts_ms, id", (since_ms,)
    )
    rows = thin(rows, max_points)
    snapshots: dict[str, list[Any]] = {"ts_ms": [r["ts_ms"] for r in rows]}
    for name in SERIES:
        snapshots[name] = [_finite(r[name]) for r in rows]
    funding = journal.rows(
        "SELECT ts_ms, amount_btc, rate_8h FROM funding WHERE ts_ms >= ? ORDER BY ts_ms", (since_ms,)
    )
    decisions = journal.rows(
        "SELECT seq, ts_ms, strategy, contracts, reason FROM decisions ORDER BY seq DESC LIMIT ?", (events,)
    )
    alerts = journal.rows(
        "SELECT ts_ms, severity, key, message, outcome FROM alerts ORDER BY id DESC LIMIT ?", (events,)
    )
    controls = (
        journal.rows("SELECT ts_ms, action, source, reason FROM controls ORDER BY id DESC LIMIT ?", (events,))
        if journal.schema_version() >= 3
        else []
    )
    return {
        "since_ms": since_ms,
        "snapshots": snapshots,
        "funding": [dict(r) for r in funding],
        "decisions": [dict(r) for r in decisions],
        "alerts": [dict(r) for r in alerts],
        "controls": [dict(r) for r in controls],
    }
