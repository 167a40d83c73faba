"""A real HTTP server on 127.0.0.1 that records what it is sent: the far end of webhooks and Telegram."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Received:
    path: str
    body: Any


@dataclass
class Receiver:
    """Answers every POST with `status` and `answer`; `wait_for(n)` waits for the n-th request."""

    status: int = 200
    answer: Any = field(default_factory=lambda: {"ok": True})
    requests: list[Received] = field(default_factory=list)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None
    port: int = 0

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        async with self._arrived:
            self.requests.append(Received(request.path, body))
            self._arrived.notify_all()
        return web.json_response(self.answer, status=self.status)

    async def wait_for(self, count: int, timeout_s: float = 5.0) -> list[Received]:
        async with self._arrived:
            await asyncio.wait_for(self._arrived.wait_for(lambda: len(self.requests) >= count), timeout_s)
        return self.requests
