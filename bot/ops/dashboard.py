"""The dashboard: one page served by the status server, its static files, its logins and its history.

No build step: `static/` holds the page, its script and its style, and `static/vendor/` uPlot's minified
build, copied byte for byte from the npm package pinned in package-lock.json (a test checks they match).
The page reads `GET /status` and `GET /history` and sends `POST /pause|/resume|/kill`, like any client.

Logins. With a token set (HEDGEBOT_HTTP_TOKEN), a person proves it once, by the login form or a
`/dashboard?token=...` link, and gets a random session id in an HttpOnly, SameSite=Strict cookie; the link
redirects at once to the bare URL, so the token stays neither in the address bar nor in the page. The
token itself is never put in a page or a cookie. A session lasts `SESSION_TTL_MS` or until the bot
restarts (sessions live in memory). The control routes accept a session only from a page of this
server (the Origin header names it), on top of their JSON content-type rule.
"""

from __future__ import annotations

import asyncio
import hmac
import html
import secrets
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from bot.clock import Clock, wall_ms
from bot.journal.history import history
from bot.journal.journal import Journal
from bot.log import get_logger
from bot.ops.output import jsonable

log = get_logger("hedgebot.dashboard")

COOKIE = "hedgebot_session"
SESSION_TTL_MS = 12 * 3_600_000
# Wrong tokens allowed per minute before sign-ins are refused for the rest of that minute (guessing).
MAX_FAILED_LOGINS_PER_MINUTE = 10
STATIC = resources.files("bot.ops") / "static"
# The page's own files and uPlot's: nothing else is served from disk.
ASSETS = {
    "dashboard.js": "application/javascript",
    "dashboard.css": "text/css",
    "vendor/uPlot.iife.min.js": "application/javascript",
    "vendor/uPlot.min.css": "text/css",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
History = Callable[[int, int], Awaitable[dict[str, Any]]]


class JournalHistory:
    """The history document from the bot's journal, read on a read-only connection of its own (WAL lets it
    read while the bot writes) in a worker thread, so a chart never waits behind the journal's fsyncs."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._journal: Journal | None = None

    async def __call__(self, since_ms: int, max_points: int) -> dict[str, Any]:
        return await asyncio.to_thread(self._read, since_ms, max_points)

    def _read(self, since_ms: int, max_points: int) -> dict[str, Any]:
        if self._journal is None:
            self._journal = Journal.open_readonly(self.db_path)
        return history(self._journal, since_ms, max_points)

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None


class Sessions:
    """Dashboard logins: random ids, each valid for `ttl_ms`."""

    def __init__(self, clock_ms: Clock = wall_ms, ttl_ms: int = SESSION_TTL_MS) -> None:
        self._clock_ms = clock_ms
        self.ttl_ms = ttl_ms
        self._expiry_ms: dict[str, int] = {}

    def open(self) -> str:
        now = self._clock_ms()
        self._expiry_ms = {sid: t for sid, t in self._expiry_ms.items() if t > now}  # forget expired ones
        sid = secrets.token_urlsafe(32)
        self._expiry_ms[sid] = now + self.ttl_ms
        return sid

    def valid(self, sid: str | None) -> bool:
        if not sid:
            return False
        expiry = self._expiry_ms.get(sid)
        return expiry is not None and expiry > self._clock_ms()

    def close(self, sid: str | None) -> None:
        if sid:
            self._expiry_ms.pop(sid, None)


def _asset(name: str) -> bytes:
    return (STATIC / name).read_bytes()


def _login_page(error: str | None) -> str:
    message = f'<p class="error" id="login-error">{html.escape(error)}</p>' if error else ""
    return _asset("login.html").decode().replace("<!--message-->", message)


class Dashboard:
    """The dashboard's routes; `authenticated` is the status server's second way in, after the bearer token."""

    def __init__(self, token: bytes | None, history_reader: History | None, clock_ms: Clock = wall_ms) -> None:
        self._token = token
        self._history = history_reader
        self._clock_ms = clock_ms
        self.sessions = Sessions(clock_ms)
        self._failed_ms: list[int] = []

    # Routes that answer without a login: the login itself and the files the login page needs.
    PUBLIC = frozenset({"/", "/login", "/dashboard", *(f"/dashboard/static/{name}" for name in ASSETS)})

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._root)
        app.router.add_get("/dashboard", self._page)
        app.router.add_post("/login", self._login)
        app.router.add_post("/logout", self._logout)
        app.router.add_get("/history", self._history_route)
        for name in ASSETS:
            app.router.add_get(f"/dashboard/static/{name}", self._static)

    def has_session(self, request: web.Request) -> bool:
        return self.sessions.valid(request.cookies.get(COOKIE))

    def same_origin(self, request: web.Request) -> bool:
        """True when the request says it comes from a page of this server (browsers send Origin on POST)."""
        origin = request.headers.get("Origin")
        return origin is not None and urlsplit(origin).netloc == request.host

    def _token_ok(self, given: str) -> bool:
        return self._token is not None and hmac.compare_digest(given.strip().encode(), self._token)

    def _throttled(self) -> bool:
        """True while too many wrong tokens came in the last minute (from anyone: the token is one secret)."""
        now = self._clock_ms()
        self._failed_ms = [t for t in self._failed_ms if now - t < 60_000]
        return len(self._failed_ms) >= MAX_FAILED_LOGINS_PER_MINUTE

    def _refuse(self, request: web.Request) -> web.Response:
        self._failed_ms.append(self._clock_ms())
        log.warning("dashboard login refused: wrong token", peer=request.remote)
        return self._html(_login_page("That token is not this bot's."), status=401)

    def _sign_in(self, request: web.Request, given: str) -> web.StreamResponse:
        if self._throttled():
            log.warning("dashboard login refused: too many wrong tokens this minute", peer=request.remote)
            return self._html(_login_page("Too many wrong tokens: wait a minute."), status=429)
        if not self._token_ok(given):
            return self._refuse(request)
        return self._signed_in_redirect(request)

    def _signed_in(self, request: web.Request) -> bool:
        return self._token is None or self.has_session(request)

    async def _root(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPSeeOther("/dashboard")

    async def _page(self, request: web.Request) -> web.StreamResponse:
        given = request.query.get("token")
        if given is not None and self._token is None:
            raise web.HTTPSeeOther("/dashboard")  # no token to check: nothing to sign in to
        if given is not None:
            # A link with the token: trade it for a session and drop it from the address at once.
            return self._sign_in(request, given)
        if not self._signed_in(request):
            return self._html(_login_page(None), status=401)
        return self._html(_asset("dashboard.html").decode())

    async def _login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        given = str(form.get("token", ""))
        if self._token is None:
            raise web.HTTPSeeOther("/dashboard")
        return self._sign_in(request, given)

    def _signed_in_redirect(self, request: web.Request) -> web.StreamResponse:
        response = web.HTTPSeeOther("/dashboard")
        response.set_cookie(
            COOKIE,
            self.sessions.open(),
            max_age=self.sessions.ttl_ms // 1000,
            httponly=True,
            samesite="Strict",
            secure=request.secure,
            path="/",
        )
        log.info("dashboard login", peer=request.remote)
        return response

    async def _logout(self, request: web.Request) -> web.StreamResponse:
        self.sessions.close(request.cookies.get(COOKIE))
        response = web.HTTPSeeOther("/dashboard")
        response.del_cookie(COOKIE, path="/")
        return response

    async def _static(self, request: web.Request) -> web.StreamResponse:
        name = request.path.removeprefix("/dashboard/static/")
        headers = {**SECURITY_HEADERS, "Content-Type": ASSETS[name], "Cache-Control": "max-age=3600"}
        return web.Response(body=_asset(name), headers=headers)

    async def _history_route(self, request: web.Request) -> web.StreamResponse:
        if self._history is None:
            return web.json_response({"error": "this bot keeps no history"}, status=404)
        try:
            hours = float(request.query.get("hours", "24"))
            points = int(request.query.get("points", "1500"))
        except ValueError:
            return web.json_response({"error": "hours and points are numbers"}, status=400)
        if not 0 < hours <= 24 * 366 or not 10 <= points <= 20_000:
            return web.json_response({"error": "hours in (0, 8784], points in [10, 20000]"}, status=400)
        now = self._clock_ms()
        doc = await self._history(now - int(hours * 3_600_000), points)
        return web.json_response(jsonable({**doc, "now_ms": now}))

    @staticmethod
    def _html(body: str, status: int = 200) -> web.Response:
        return web.Response(text=body, status=status, content_type="text/html", headers=SECURITY_HEADERS)
