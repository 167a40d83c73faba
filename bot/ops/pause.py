"""Pause and resume: a flag the engine reads before it sends anything, journaled like a kill.

Paused, the bot keeps watching, alerting and keeping its protective stops, and places nothing that could
add to the short (bot.runtime.pause says exactly what it still sends). Every route (HTTP, the dashboard,
Telegram, the CLI) journals the request in the `controls` table before the flag changes, so a paused bot
starts paused after a restart. The journal is the one source of truth: a running bot follows it
(`follow`), which is how `hedgebot pause` reaches a bot whose HTTP endpoint is off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.journal.records import ControlRequest, ControlState
from bot.log import get_logger

log = get_logger("hedgebot.pause")

Persist = Callable[[ControlRequest], Awaitable[None]]
OnChange = Callable[[ControlRequest], object]


@dataclass(frozen=True, slots=True)
class PauseAnswer:
    """What a pause or resume request did: the request that now holds, and whether it changed anything."""

    paused: bool
    request: ControlRequest | None  # the pause in force (or the resume that lifted it)
    changed: bool


class PauseSwitch:
    """Paused or not. `persist` journals a request before the flag changes; `on_change` tells a person."""

    def __init__(self, persist: Persist | None = None, on_change: OnChange | None = None) -> None:
        self.persist = persist
        self.on_change = on_change
        self.request: ControlRequest | None = None  # the pause in force
        self._lock = asyncio.Lock()

    @property
    def paused(self) -> bool:
        return self.request is not None

    def restore(self, paused: ControlRequest | None) -> None:
        """Take the pause the journal holds (at start-up: a paused bot starts paused)."""
        self.request = paused
        if paused is not None:
            log.warning(
                "starting paused: no new orders until `hedgebot resume`", source=paused.source, reason=paused.reason
            )

    async def pause(self, reason: str, source: str, ts_ms: int) -> PauseAnswer:
        """Journal a pause, then pause; a second pause changes nothing (the first one's reason stands)."""
        async with self._lock:
            if self.request is not None:
                return PauseAnswer(True, self.request, changed=False)
            request = ControlRequest("pause", source, reason[:500], ts_ms)
            if self.persist is not None:
                await self.persist(request)
            self._set(request)
            return PauseAnswer(True, request, changed=True)

    async def resume(self, reason: str, source: str, ts_ms: int) -> PauseAnswer:
        """Journal a resume, then trade again; resuming a bot that is not paused changes nothing."""
        async with self._lock:
            if self.request is None:
                return PauseAnswer(False, None, changed=False)
            request = ControlRequest("resume", source, reason[:500], ts_ms)
            if self.persist is not None:
                await self.persist(request)
            self._set(None, request)
            return PauseAnswer(False, request, changed=True)

    def _set(self, paused: ControlRequest | None, resumed: ControlRequest | None = None) -> None:
        self.request = paused
        change = paused or resumed
        assert change is not None
        log.warning(
            "paused: no new orders, stops kept" if paused else "resumed: trading again",
            source=change.source,
            reason=change.reason,
        )
        if self.on_change is not None:
            self.on_change(change)

    async def follow(self, read: Callable[[], Awaitable[ControlState]], interval_s: float = 1.0) -> None:
        """Follow the journal's pause (a request journaled by another process, such as an offline
        `hedgebot pause`); runs until cancelled. A failed read is logged and retried at the next interval."""
        while True:
            await asyncio.sleep(interval_s)
            # Read under the lock: a reading taken before a pause journaled here must not undo it.
            async with self._lock:
                try:
                    state = await read()
                except Exception as exc:
                    log.warning("reading the journal's controls failed", error=str(exc))
                    continue
                now = state.paused
                if (now is None) == (self.request is None):
                    continue
                # The other process journaled the request; here it only takes effect.
                self._set(now, None if now else ControlRequest("resume", "journal", "resumed in the journal", 0))
