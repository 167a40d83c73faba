"""One health cycle over 1,000 Aave V3 borrowers on the devnet: HTTP requests, wall time, memory.

Starts a devnet (real anvil, real Aave V3), opens 1,000 borrower positions from impersonated,
anvil-funded accounts, and runs the monitor through a counting HTTP proxy, which sees every request
on the wire. Last line: accounts=<n> requests_per_cycle=<n> cycle_ms=<median> rss_mb=<n>.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from pathlib import Path

import aiohttp
from aiohttp import web
from eth_utils.address import to_checksum_address

from bot.devnet.chain.anvil import free_port
from bot.devnet.chain.market import start_devnet
from bot.devnet.chain.positions import PositionSpec, fund, open_positions, units
from bot.monitors.aave import AaveMonitor
from bot.monitors.rpc import RpcPool

ACCOUNTS = 1_000
CYCLES = 7


def rss_mb() -> float:
    """This process's resident memory now (MB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def borrowers(rng: random.Random) -> list[PositionSpec]:
    """1,000 positions: WETH collateral (a fifth also with WBTC), USDC debt, HF between 1.2 and 3."""
    specs = []
    for _ in range(ACCOUNTS):
        account = to_checksum_address("0x" + rng.randbytes(20).hex())
        weth = rng.uniform(1, 20)
        supply = {"WETH": units(weth, 18)}
        borrowing_power = weth * 3000 * 0.83
        if rng.random() < 0.2:
            wbtc = rng.uniform(0.01, 0.5)
            supply["WBTC"] = units(wbtc, 8)
            borrowing_power += wbtc * 60000 * 0.78
        debt = borrowing_power / rng.uniform(1.2, 3.0)
        specs.append(PositionSpec(account, supply=supply, borrow={"USDC": units(debt, 6)}))
    return specs


async def counting_proxy(target: str) -> tuple[web.AppRunner, str, list[int]]:
    """An HTTP proxy to `target` that counts the requests it forwards."""
    count = [0]
    session = aiohttp.ClientSession()

    async def forward(request: web.Request) -> web.Response:
        count[0] += 1
        body = await request.read()
        async with session.post(target, data=body, headers={"Content-Type": "application/json"}) as resp:
            return web.Response(body=await resp.read(), content_type="application/json")

    app = web.Application(client_max_size=256 * 1024**2)
    app.router.add_post("/", forward)
    app.on_cleanup.append(lambda _: session.close())
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}", count


async def measure(rpc_url: str, provider: str, accounts: list[str]) -> tuple[int, float]:
    runner, proxy_url, count = await counting_proxy(rpc_url)
    rpc = RpcPool([proxy_url], call_timeout_s=30, requests_per_second=100)
    monitor = AaveMonitor(rpc, provider)
    await monitor.discover()
    requests, times = [], []
    for _ in range(CYCLES):
        before = count[0]
        started = time.perf_counter()
        snap = await monitor.snapshot(accounts)
        times.append((time.perf_counter() - started) * 1000)
        requests.append(count[0] - before)
        assert len(snap.accounts) == len(accounts)
        assert all(a.matches_chain for a in snap.accounts)
        assert all(c.liquidation_price_usd is not None for a in snap.accounts for c in a.collaterals)
    await rpc.close()
    await runner.cleanup()
    print(f"cycles_ms={[round(t) for t in times]} requests={requests}")
    return max(requests), statistics.median(times)


def main() -> None:
    started = time.perf_counter()
    with start_devnet(free_port()) as devnet:
        rpc = devnet.rpc
        specs = borrowers(random.Random(4))
        fund(rpc, [s.account for s in specs])
        opened = time.perf_counter()
        open_positions(rpc, devnet.info, specs)
        print(f"devnet_s={opened - started:.1f} open_{ACCOUNTS}_positions_s={time.perf_counter() - opened:.1f}")
        requests, cycle_ms = asyncio.run(
            measure(devnet.info["rpc_url"], devnet.info["pool_addresses_provider"], [s.account for s in specs])
        )
    print(f"accounts={ACCOUNTS} requests_per_cycle={requests} cycle_ms={cycle_ms:.0f} rss_mb={rss_mb():.0f}")


if __name__ == "__main__":
    main()
