"""The world the bot runs in under chaos: anvil with real Aave V3, the local exchange as its own process, a
fault proxy in front of each, and a seeded market that keeps the oracles and the mark moving.

Everything here drives the real thing: the chain faults pause, freeze or restart the real anvil (its state
dumped and loaded back, so the chain goes on at the same height), the exchange is a real process killed
with SIGKILL and restarted on its SQLite state, prices are oracle transactions and admin-route calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import random
import secrets
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from eth_utils.abi import function_signature_to_4byte_selector

from bot.devnet.chain.anvil import Anvil, free_port
from bot.devnet.chain.market import RunningDevnet, start_devnet
from bot.devnet.chain.rpc import DevRpc
from chaos.proxy import FaultProxy

FEED_SCALE = 10**8  # the devnet's Chainlink-style feeds answer with 8 decimals
UPDATED_AT_SLOT = 1  # the devnet feed's storage: slot 0 answer, slot 1 updatedAt, slot 2 roundId
# The demo borrower at HF 1.125 (10 WETH, 16,600 USDC): the strategies hedge well beyond the margin's own BTC,
# and the market's walk (about 1.3 % wide around it) keeps the loan clear of Aave's liquidation at 2,000.
START_ETH, START_BTC = 2_250.0, 60_000.0


@dataclass(frozen=True)
class Secrets:
    """What must never reach a log line, a journal row or a status output, by name."""

    exchange_api_key: str
    exchange_api_secret: str
    rpc_url_key: str
    http_token: str
    dev_private_keys: tuple[str, ...]

    @classmethod
    def fresh(cls, dev_private_keys: tuple[str, ...]) -> Secrets:
        return cls(
            exchange_api_key="chaoskey" + secrets.token_hex(12),
            exchange_api_secret="chaossecret" + secrets.token_hex(16),
            rpc_url_key="chaosrpc" + secrets.token_hex(12),
            http_token="chaostoken" + secrets.token_hex(12),
            dev_private_keys=dev_private_keys,
        )

    def named(self) -> dict[str, str]:
        named = {
            "exchange API key": self.exchange_api_key,
            "exchange API secret": self.exchange_api_secret,
            "RPC URL key": self.rpc_url_key,
            "HTTP token": self.http_token,
        }
        for i, key in enumerate(self.dev_private_keys):
            named[f"devnet private key {i}"] = key.removeprefix("0x")
        return named


# ------------------------------------------------------------------ the chain


def feed_answer_calldata(answer: int) -> str:
    """updateAnswer(int256) with `answer` as a two's-complement word (so 0 and negative answers can be set)."""
    word = (answer % 2**256).to_bytes(32, "big")
    return "0x" + function_signature_to_4byte_selector("updateAnswer(int256)").hex() + word.hex()


