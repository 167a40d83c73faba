"""The fault proxy does to a real HTTP client what each fault says, and writes down what it saw."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from chaos.proxy import Answer, BlackHole, DropAfterAccept, FaultProxy, Malformed, Slow


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[str, list[str]]]:
    """A server that answers JSON and remembers every request it got."""
    seen: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        seen.append(f"{request.method} {request.path_qs}")
        return web.json_response({"ok": True, "echo": request.path})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    await runner.cleanup()


@pytest.fixture
async def proxy(upstream: tuple[str, list[str]]) -> AsyncIterator[FaultProxy]:
    p = FaultProxy("exchange", upstream[0])
    await p.start()
    yield p
    await p.close()


async def get(url: str, method: str = "GET", timeout_s: float = 2.0) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as http,
        http.request(method, url) as resp,
    ):
        return resp.status, await resp.text()


async def test_without_a_fault_it_forwards_and_records(proxy: FaultProxy, upstream: tuple[str, list[str]]) -> None:
    assert await get(proxy.url + "/dapi/v1/account?x=1") == (200, '{"ok": true, "echo": "/dapi/v1/account"}')
    assert upstream[1] == ["GET /dapi/v1/account?x=1"]
    assert [(r.method, r.path, r.status, r.fault) for r in proxy.records] == [("GET", "/dapi/v1/account", 200, "")]


async def test_an_answer_fault_answers_for_the_upstream_and_only_where_it_applies(
    proxy: FaultProxy, upstream: tuple[str, list[str]]
) -> None:
    proxy.fault = Answer(429, '{"code":-1003}', (("Retry-After", "3"),), only=lambda r: r.method == "POST", name="429")
    assert (await get(proxy.url + "/dapi/v1/order", "POST"))[0] == 429
    assert (await get(proxy.url + "/dapi/v1/account"))[0] == 200
    assert upstream[1] == ["GET /dapi/v1/account"]


async def test_a_black_hole_never_answers_and_hangs_up_when_cleared(proxy: FaultProxy) -> None:
    proxy.fault = BlackHole()
    with pytest.raises(TimeoutError):
        await get(proxy.url + "/x", timeout_s=0.5)
    # A POST: aiohttp resends a GET once on its own when the connection drops (a real client does the same).
    pending = asyncio.create_task(get(proxy.url + "/y", "POST", timeout_s=5))
    await asyncio.sleep(0.2)
    proxy.clear()
    with pytest.raises(aiohttp.ClientError):
        await pending


async def test_a_dropped_answer_reached_the_upstream_first(proxy: FaultProxy, upstream: tuple[str, list[str]]) -> None:
    proxy.fault = DropAfterAccept()
    with pytest.raises(aiohttp.ClientError):
        await get(proxy.url + "/dapi/v1/order?newClientOrderId=hbE1", "POST")
    assert upstream[1] == ["POST /dapi/v1/order?newClientOrderId=hbE1"]
    assert proxy.records[-1].client_id == "hbE1" and proxy.records[-1].fault == "drop-after-accept"
    assert (await get(proxy.url + "/dapi/v1/account"))[0] == 200  # other requests pass


async def test_malformed_and_slow_answers(proxy: FaultProxy) -> None:
    proxy.fault = Malformed()
    status, text = await get(proxy.url + "/a")
    assert status == 200 and text == '{"ok": true, '
    proxy.fault = Slow(0.3)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    assert (await get(proxy.url + "/a"))[0] == 200
    assert loop.time() - t0 >= 0.3
    # Cleared, the answers still held go out at once: the fault has a sharp end.
    proxy.fault = Slow(30.0)
    held = asyncio.create_task(get(proxy.url + "/a", timeout_s=5))
    await asyncio.sleep(0.2)
    proxy.clear()
    assert (await held)[0] == 200


async def test_a_dead_port_refuses_connections_until_revived(proxy: FaultProxy) -> None:
    await proxy.go_dead()
    with pytest.raises(aiohttp.ClientConnectorError):
        await get(proxy.url + "/a")
    await proxy.revive()
    assert (await get(proxy.url + "/a"))[0] == 200


async def test_a_kill_point_runs_between_the_upstream_answer_and_the_reply(
    proxy: FaultProxy, upstream: tuple[str, list[str]]
) -> None:
    seen_upstream: list[int] = []
    watch = proxy.watch(lambda r: r.method == "POST", lambda r: seen_upstream.append(len(upstream[1])), "response")
    await get(proxy.url + "/dapi/v1/order", "POST")
    assert watch.fired.is_set() and seen_upstream == [1]
