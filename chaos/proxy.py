"""An HTTP fault proxy in front of one upstream (anvil's JSON-RPC, or the local exchange's /dapi).

The bot talks to the proxy as it would to the node or the exchange; the proxy forwards, writes down every
request it saw (when, what, how it was answered), and breaks on command:

    proxy = FaultProxy("exchange", "http://127.0.0.1:8081")
    url = await proxy.start()
    proxy.fault = Answer(503, "Service Unavailable")      # every request answered 503 until cleared
    proxy.fault = BlackHole()                             # accepted, never answered
    proxy.fault = Slow(6.0) / Malformed() / DropAfterAccept()
    await proxy.go_dead(); await proxy.revive()           # the port refuses connections, then listens again
    proxy.fault = None

Kill points hang on `watch`: a predicate over each request (on arrival, or once the upstream answered it and
before the answer goes back) and a callback run right there, synchronously, so "killed after the exchange
accepted the order and before the bot read the answer" is exact, not a race.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web

ORDER_PATHS = ("/dapi/v1/order", "/dapi/v1/algoOrder")
CLIENT_ID_PARAMS = ("newClientOrderId", "clientAlgoId", "origClientOrderId")


@dataclass
class Record:
    """One request the proxy saw: wall times (s), what it was, how it was answered."""

    t_start: float
    method: str
    path: str
    t_end: float | None = None
    status: int | None = None  # None: not answered (black hole, dropped, dead upstream)
    fault: str = ""  # the fault applied to it, "" when forwarded untouched
    rpc_methods: tuple[str, ...] = ()
    rpc_block: int | None = None  # the highest block an eth_call of it was pinned to
    rpc_ok: bool = False  # answered 200 with no JSON-RPC error in it
    client_id: str = ""  # the order's client id, for the exchange's order routes

    @property
    def mutates_orders(self) -> bool:
        return self.method in ("POST", "DELETE") and self.path in ORDER_PATHS


# ------------------------------------------------------------------ faults


@dataclass(frozen=True)
class Answer:
    """Answer at once with this status, body and headers, without forwarding (503, 429, 418, -1021...).

    `only` limits it to requests it returns True for (e.g. order placements for -2019); others pass.
    """

    status: int
    body: str
    headers: tuple[tuple[str, str], ...] = ()
    only: Callable[[web.Request], bool] | None = None
    name: str = "answer"


@dataclass(frozen=True)
class BlackHole:
    """Accept the request and never answer it (the connection is cut when the fault is cleared)."""

    name: str = "blackhole"


@dataclass(frozen=True)
class Slow:
    """Forward, then hold the answer `delay_s` seconds (answers still held are released when it is cleared)."""

    delay_s: float
    name: str = "slow"


@dataclass(frozen=True)
class Malformed:
    """Forward (the upstream acts on it), then answer 200 with the first half of its body: not JSON."""

    name: str = "malformed"


@dataclass(frozen=True)
class DropAfterAccept:
    """Order placements are forwarded and the upstream's answer is thrown away: the connection is cut."""

    name: str = "drop-after-accept"


Fault = Answer | BlackHole | Slow | Malformed | DropAfterAccept


@dataclass
class Watch:
    """A kill point: `callback` runs when `predicate` holds for a request at `when`; fires once."""

    predicate: Callable[[Record], bool]
    callback: Callable[[Record], None]
    when: Literal["request", "response"]
    fired: asyncio.Event = field(default_factory=asyncio.Event)
    record: Record | None = None


def is_order_placement(request: web.Request) -> bool:
    return request.method == "POST" and request.path in ORDER_PATHS