class Chain:
    """anvil with the market deployed, a block every `block_s` (unless frozen), and its process for faults."""

    def __init__(self, block_s: float = 1.0) -> None:
        self.block_s = block_s
        self.port = free_port()
        self.devnet: RunningDevnet | None = None
        self.frozen = False  # no blocks mined (the miner holds, and nothing else sends a transaction)
        self.paused = False  # SIGSTOP'd
        self._miner: asyncio.Task[None] | None = None

    @property
    def info(self) -> dict[str, Any]:
        assert self.devnet is not None
        return self.devnet.info

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.devnet is not None and self.devnet.anvil.process is not None
        return self.devnet.anvil.process.pid

    def start(self) -> None:
        # On the main thread: anvil dies with the thread that started it (PR_SET_PDEATHSIG).
        self.devnet = start_devnet(port=self.port)
        self._miner = asyncio.get_running_loop().create_task(self._mine())

    async def stop(self) -> None:
        if self._miner is not None:
            self._miner.cancel()
        if self.paused:
            os.kill(self.pid, signal.SIGCONT)
        if self.devnet is not None:
            self.devnet.stop()

    async def _mine(self) -> None:
        while True:
            await asyncio.sleep(self.block_s)
            if not (self.frozen or self.paused):
                with contextlib.suppress(Exception):  # a restarting node: the next tick mines
                    await self.call("evm_mine")

    async def call(self, method: str, *params: Any, timeout_s: float = 5.0) -> Any:
        rpc = DevRpc(self.url, timeout_s=timeout_s)
        return await asyncio.to_thread(rpc.call, method, *params)

    async def head(self) -> int:
        return int(await self.call("eth_blockNumber"), 16)

    async def set_answer(self, symbol: str, answer: int) -> None:
        """An oracle round of `symbol` with the raw answer (8 decimals), mined; waits for its receipt."""
        feed = self.info["reserves"][symbol]["price_feed"]
        tx = {"from": self.info["accounts"]["admin"]["address"], "to": feed, "data": feed_answer_calldata(answer),
              "gas": hex(100_000)}  # fmt: skip
        rpc = DevRpc(self.url, timeout_s=10.0)

        def send() -> None:
            rpc.wait_receipts([rpc.call("eth_sendTransaction", tx)], timeout_s=10.0)

        await asyncio.to_thread(send)

    async def set_price(self, symbol: str, usd: float) -> None:
        await self.set_answer(symbol, round(usd * FEED_SCALE))

    async def read_answer(self, symbol: str) -> tuple[int, int]:
        """The feed's (answer, updatedAt) as the chain holds them now (the answer signed)."""
        feed = self.info["reserves"][symbol]["price_feed"]
        data = "0x" + function_signature_to_4byte_selector("latestRoundData()").hex()
        raw = bytes.fromhex(str(await self.call("eth_call", {"to": feed, "data": data}, "latest"))[2:])
        answer = int.from_bytes(raw[32:64], "big", signed=True)
        return answer, int.from_bytes(raw[96:128], "big")

    async def set_updated_at(self, symbol: str, ts_s: int) -> None:
        """Backdate the feed's last round (its answer unchanged): a feed that stopped updating at `ts_s`."""
        feed = self.info["reserves"][symbol]["price_feed"]
        slot = "0x" + UPDATED_AT_SLOT.to_bytes(32, "big").hex()
        await self.call("anvil_setStorageAt", feed, slot, "0x" + ts_s.to_bytes(32, "big").hex())

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)
        self.paused = True

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)
        self.paused = False

    async def restart(self, down_s: float) -> None:
        """Stop anvil, keep it down `down_s`, start it again on the same port with the same chain (dumped, loaded)."""
        assert self.devnet is not None
        state = await self.call("anvil_dumpState", timeout_s=30.0)
        self.devnet.anvil.stop()
        await asyncio.sleep(down_s)
        anvil = Anvil(port=self.port)
        anvil.start()  # main thread (see start)
        self.devnet = RunningDevnet(anvil, self.devnet.info)
        await self.call("anvil_loadState", state, timeout_s=30.0)


# ------------------------------------------------------------------ the exchange


class Exchange:
    """The local exchange as its own process (`hedgebot devnet exchange`), its account persisted to SQLite."""

    def __init__(self, workdir: Path, secrets_: Secrets, balance_btc: float) -> None:
        self.port = free_port()
        self.state_path = workdir / "exchange.sqlite"
        self.log_path = workdir / "exchange.log"
        self.secrets = secrets_
        self.balance_btc = balance_btc
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        args = [sys.executable, "-m", "bot.cli", "devnet", "exchange", "--port", str(self.port),
                "--state", str(self.state_path), "--api-key", self.secrets.exchange_api_key,
                "--api-secret", self.secrets.exchange_api_secret, "--balance-btc", str(self.balance_btc),
                "--mark-price", str(START_BTC)]  # fmt: skip
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *args, stdout=asyncio.subprocess.PIPE, stderr=log, stdin=asyncio.subprocess.DEVNULL
            )
        assert self.process.stdout is not None
        line = (await asyncio.wait_for(self.process.stdout.readline(), 60)).decode()
        if not line.startswith("READY"):
            raise RuntimeError(f"the local exchange did not start: {line!r} (see {self.log_path})")
        self.starts += 1

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                await self.kill()

    async def _admin(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
            http.request(method, self.url + path, json=body) as resp,
        ):
            text = await resp.text()
            if resp.status != 200:
                raise RuntimeError(f"{path} answered {resp.status}: {text[:200]}")
            return json.loads(text)

    async def set_mark(self, price: float) -> None:
        await self._admin("POST", "/_devnet/mark_price", {"symbol": "BTCUSD_PERP", "price": price})

    async def orders(self) -> dict[str, Any]:
        """The exchange's own record: the order log, every order and its status, the position, the mark."""
        result: dict[str, Any] = await self._admin("GET", "/_devnet/orders")
        return result


