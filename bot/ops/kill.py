"""The kill switch: one flag the engine watches, set by `POST /kill`, by the CLI, by a kill file, or by the engine.

A kill is journaled (the `controls` table) before it takes effect, by every route, so it holds across a
restart: `hedgebot run` refuses to trade while a kill is in force (exit code 3) until a person clears it
with `hedgebot kill --clear`. The kill file (`<db_path>.kill`) is how a kill reaches a running bot when
its HTTP endpoint is off; the bot journals what it finds there.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.errors import HedgebotError
from bot.journal.journal import Journal
from bot.journal.records import ControlRequest

KILLED_EXIT_CODE = 3


class Killed(HedgebotError):
    """A kill is in force: the bot does not trade until a person clears it (exit 3)."""

    exit_code = KILLED_EXIT_CODE


def kill_file_for(db_path: Path) -> Path:
    """The kill file that goes with the journal at `db_path`."""
    return db_path.with_name(db_path.name + ".kill")


@dataclass(frozen=True, slots=True)
class KillRequest:
    reason: str
    source: str  # "http", "cli", "file", "signal", "engine"
    ts_ms: int


def write_kill_file(path: Path, reason: str, ts_ms: int) -> None:
    """Ask a running bot to halt through its kill file (atomic: the bot never reads half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"reason": reason, "ts_ms": ts_ms}))
    tmp.replace(path)


def read_kill_file(path: Path, now_ms: int) -> KillRequest | None:
    """The request in the kill file at `path`, if there is one (an unreadable file still kills)."""
    if not path.exists():
        return None
    reason, ts_ms = "kill file present", now_ms
    with contextlib.suppress(OSError, ValueError, AttributeError, TypeError):
        doc = json.loads(path.read_text())
        reason = str(doc.get("reason") or reason)
        ts_ms = int(doc.get("ts_ms") or now_ms)
    return KillRequest(reason, "file", ts_ms)


def kill_in_force(journal: Journal, kill_file: Path, now_ms: int) -> ControlRequest | None:
    """The kill that holds for this journal: journaled and not cleared, or a kill file not yet journaled."""
    killed = journal.control_state().killed
    if killed is not None:
        return killed
    from_file = read_kill_file(kill_file, now_ms)
    if from_file is None:
        return None
    journal.record_control("kill", from_file.source, from_file.reason, from_file.ts_ms)
    return ControlRequest("kill", from_file.source, from_file.reason, from_file.ts_ms)


def refuse_if_killed(db_path: Path, now_ms: int) -> None:
    """Raise Killed when a kill is in force for the journal at `db_path` (checked before anything trades)."""
    if not db_path.exists() and not kill_file_for(db_path).exists():
        return
    with Journal.open(db_path, now_ms) as journal:
        killed = kill_in_force(journal, kill_file_for(db_path), now_ms)
    if killed is not None:
        when = datetime.fromtimestamp(killed.ts_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        raise Killed(
            f"killed at {when} by {killed.source}: {killed.reason}; the bot will not trade until the kill is "
            f"cleared: hedgebot kill --clear --db {db_path}"
        )


class KillSwitch:
    """Set once; the first request wins and later ones are ignored. `persist` journals a request first."""

    def __init__(
        self,
        kill_file: Path | None = None,
        persist: Callable[[KillRequest], Awaitable[None]] | None = None,
    ) -> None:
        self.kill_file = kill_file
        self.persist = persist
        self.request: KillRequest | None = None
        self._event = asyncio.Event()

    @property
    def requested(self) -> bool:
        return self.request is not None

    def trigger(self, reason: str, source: str, ts_ms: int) -> KillRequest:
        """Set the flag now (the caller has journaled the request, or cannot)."""
        if self.request is None:
            self.request = KillRequest(reason, source, ts_ms)
            self._event.set()
        return self.request

    async def request_kill(self, reason: str, source: str, ts_ms: int) -> KillRequest:
        """Journal the request (durable across restarts), then set the flag. The first request wins."""
        if self.request is not None:
            return self.request
        if self.persist is not None:
            await self.persist(KillRequest(reason, source, ts_ms))
        return self.trigger(reason, source, ts_ms)

    async def wait(self) -> KillRequest:
        """Return when a kill is requested."""
        await self._event.wait()
        assert self.request is not None
        return self.request

    async def poll_file(self, now_ms: int) -> KillRequest | None:
        """Request a kill if the kill file exists (one stat call: cheap enough for every heartbeat)."""
        if self.request is not None or self.kill_file is None:
            return self.request
        found = read_kill_file(self.kill_file, now_ms)
        if found is None:
            return None
        return await self.request_kill(found.reason, found.source, found.ts_ms)


async def hold_while_killed(db_path: Path, stop: asyncio.Event, poll_s: float = 2.0) -> bool:
    """Wait while a kill is in force for the journal at `db_path`: True once it is cleared (`hedgebot kill
    --clear`), False when `stop` is set first. For a supervisor that restarts whatever exits: a killed bot
    that exited would be restarted, refuse, exit 3 and be restarted again, forever."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(refuse_if_killed, db_path, int(datetime.now(UTC).timestamp() * 1000))
        except Killed:
            pass
        else:
            return True
        # The poll interval, not a synchronisation: the kill is cleared by another process.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll_s)
    return False