class FaultProxy:
    """See the module docstring."""

    def __init__(self, name: str, upstream: str, host: str = "127.0.0.1") -> None:
        self.name = name
        self.upstream = upstream.rstrip("/")
        self.host = host
        self.port = 0
        self.fault: Fault | None = None
        self.records: list[Record] = []
        self.watches: list[Watch] = []
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._cleared = asyncio.Event()  # set whenever the fault is cleared: black holes then hang up

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def start(self, port: int = 0) -> str:
        """Listen (on `port`, or a free one the first time); the proxy's base URL."""
        if self._session is None:
            # No pooling towards the upstream: a restarted upstream must not be met with a dead socket.
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(force_close=True), auto_decompress=False
            )
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, port or self.port, reuse_address=True)
        await site.start()
        if not self.port:
            self.port = int(self._runner.addresses[0][1])
        return self.url

    async def go_dead(self) -> None:
        """Stop listening and cut every open connection: connections are refused until `revive`."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def revive(self) -> None:
        if self._runner is None:
            await self.start(self.port)

    @property
    def dead(self) -> bool:
        return self._runner is None

    def clear(self) -> None:
        """No fault: forward everything again, and hang up on requests held in a black hole."""
        self.fault = None
        self._cleared.set()
        self._cleared = asyncio.Event()

    async def close(self) -> None:
        await self.go_dead()
        if self._session is not None:
            await self._session.close()
            self._session = None

    def watch(
        self,
        predicate: Callable[[Record], bool],
        callback: Callable[[Record], None],
        when: Literal["request", "response"],
    ) -> Watch:
        w = Watch(predicate, callback, when)
        self.watches.append(w)
        return w

    def _fire(self, record: Record, when: str) -> None:
        for w in list(self.watches):
            if w.when == when and not w.fired.is_set() and w.predicate(record):
                w.record = record
                w.callback(record)
                w.fired.set()
                self.watches.remove(w)

    # ------------------------------------------------------------------ the one handler

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        record = Record(time.time(), request.method, request.path)
        if self.name == "rpc":
            record.rpc_methods, record.rpc_block = _rpc_calls(body)
        elif request.path in ORDER_PATHS:
            params = {**request.query, **dict(parse_qsl(body.decode(errors="replace")))}
            record.client_id = next((params[k] for k in CLIENT_ID_PARAMS if params.get(k)), "")
        self.records.append(record)
        self._fire(record, "request")
        fault, cleared = self.fault, self._cleared
        try:
            if isinstance(fault, Answer) and (fault.only is None or fault.only(request)):
                record.fault = fault.name
                return self._answer(record, fault.status, fault.body.encode(), dict(fault.headers))
            if isinstance(fault, BlackHole):
                record.fault = fault.name
                await cleared.wait()
                return self._hang_up(request, record)
            status, headers, payload = await self._forward(request, body)
            record.status = status
            self._fire(record, "response")
            if isinstance(fault, DropAfterAccept) and is_order_placement(request):
                record.fault = fault.name
                return self._hang_up(request, record)
            if isinstance(fault, Slow):
                record.fault = fault.name
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(cleared.wait(), fault.delay_s)
            if isinstance(fault, Malformed):
                record.fault = fault.name
                return self._answer(record, 200, payload[: len(payload) // 2], {"Content-Type": "application/json"})
            if self.name == "rpc":
                record.rpc_ok = status == 200 and _rpc_ok(payload)
            return self._answer(record, status, payload, headers)
        except (aiohttp.ClientError, OSError, TimeoutError):
            # The upstream is down (killed, restarting): what a load balancer in front of it answers.
            return self._answer(record, 502, b"Bad Gateway", {"Content-Type": "text/plain"})

    async def _forward(self, request: web.Request, body: bytes) -> tuple[int, dict[str, str], bytes]:
        assert self._session is not None
        # The RPC URL's path carries a provider key; the node answers on any path, so only the query is kept.
        path = "/" if self.name == "rpc" else request.path
        url = self.upstream + path + (f"?{request.query_string}" if request.query_string else "")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", "content-length")}
        async with self._session.request(
            request.method, url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=60)
        ) as resp:
            payload = await resp.read()
            kept = {
                k: v
                for k, v in resp.headers.items()
                if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")
            }
            return resp.status, kept, payload

    def _answer(self, record: Record, status: int, payload: bytes, headers: dict[str, str]) -> web.Response:
        record.t_end = time.time()
        record.status = status
        return web.Response(status=status, body=payload, headers=headers)

    def _hang_up(self, request: web.Request, record: Record) -> web.StreamResponse:
        record.t_end = time.time()
        record.status = None
        if request.transport is not None:
            request.transport.abort()  # nothing is written: the client sees the connection drop
        return web.Response(status=499)


def _rpc_calls(body: bytes) -> tuple[tuple[str, ...], int | None]:
    """The JSON-RPC methods in `body` and the highest block an eth_call of it is pinned to."""
    with contextlib.suppress(ValueError):
        payload = json.loads(body)
        calls = payload if isinstance(payload, list) else [payload]
        methods = tuple(str(c.get("method")) for c in calls if isinstance(c, dict))
        blocks = [
            int(c["params"][1], 16)
            for c in calls
            if isinstance(c, dict)
            and c.get("method") == "eth_call"
            and len(c.get("params", [])) > 1
            and isinstance(c["params"][1], str)
            and c["params"][1].startswith("0x")
        ]
        return methods, max(blocks) if blocks else None
    return (), None


def _rpc_ok(payload: bytes) -> bool:
    with contextlib.suppress(ValueError):
        answer = json.loads(payload)
        answers = answer if isinstance(answer, list) else [answer]
        return all(isinstance(a, dict) and "error" not in a for a in answers)
    return False