# ------------------------------------------------------------------ the market


@dataclass
class Market:
    """A seeded walk of WETH and BTC, written to the oracles and the exchange's mark every `tick_s`.

    Moves stay well inside the bot's jump band and the oracle/mark divergence limit, so on its own the market
    is healthy data. A fault takes over the parts it breaks (`take("WETH")`, "WBTC", "mark"): the walk goes on,
    but nothing is written to them until the fault hands them back (`give_back`). `take` waits for a write in
    flight, so none can land after the fault's own and undo it.
    """

    chain: Chain
    exchange: Exchange
    rng: random.Random
    tick_s: float = 1.5
    eth: float = START_ETH
    btc: float = START_BTC
    held: set[str] = field(default_factory=set)
    errors: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    _task: asyncio.Task[None] | None = field(default=None, repr=False)

    def step(self) -> None:
        """One tick: a small log-normal move with a pull back towards the start (pure: no I/O)."""
        self.eth *= math.exp(self.rng.gauss(0, 0.004) - 0.05 * math.log(self.eth / START_ETH))
        self.btc *= math.exp(self.rng.gauss(0, 0.002) - 0.05 * math.log(self.btc / START_BTC))

    async def take(self, *parts: str) -> None:
        async with self.lock:
            self.held.update(parts)

    def give_back(self, *parts: str) -> None:
        self.held.difference_update(parts)

    async def write(self, chain: bool = True, mark: bool = True) -> None:
        """The current prices to the oracles (WETH, WBTC) and the exchange's mark, except the parts held."""
        async with self.lock:
            await self._write(chain, mark)

    async def _write(self, chain: bool, mark: bool) -> None:
        jobs = []
        if chain:
            jobs += [
                self.chain.set_price(s, p) for s, p in (("WETH", self.eth), ("WBTC", self.btc)) if s not in self.held
            ]
        if mark and "mark" not in self.held:
            jobs.append(self.exchange.set_mark(self.btc))
        for outcome in await asyncio.gather(*jobs, return_exceptions=True):
            if isinstance(outcome, BaseException):
                self.errors += 1

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.tick_s)
            self.step()
            # A frozen or paused node gets no transaction (each one would mine a block, or hang).
            await self.write(chain=not (self.chain.frozen or self.chain.paused))

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None


# ------------------------------------------------------------------ all of it


class World:
    """Chain, exchange, their proxies and the market, started together and stopped together."""

    def __init__(self, workdir: Path, seed: int, balance_btc: float = 0.5, block_s: float = 1.0) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.chain = Chain(block_s)
        self.seed = seed
        self.balance_btc = balance_btc
        self.secrets: Secrets | None = None
        self.exchange: Exchange | None = None
        self.market: Market | None = None
        self.rpc_proxy: FaultProxy | None = None
        self.ex_proxy: FaultProxy | None = None

    async def start(self) -> None:
        t0 = time.monotonic()
        self.chain.start()
        dev_keys = tuple(a["private_key"] for a in self.chain.info["dev_accounts"])
        self.secrets = Secrets.fresh(dev_keys)
        self.exchange = Exchange(self.workdir, self.secrets, self.balance_btc)
        await self.exchange.start()
        self.rpc_proxy = FaultProxy("rpc", self.chain.url)
        await self.rpc_proxy.start()
        self.ex_proxy = FaultProxy("exchange", self.exchange.url)
        await self.ex_proxy.start()
        self.market = Market(self.chain, self.exchange, random.Random(self.seed))
        await self.market.write()
        self.market.start()
        self.started_s = time.monotonic() - t0

    @property
    def bot_rpc_url(self) -> str:
        """The URL the bot is given: the proxy, with a provider-style key in its path."""
        assert self.rpc_proxy is not None and self.secrets is not None
        return f"{self.rpc_proxy.url}/v2/{self.secrets.rpc_url_key}"

    async def stop(self) -> None:
        if self.market is not None:
            await self.market.stop()
        for proxy in (self.rpc_proxy, self.ex_proxy):
            if proxy is not None:
                await proxy.close()
        if self.exchange is not None:
            await self.exchange.stop()
        await self.chain.stop()
