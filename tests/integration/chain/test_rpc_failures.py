"""The monitor when nodes fail: each test runs its own anvil(s) and stops them mid-run."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator

import pytest

from bot.clock import wall_ms
from bot.devnet.chain.anvil import Anvil, free_port
from bot.devnet.chain.market import RunningDevnet, set_price, start_devnet
from bot.monitors.aave import AaveMonitor
from bot.monitors.rpc import RpcPool, RpcUnavailable

pytestmark = pytest.mark.integration


@pytest.fixture
def two_nodes() -> Iterator[tuple[RunningDevnet, RunningDevnet]]:
    """Two devnets; the same deployer and nonces put the market at the same addresses on both."""
    a = start_devnet(free_port())
    b = start_devnet(free_port())
    try:
        assert a.info["pool_addresses_provider"] == b.info["pool_addresses_provider"]
        yield a, b
    finally:
        a.stop()
        b.stop()


async def test_fails_over_to_the_next_url_when_the_node_stops_mid_run(
    two_nodes: tuple[RunningDevnet, RunningDevnet],
) -> None:
    a, b = two_nodes
    borrower = a.info["accounts"]["borrower"]["address"]
    set_price(b.info, "WETH", 2500)  # tells the nodes apart
    rpc = RpcPool([a.info["rpc_url"], b.info["rpc_url"]], call_timeout_s=2.0)
    monitor = AaveMonitor(rpc, a.info["pool_addresses_provider"])
    first = await monitor.snapshot([borrower])
    assert first.rpc_url == a.info["rpc_url"]
    assert first.accounts[0].collaterals[0].price_usd == 3000
    a.stop()
    second = await monitor.snapshot([borrower])
    assert second.rpc_url == b.info["rpc_url"]
    assert second.accounts[0].collaterals[0].price_usd == 2500
    await rpc.close()


async def test_a_clear_error_once_every_node_is_gone() -> None:
    devnet = start_devnet(free_port())
    borrower = devnet.info["accounts"]["borrower"]["address"]
    rpc = RpcPool([devnet.info["rpc_url"]], call_timeout_s=2.0)
    monitor = AaveMonitor(rpc, devnet.info["pool_addresses_provider"])
    await monitor.snapshot([borrower])
    devnet.stop()
    with pytest.raises(RpcUnavailable, match=r"no RPC URL answered: http://127\.0\.0\.1:\d+"):
        await monitor.snapshot([borrower])
    await rpc.close()


async def test_a_hung_node_times_out_instead_of_blocking() -> None:
    devnet = start_devnet(free_port())
    process = devnet.anvil.process
    assert process is not None
    rpc = RpcPool([devnet.info["rpc_url"]], call_timeout_s=0.5)
    monitor = AaveMonitor(rpc, devnet.info["pool_addresses_provider"])
    await monitor.discover()
    # A frozen node (SIGSTOP): the kernel still accepts connections, nothing ever answers.
    os.kill(process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(RpcUnavailable, match="TimeoutError"):
            await monitor.snapshot([devnet.info["accounts"]["borrower"]["address"]])
        assert time.monotonic() - started < 3
    finally:
        os.kill(process.pid, signal.SIGCONT)
        await rpc.close()
        devnet.stop()


async def test_stale_block_and_stale_or_diverging_price_are_flagged() -> None:
    with start_devnet(free_port()) as devnet:
        borrower = devnet.info["accounts"]["borrower"]["address"]
        rpc = RpcPool([devnet.info["rpc_url"]])
        fresh = await AaveMonitor(rpc, devnet.info["pool_addresses_provider"]).snapshot([borrower])
        assert not fresh.stale and not fresh.accounts[0].stale
        assert not any(p.flagged for p in fresh.prices)
        # The same chain seen two hours later: the head is old, and so are the feeds' last rounds.
        later = AaveMonitor(
            rpc,
            devnet.info["pool_addresses_provider"],
            stale_block_s=60,
            oracle_heartbeat_s=3600,
            max_oracle_divergence=0.03,
            clock=lambda: wall_ms() + 7_200_000,
        )
        snap = await later.snapshot([borrower], marks_usd={"WETH": 3200.0, "WBTC": 60_100.0})
        assert snap.stale and snap.accounts[0].stale
        weth, wbtc = (next(p for p in snap.prices if p.symbol == s) for s in ("WETH", "WBTC"))
        assert weth.stale and wbtc.stale
        assert weth.diverged and weth.divergence == pytest.approx(200 / 3200)
        assert not wbtc.diverged
        await rpc.close()


async def test_new_heads_arrive_by_websocket_subscription() -> None:
    with start_devnet(free_port()) as devnet:
        rpc = RpcPool([devnet.anvil.ws_url], poll_interval_s=60)  # polling this slowly would time the test out
        heads = rpc.heads()
        first = await asyncio.wait_for(anext(heads), 10)
        devnet.rpc.call("evm_mine")
        second = await asyncio.wait_for(anext(heads), 10)
        assert second.number > first.number
        monitor = AaveMonitor(rpc, devnet.info["pool_addresses_provider"])
        snap = await monitor.snapshot([devnet.info["accounts"]["borrower"]["address"]], head=second)
        assert snap.block_number == second.number and snap.accounts[0].matches_chain
        await heads.aclose()
        await rpc.close()


async def test_new_heads_are_polled_over_http() -> None:
    with start_devnet(free_port()) as devnet:
        rpc = RpcPool([devnet.info["rpc_url"]], poll_interval_s=0.05)
        heads = rpc.heads()
        first = await asyncio.wait_for(anext(heads), 10)
        devnet.rpc.call("evm_mine")
        assert (await asyncio.wait_for(anext(heads), 10)).number == first.number + 1
        await heads.aclose()
        await rpc.close()


async def test_new_heads_resume_after_the_only_node_was_down() -> None:
    """C1: one failed poll used to end the heads() generator for good (StopAsyncIteration ever after)."""
    port = free_port()
    rpc = RpcPool([f"http://127.0.0.1:{port}"], call_timeout_s=1.0, poll_interval_s=0.1)
    heads = rpc.heads()
    waiting = asyncio.ensure_future(anext(heads))
    await asyncio.sleep(1.5)  # several polls fail: nothing listens on the port yet
    assert not waiting.done(), "heads() must keep polling, not end, while the node is down"
    assert rpc.last_error is not None and "no RPC URL answered" in rpc.last_error
    with Anvil(port):
        head = await asyncio.wait_for(waiting, 10)
        assert head.number >= 0
        assert rpc.last_error is None
    # The node goes away again and comes back: the same generator goes on.
    nxt = asyncio.ensure_future(anext(heads))
    await asyncio.sleep(1.0)
    assert not nxt.done()
    with Anvil(port) as node:
        node_rpc = RpcPool([node.url])
        await node_rpc.request("evm_mine")
        await node_rpc.close()
        assert (await asyncio.wait_for(nxt, 10)).number >= 0
    await rpc.close()
