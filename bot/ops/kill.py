"""The kill switch: one flag the engine watches, set by `POST /kill`, by a kill file, or by the engine itself.

The kill file (`<db_path>.kill`) works when the HTTP endpoint is off or unreachable. It is left in
place after the bot halts, on purpose: a bot restarted by a supervisor stays halted until a person
deletes the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from pathlib import Path


def kill_file_for(db_path: Path) -> Path:
    """The kill file that goes with the journal at `db_path`."""
    return db_path.with_name(db_path.name + ".kill")


@dataclass(frozen=True, slots=True)
class KillRequest:
    reason: str
    source: str  # "http", "file", "signal", "engine"
    ts_ms: int


def write_kill_file(path: Path, reason: str, ts_ms: int) -> None:
    """Ask a running bot to halt through its kill file (atomic: the bot never reads half a file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"reason": reason, "ts_ms": ts_ms}))
    tmp.replace(path)


class KillSwitch:
    """Set once; the first request wins and later ones are ignored."""

    def __init__(self, kill_file: Path | None = None) -> None:
        self.kill_file = kill_file
        self.request: KillRequest | None = None
        self._event = asyncio.Event()

    @property
    def requested(self) -> bool:
        return self.request is not None

    def trigger(self, reason: str, source: str, ts_ms: int) -> KillRequest:
        if self.request is None:
            self.request = KillRequest(reason, source, ts_ms)
            self._event.set()
        return self.request

    async def wait(self) -> KillRequest:
        """Return when a kill is requested."""
        await self._event.wait()
        assert self.request is not None
        return self.request

    def poll_file(self, now_ms: int) -> KillRequest | None:
        """Trigger if the kill file exists (one stat call: cheap enough for every heartbeat)."""
        if self.request is not None or self.kill_file is None or not self.kill_file.exists():
            return self.request
        reason = "kill file present"
        with contextlib.suppress(OSError, ValueError, AttributeError):
            reason = str(json.loads(self.kill_file.read_text()).get("reason") or reason)
        return self.trigger(reason, "file", now_ms)
