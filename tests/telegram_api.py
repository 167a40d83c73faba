"""A local server that speaks enough of the Telegram Bot API for python-telegram-bot's long polling:
getMe, deleteWebhook, getUpdates (held open until an update arrives, as Telegram does), sendMessage,
setMyCommands. A person in a chat is `say(chat_id, "/status")`; what the bot answered is `sent`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER = {"id": 4242, "is_bot": True, "first_name": "hedgebot", "username": "hedgebot_test_bot"}
HOLD_S = 0.5  # getUpdates is held at most this long here (Telegram holds it for `timeout`)


@dataclass
class Sent:
    chat_id: int
    text: str


@dataclass
class FakeBotApi:
    token: str
    sent: list[Sent] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _next_update_id: int = 1
    _next_message_id: int = 1
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None
    port: int = 0

    async def start(self) -> FakeBotApi:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def say(self, chat_id: int, text: str, user_id: int = 7, username: str = "operator") -> None:
        """A message typed in `chat_id`, as a command when it starts with '/'."""
        message: dict[str, Any] = {
            "message_id": self._next_message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private" if chat_id > 0 else "group"},
            "from": {"id": user_id, "is_bot": False, "first_name": "Op", "username": username},
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self._next_message_id += 1
        async with self._changed:
            self._updates.append({"update_id": self._next_update_id, "message": message})
            self._next_update_id += 1
            self._changed.notify_all()

    async def answer(self, count: int, timeout_s: float = 10.0) -> list[Sent]:
        """Wait until the bot has sent `count` messages; all it has sent."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(self.sent) >= count), timeout_s)
        return self.sent

    async def wait_for_call(self, method: str, count: int = 1, timeout_s: float = 10.0) -> None:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.calls.count(method) >= count), timeout_s)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            body: dict[str, Any] = await request.json()
            return body
        form = await request.post()
        params: dict[str, Any] = {}
        for key, value in form.items():
            try:
                params[key] = json.loads(str(value))  # python-telegram-bot sends non-strings JSON-encoded
            except ValueError:
                params[key] = str(value)
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        async with self._changed:
            self.calls.append(method)
            self._changed.notify_all()
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        params = await self._params(request)
        if method == "getMe":
            return _ok(BOT_USER)
        if method == "deleteWebhook" and params.get("drop_pending_updates"):
            async with self._changed:
                self._updates.clear()  # what Telegram does: commands sent while the bot was away are gone
        if method in ("deleteWebhook", "setMyCommands"):
            return _ok(True)
        if method == "getUpdates":
            return _ok(await self._get_updates(int(params.get("offset") or 0), float(params.get("timeout") or 0)))
        if method == "sendMessage":
            chat_id = int(params["chat_id"])
            async with self._changed:
                self.sent.append(Sent(chat_id, str(params["text"])))
                self._changed.notify_all()
            message = {
                "message_id": 10_000 + len(self.sent),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": BOT_USER,
                "text": params["text"],
            }
            return _ok(message)
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    async def _get_updates(self, offset: int, timeout_s: float) -> list[dict[str, Any]]:
        async with self._changed:
            # Confirming updates (an offset past them) forgets them, as Telegram does.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
            if not self._updates and timeout_s > 0:
                # Held open until an update arrives, not a sleep: `say` notifies.
                with_updates = self._changed.wait_for(lambda: bool(self._updates))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(with_updates, min(timeout_s, HOLD_S))
            return list(self._updates)


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})
