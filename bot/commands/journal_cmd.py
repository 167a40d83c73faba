"""`hedgebot journal [--since T] [--json]`: what the bot decided, sent, got filled, paid and alerted."""

from __future__ import annotations

import argparse
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.clock import wall_ms
from bot.config import load_settings
from bot.errors import UsageError
from bot.journal.events import DEFAULT_KINDS, KINDS, events
from bot.journal.journal import Journal
from bot.ops.output import print_json
from bot.ops.status_text import iso_ms

_RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")
_UNIT_MS = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("journal", help="print the journal: decisions, orders, fills, funding, alerts")
    p.add_argument(
        "--since",
        metavar="T",
        help="only events since T: a duration back from now (90s, 15m, 2h, 7d), an ISO time "
        "(2026-05-19T12:00, UTC unless it says otherwise) or epoch milliseconds",
    )
    p.add_argument(
        "--kind",
        action="append",
        choices=KINDS,
        help=f"event kinds to show (repeatable; default: {', '.join(DEFAULT_KINDS)}; snapshots only when asked)",
    )
    p.add_argument("--limit", type=int, default=200, help="show the newest N events (default 200; 0: all)")
    p.add_argument("--db", type=Path, help="journal file (default: the db_path setting)")
    p.add_argument("--config", type=Path, help="TOML settings file (for db_path)")
    p.add_argument("--json", action="store_true", help="print one JSON list")
    p.set_defaults(func=run)


def parse_since(text: str, now_ms: int) -> int:
    """Epoch milliseconds from a duration back from `now_ms`, an ISO time or epoch milliseconds."""
    value = text.strip()
    match = _RELATIVE.match(value)
    if match:
        return now_ms - int(float(match.group(1)) * _UNIT_MS[match.group(2)])
    if value.isdigit():
        return int(value)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(
            f"--since {text!r} is not a time: use a duration (90s, 15m, 2h, 7d), an ISO time or epoch milliseconds"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


def journal_path(db: Path | None, config: Path | None) -> Path:
    return db if db is not None else load_settings(config).db_path


def run(args: argparse.Namespace) -> int:
    now_ms = wall_ms()
    since_ms = parse_since(args.since, now_ms) if args.since else 0
    if args.limit < 0:
        raise UsageError(f"--limit must be zero or positive, got {args.limit}")
    with Journal.open_readonly(journal_path(args.db, args.config)) as journal:
        found = events(journal, since_ms, args.kind or DEFAULT_KINDS, args.limit or None)
    if args.json:
        print_json([{"ts_ms": e.ts_ms, "time": iso_ms(e.ts_ms), "kind": e.kind, **e.data} for e in found])
        return 0
    if not found:
        print("no journal events" + (f" since {iso_ms(since_ms)}" if since_ms else ""))
        return 0
    width = max(len(e.kind) for e in found)
    for e in found:
        print(f"{iso_ms(e.ts_ms)}  {e.kind:<{width}}  {e.text}")
    return 0
