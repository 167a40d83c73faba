"""Reaction time: an oracle block that forces a hedge change -> the order acknowledged by the exchange.

The devnet (anvil + real Aave V3) and the local Binance COIN-M server run in this process; the bot is
`hedgebot run --mode testnet` in its own process (so its RSS is its own), on the real ccxt client,
learning of blocks by WebSocket newHeads. Each trial mines one block that moves the WETH oracle
between two prices where the dynamic strategy wants clearly different hedges, and measures from just
before the block is mined to the exchange's timestamp of the resulting fill.

Last line: trials=<n> p50_ms=<x> p99_ms=<y> rss_mb=<z>   (targets: p99 <= 250 ms, RSS < 250 MB)
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bot.devnet.chain.anvil import free_port
from bot.devnet.chain.market import set_price, start_devnet
from bot.devnet.exchange.server import DEFAULT_API_KEY, DEFAULT_API_SECRET, ExchangeServer

TRIALS = int(os.environ.get("REACTION_TRIALS", "60"))
PACE_S = 1.5  # between trials: inside ccxt's per-minute request budget, as a live bot lives in it
LOW, HIGH = 2_200.0, 2_400.0  # WETH: HF 1.10 and 1.20 for the demo borrower; 8 % apart (under the jump guard)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[k]


async def wait_fill(exchange: ExchangeServer, before: int, timeout_s: float = 10.0) -> int:
    """The exchange's timestamp (ms) of the first fill after `before` fills."""
    deadline = time.monotonic() + timeout_s
    while exchange.engine.fill_count <= before:
        if time.monotonic() > deadline:
            raise TimeoutError("the bot did not act on the block")
        await asyncio.sleep(0.001)
    return min(f.timestamp_ms for f in exchange.engine.fills()[before:])


async def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="hedgebot-reaction-"))
    devnet = start_devnet(port=free_port(), out=work / "devnet.json")
    info = devnet.info
    exchange = ExchangeServer(port=0, balance_btc=0.1, mark_price=60_000.0)
    await exchange.start()
    env = {
        **os.environ,
        "HEDGEBOT_MODE": "testnet",
        "HEDGEBOT_DB_PATH": str(work / "bot.sqlite"),
        "HEDGEBOT_HTTP_PORT": "0",
        "HEDGEBOT_LOG__LEVEL": "warning",
        "HEDGEBOT_EXCHANGE__API_URL": exchange.url,
        "HEDGEBOT_EXCHANGE__API_KEY": DEFAULT_API_KEY,
        "HEDGEBOT_EXCHANGE__API_SECRET": DEFAULT_API_SECRET,
        "HEDGEBOT_CHAIN__RPC_URLS": json.dumps([info["ws_url"]]),
        "HEDGEBOT_CHAIN__POOL_ADDRESSES_PROVIDER": info["pool_addresses_provider"],
        "HEDGEBOT_CHAIN__ACCOUNTS": json.dumps([info["accounts"]["borrower"]["address"]]),
        "HEDGEBOT_STRATEGY__PARAMS": json.dumps({"cooldown_minutes": 0}),
    }
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--mode", "testnet"],
        env=env,
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    latencies: list[float] = []
    peak_rss = 0.0
    try:
        # Walk WETH down to the band in steps under the jump guard, and let the bot take its first position.
        for price in (2_800.0, 2_600.0, HIGH):
            await asyncio.to_thread(set_price, info, "WETH", price)
            await asyncio.sleep(1.0)
        await wait_fill(exchange, 0, timeout_s=30.0)
        await asyncio.sleep(PACE_S)
        for trial in range(TRIALS):
            before = exchange.engine.fill_count
            t0_ms = time.time() * 1000
            # Mines the block; in a thread, so the exchange in this process keeps serving the bot meanwhile.
            await asyncio.to_thread(set_price, info, "WETH", LOW if trial % 2 == 0 else HIGH)
            acked_ms = await wait_fill(exchange, before)
            latencies.append(acked_ms - t0_ms)
            peak_rss = max(peak_rss, rss_mb(bot.pid))
            await asyncio.sleep(PACE_S)
    finally:
        bot.terminate()
        _, err = await asyncio.to_thread(bot.communicate, timeout=30)
        await exchange.stop()
        devnet.stop()
        if bot.returncode not in (0, -15):
            print(err[-2000:], file=sys.stderr)
    print(
        f"reaction over {len(latencies)} trials: min {min(latencies):.1f} ms, mean {statistics.mean(latencies):.1f} ms,"
        f" max {max(latencies):.1f} ms; bot exit code {bot.returncode}"
    )
    print(
        f"trials={len(latencies)} p50_ms={percentile(latencies, 0.5):.1f} p99_ms={percentile(latencies, 0.99):.1f} "
        f"rss_mb={peak_rss:.0f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
