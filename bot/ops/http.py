"""The status endpoint: `GET /status` (JSON), `GET /metrics` (Prometheus), `POST /kill|/pause|/resume`, on aiohttp.

Bound to 127.0.0.1 by default. Bound anywhere else it refuses to start without a bearer token,
because /kill halts trading and /status shows the position. When a token is set it is required on
every route, loopback or not. The control routes (`POST /kill`, `/pause`, `/resume`) also insist on a JSON
content type: a web page the operator happens to visit cannot send one cross-origin without a CORS
preflight, which this server never grants, so a browser cannot be tricked into halting the bot.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.clock import Clock, wall_ms
from bot.config import Settings
from bot.errors import ConfigError
from bot.log import get_logger, register_secrets
from bot.ops.dashboard import Dashboard, History, JournalHistory
from bot.ops.kill import KillSwitch
from bot.ops.metrics import CONTENT_TYPE, Metrics
from bot.ops.pause import PauseAnswer, PauseSwitch
from bot.ops.status import BotStatus, live_status

log = get_logger("hedgebot.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name or "" (every interface): assume reachable from outside


class StatusServer:
    """Serves the engine's BotStatus, its Metrics, and the kill switch."""

    def __init__(
        self,
        status: BotStatus,
        metrics: Metrics,
        kill: KillSwitch,
        host: str = "127.0.0.1",
        port: int = 8780,
        token: str | None = None,
        clock_ms: Clock = wall_ms,
        pause: PauseSwitch | None = None,
        history: History | None = None,
    ) -> None:
        if not is_loopback(host) and not token:
            raise ConfigError(
                f"HEDGEBOT_HTTP_HOST={host} is reachable from other machines: set HEDGEBOT_HTTP_TOKEN "
                "(the status endpoint asks for it as a bearer token) or bind 127.0.0.1"
            )
        if token:
            register_secrets([token])
        self.status = status
        self.metrics = metrics
        self.kill = kill
        self.pause = pause or PauseSwitch()
        self.host = host
        self.port = port
        self._token = token.encode() if token else None
        self._clock_ms = clock_ms
        self._history = history
        self.dashboard = Dashboard(self._token, history, clock_ms)
        self._runner: web.AppRunner | None = None

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        status: BotStatus,
        metrics: Metrics,
        kill: KillSwitch,
        pause: PauseSwitch | None = None,
        clock_ms: Clock = wall_ms,
    ) -> StatusServer:
        token = settings.http_token.get_secret_value() if settings.http_token else None
        history = JournalHistory(settings.db_path)
        return cls(status, metrics, kill, settings.http_host, settings.http_port, token, clock_ms, pause, history)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> int:
        """Bind and serve; return the port (the real one when asked for port 0)."""
        app = web.Application(middlewares=[self._auth])
        app.router.add_get("/status", self._status)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_post("/kill", self._kill)
        app.router.add_post("/pause", self._pause)
        app.router.add_post("/resume", self._resume)
        self.dashboard.add_routes(app)
        # No access log: Prometheus scrapes every few seconds and would drown the bot's own lines.
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise ConfigError(
                f"cannot serve status on {self.host}:{self.port}: {exc.strerror or exc}; "
                "change HEDGEBOT_HTTP_PORT, or set it to 0 to turn the endpoint off"
            ) from None
        self.port = int(self._runner.addresses[0][1])
        log.info("status endpoint up", url=self.url, token_required=self._token is not None)
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if isinstance(self._history, JournalHistory):
            self._history.close()

    @web.middleware
    async def _auth(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if self._token is None or request.path in Dashboard.PUBLIC:
            return await handler(request)
        given = request.headers.get("Authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self._token):
            return await handler(request)
        if self.dashboard.has_session(request):
            # A cookie goes with every request the browser makes, whichever page asks: only this server's
            # own page may use it to act.
            if request.method == "POST" and not self.dashboard.same_origin(request):
                return web.json_response({"error": "a dashboard session acts only from the dashboard"}, status=403)
            return await handler(request)
        return web.json_response(
            {"error": "a bearer token is required (HEDGEBOT_HTTP_TOKEN)"},
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="hedgebot"'},
        )

    async def _status(self, request: web.Request) -> web.Response:
        return web.json_response(self.status_document())

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE})

    def status_document(self) -> dict[str, Any]:
        """The status document now, with the kill and the pause in force (what GET /status answers)."""
        return live_status(self.status, self.kill, self.pause, self._clock_ms())

    async def _reason(self, request: web.Request, default: str) -> str | web.Response:
        """The `reason` of a control request's JSON body, or the error response to send instead."""
        if request.content_type != "application/json":
            return web.json_response({"error": f"POST {request.path} wants Content-Type: application/json"}, status=415)
        if request.can_read_body:
            try:
                body = await request.json()
            except json.JSONDecodeError:
                return web.json_response({"error": "the body is not JSON"}, status=400)
            if isinstance(body, dict) and body.get("reason"):
                return str(body["reason"])[:500]
        return default

    @staticmethod
    def _source(request: web.Request) -> str:
        # The dashboard says so itself; every other caller (the CLI, curl, a script) is "http".
        return "dashboard" if request.headers.get("X-Hedgebot-Source") == "dashboard" else "http"

    async def _kill(self, request: web.Request) -> web.Response:
        reason = await self._reason(request, "kill requested over HTTP")
        if isinstance(reason, web.Response):
            return reason
        already = self.kill.requested
        source = self._source(request)
        req = await self.kill.request_kill(reason, source, self._clock_ms())  # journaled before the answer
        log.warning("kill requested", source=source, reason=req.reason, already=already)
        return web.json_response(
            {"killed": True, "reason": req.reason, "source": req.source, "ts_ms": req.ts_ms, "already": already},
            status=202,
        )

    async def _pause(self, request: web.Request) -> web.Response:
        reason = await self._reason(request, "pause requested over HTTP")
        if isinstance(reason, web.Response):
            return reason
        answer = await self.pause.pause(reason, self._source(request), self._clock_ms())  # journaled first
        return web.json_response(_pause_json(answer), status=202)

    async def _resume(self, request: web.Request) -> web.Response:
        reason = await self._reason(request, "resume requested over HTTP")
        if isinstance(reason, web.Response):
            return reason
        answer = await self.pause.resume(reason, self._source(request), self._clock_ms())
        return web.json_response(_pause_json(answer), status=202)


def _pause_json(answer: PauseAnswer) -> dict[str, Any]:
    req = answer.request
    detail = {} if req is None else {"reason": req.reason, "source": req.source, "ts_ms": req.ts_ms}
    return {"paused": answer.paused, "changed": answer.changed, **detail}
