"""What the chaos suite measures, from outside the bot: the exchange's own order log and order book, the
requests the proxies saw reach the node and the exchange, and the text the bot left behind. Pure functions
over those records (no I/O), so each measure is tested with plain values.

- a **fresh decision** after time `t` is the bot's account read (the exchange read every decision that passes
  the data guard begins with), made after `t` and after the bot had read the chain at a block at least as high
  as the chain's head at `t`: a decision on data from after the fault, not on the view it had before;
- an **order on bad data** is an order request the exchange answered while bad data was in force;
- a **duplicate** is a client id the exchange accepted more than once;
- an **orphan** is an order resting at the end of a run (after a clean stop) that is not part of the protective
  stops covering the position: a resting entry, a stop beyond the position, a stop with no position;
- **unprotected** contracts are the part of the final short that no resting stop covers;
- a **secret** is any of the run's secrets found, in any case, in a log line, a journal row or a status output.
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

ACCOUNT_READ = "/dapi/v1/account"


class Request(Protocol):
    """What the proxies record of a request (chaos.proxy.Record has these)."""

    @property
    def t_start(self) -> float: ...
    @property
    def t_end(self) -> float | None: ...
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def status(self) -> int | None: ...
    @property
    def rpc_block(self) -> int | None: ...
    @property
    def rpc_ok(self) -> bool: ...


def fresh_decision(after: float, head: int, rpc: Sequence[Request], exchange: Sequence[Request]) -> float | None:
    """When the first fresh decision after `after` began (see the module docstring), or None if none yet."""
    chain_seen = next(
        (r.t_end for r in rpc if r.rpc_ok and r.rpc_block is not None and r.rpc_block >= head and r.t_end is not None),
        None,
    )
    if chain_seen is None:
        return None
    since = max(after, chain_seen)
    for r in exchange:
        if r.t_start > since and r.method == "GET" and r.path == ACCOUNT_READ and r.status == 200:
            return r.t_start
    return None


def first_account_read(after: float, exchange: Sequence[Request]) -> float | None:
    """When the first account read after `after` began (a restarted bot's start-up recovery), or None."""
    return next((r.t_start for r in exchange if r.t_start > after and r.path == ACCOUNT_READ), None)


def orders_between(order_log: Sequence[Mapping[str, Any]], t0: float, t1: float) -> list[Mapping[str, Any]]:
    """The order requests the exchange answered in [t0, t1] (seconds; the log is in ms)."""
    return [row for row in order_log if t0 * 1000 <= row["ts_ms"] <= t1 * 1000]


def duplicates(order_log: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Every acceptance of a client id the exchange had already accepted (the second and later ones)."""
    seen: set[str] = set()
    out = []
    for row in order_log:
        if row["outcome"] != "accepted":
            continue
        if row["client_id"] in seen:
            out.append(row)
        seen.add(row["client_id"])
    return out


@dataclass(frozen=True)
class EndState:
    orphans: list[Mapping[str, Any]]
    unprotected_contracts: int


def end_state(orders: Sequence[Mapping[str, Any]], contracts: int) -> EndState:
    """Orphans and unprotected contracts given the exchange's orders and its position (negative: short).

    A resting order is needed only if it is a reduce-only buy stop that, taken newest first, covers some of the
    short the newer stops left uncovered (one larger than what is left still protects it: the exchange cuts a
    reduce-only order to the position); everything else resting is an orphan.
    """
    short = max(0, -contracts)
    resting = [o for o in orders if o["status"] == "open"]
    stops = [o for o in resting if o["type"] == "stop_market" and o["side"] == "buy" and o["reduce_only"]]
    orphans = [o for o in resting if o not in stops]
    covered = 0
    for stop in sorted(stops, key=lambda o: o["created_ms"], reverse=True):
        if covered < short:
            covered = min(short, covered + stop["contracts"] - stop["filled_contracts"])
        else:
            orphans.append(stop)
    return EndState(orphans, short - covered)


@dataclass(frozen=True)
class Text:
    """A piece of text the bot produced, where it was and when (epoch s; None when unknown)."""

    where: str
    t: float | None
    text: str


@dataclass(frozen=True)
class SecretFound:
    name: str  # which secret (never its value)
    where: str
    t: float | None


def find_secrets(texts: Iterable[Text], secrets: Mapping[str, str]) -> list[SecretFound]:
    """Every (secret, place) where a secret appears, case-insensitively (libraries lower-case URLs)."""
    patterns = {name: re.compile(re.escape(value), re.IGNORECASE) for name, value in secrets.items() if value}
    found = []
    for text in texts:
        for name, pattern in patterns.items():
            if pattern.search(text.text):
                found.append(SecretFound(name, text.where, text.t))
    return found


def log_texts(name: str, content: str) -> list[Text]:
    """The lines of a JSON-lines log, each with its time (a line that is not JSON takes the previous line's)."""
    out = []
    t: float | None = None
    for number, line in enumerate(content.splitlines(), 1):
        try:
            record = json.loads(line)
            stamp = record.get("timestamp") if isinstance(record, dict) else None
            if isinstance(stamp, str):
                t = datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
        out.append(Text(f"{name}:{number}", t, line))
    return out


_TIME_COLUMNS = ("ts_ms", "created_ms", "updated_ms", "applied_ms")


def row_text(table: str, rowid: int, row: Mapping[str, Any]) -> Text:
    """A journal row as text, timed by its first time column."""
    t = next((row[c] / 1000 for c in _TIME_COLUMNS if isinstance(row.get(c), int | float)), None)
    return Text(f"journal {table} row {rowid}", t, " ".join(str(v) for v in row.values()))


def attribute(t: float | None, starts: Sequence[float]) -> int | None:
    """The index of the fault in force or last injected at `t` (faults sorted by start), None before any."""
    if t is None:
        return None
    i = bisect.bisect_right(starts, t) - 1
    return i if i >= 0 else None
