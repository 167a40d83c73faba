"""Node faults: the port dead, 503 answers, a black hole (through the RPC proxy), anvil paused with SIGSTOP,
anvil restarted (its chain dumped and loaded back), the chain frozen (no block mined)."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from typing import TYPE_CHECKING

from chaos.faults.base import HTML_503, FaultFn, Injected, count_hits, count_requests, end, outage_s, stale_window
from chaos.proxy import Answer, BlackHole

if TYPE_CHECKING:
    from chaos.runner import Run


def refused(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) != 0


def proxy_fault(name: str) -> FaultFn:
    async def inject(run: Run, rng: random.Random) -> Injected:
        f = Injected(f"rpc:{name}")
        proxy = run.world.rpc_proxy
        assert proxy is not None
        hold = outage_s(rng, run.config.stale_block_s)
        f.t_start = time.time()
        if name == "dead":
            await proxy.go_dead()
            f.evidence.append(f"node port refuses connections: {refused(proxy.port)}")
        elif name == "503":
            proxy.fault = Answer(503, HTML_503, (("Content-Type", "text/html"),), name="503")
        else:
            proxy.fault = BlackHole()
        await asyncio.sleep(hold)
        if name == "dead":
            await proxy.revive()
        else:
            proxy.clear()
        await end(run, f)
        if name != "dead":
            count_hits(proxy, f, "503" if name == "503" else "blackhole")
        stale_window(run, f, hold)
        return f

    return inject


async def paused(run: Run, rng: random.Random) -> Injected:
    f = Injected("rpc:sigstop")
    chain = run.world.chain
    hold = outage_s(rng, run.config.stale_block_s)
    f.t_start = time.time()
    chain.pause()
    await asyncio.sleep(0.1)
    with open(f"/proc/{chain.pid}/stat") as stat:
        f.evidence.append(f"anvil process state {stat.read().split()[2]} (T: stopped)")
    await asyncio.sleep(hold - 0.1)
    chain.resume()
    await end(run, f)
    assert run.world.rpc_proxy is not None
    count_requests(run.world.rpc_proxy, f, "requests to the paused node", lambda r: True)
    stale_window(run, f, hold)
    return f


async def restarted(run: Run, rng: random.Random) -> Injected:
    f = Injected("rpc:anvil-restart")
    chain = run.world.chain
    before = await chain.head()
    down = rng.uniform(1.0, 4.0)
    f.t_start = time.time()
    await chain.restart(down)
    await end(run, f)
    f.evidence.append(f"anvil down {down:.1f} s; head {before} before, {f.head_at_end} after (state reloaded)")
    assert run.world.rpc_proxy is not None
    count_requests(run.world.rpc_proxy, f, "requests met a node that was down", lambda r: r.status == 502)
    stale_window(run, f, f.t_end - f.t_start)
    return f


async def frozen(run: Run, rng: random.Random) -> Injected:
    f = Injected("rpc:chain-frozen")
    chain = run.world.chain
    hold = outage_s(rng, run.config.stale_block_s)
    before = await chain.head()
    f.t_start = time.time()
    chain.frozen = True
    await asyncio.sleep(hold)
    frozen_at = await chain.head()
    chain.frozen = False
    await end(run, f)
    f.evidence.append(f"head {before} -> {frozen_at} while frozen")
    assert run.world.rpc_proxy is not None
    count_requests(
        run.world.rpc_proxy, f, "chain reads at the frozen head", lambda r: r.rpc_ok and r.rpc_block == frozen_at
    )
    stale_window(run, f, hold)
    return f
