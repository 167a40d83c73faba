"""The bot under test: `hedgebot run --mode testnet` as a process, its settings in the environment, its log
on disk, and a supervisor that restarts it when it exits on its own (as docker's restart policy would)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.world import World

# Exit codes hedgebot documents: 0 stopped, 3 killed (halted by its kill switch).
STOPPED, KILLED = 0, 3


@dataclass(frozen=True)
class BotConfig:
    strategy: str = "dynamic"
    poll_interval_s: float = 0.5
    stale_block_s: float = 10.0


def strategy_params(strategy: str) -> dict[str, Any]:
    # As the e2e tests run it: no relaxing cooldown, so a healthy market keeps the bot deciding and trading.
    return {"cooldown_minutes": 0} if strategy == "dynamic" else {}


@dataclass
class Exit:
    t: float
    code: int | None
    expected: bool


@dataclass
class BotProcess:
    """One bot, restarted as often as needed on the same journal and log."""

    world: World
    workdir: Path
    config: BotConfig
    http_port: int
    process: asyncio.subprocess.Process | None = None
    starts: list[float] = field(default_factory=list)
    exits: list[Exit] = field(default_factory=list)
    _expect_exit: bool = False
    _supervisor: asyncio.Task[None] | None = None

    @property
    def db_path(self) -> Path:
        return self.workdir / "bot.sqlite"

    @property
    def log_path(self) -> Path:
        return self.workdir / "bot.log"

    def env(self) -> dict[str, str]:
        """The settings `hedgebot run --mode testnet` reads, as `hedgebot devnet env` prints them, via the proxies."""
        w = self.world
        assert w.secrets is not None and w.ex_proxy is not None
        info = w.chain.info
        keep = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEBOT_")}
        return {
            **keep,
            "PYTHONUNBUFFERED": "1",
            "HEDGEBOT_DB_PATH": str(self.db_path),
            "HEDGEBOT_HTTP_PORT": str(self.http_port),
            "HEDGEBOT_HTTP_TOKEN": w.secrets.http_token,
            "HEDGEBOT_LOG__FORMAT": "json",
            "HEDGEBOT_EXCHANGE__ID": "binancecoinm",
            "HEDGEBOT_EXCHANGE__API_URL": w.ex_proxy.url,
            "HEDGEBOT_EXCHANGE__API_KEY": w.secrets.exchange_api_key,
            "HEDGEBOT_EXCHANGE__API_SECRET": w.secrets.exchange_api_secret,
            "HEDGEBOT_CHAIN__RPC_URLS": json.dumps([w.bot_rpc_url]),
            "HEDGEBOT_CHAIN__POOL_ADDRESSES_PROVIDER": info["pool_addresses_provider"],
            "HEDGEBOT_CHAIN__ACCOUNTS": json.dumps([info["accounts"]["borrower"]["address"]]),
            "HEDGEBOT_CHAIN__COLLATERAL_ASSET": "WETH",
            "HEDGEBOT_CHAIN__POLL_INTERVAL_S": str(self.config.poll_interval_s),
            "HEDGEBOT_CHAIN__STALE_BLOCK_S": str(self.config.stale_block_s),
            "HEDGEBOT_STRATEGY__NAME": self.config.strategy,
            "HEDGEBOT_STRATEGY__PARAMS": json.dumps(strategy_params(self.config.strategy)),
            # The local exchange keeps only the marks it has seen: no week of history to warm up on.
            "HEDGEBOT_STRATEGY__WARMUP_DAYS": "0",
        }

    async def start(self) -> None:
        self._expect_exit = False
        with self.log_path.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "run", "--mode", "testnet",
                stdout=log, stderr=log, stdin=asyncio.subprocess.DEVNULL, env=self.env(), cwd=self.workdir,
            )  # fmt: skip
        self.starts.append(time.time())
        if self._supervisor is None:
            self._supervisor = asyncio.get_running_loop().create_task(self._supervise())

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    def kill(self) -> None:
        """SIGKILL, now (callable from a proxy's kill point: no await between the trigger and the kill)."""
        if self.running:
            assert self.process is not None
            self._expect_exit = True
            self.process.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        if self.running:
            assert self.process is not None
            self._expect_exit = True
            self.process.send_signal(signal.SIGTERM)

    async def wait(self, timeout_s: float) -> int | None:
        """The exit code, or None if it was still running after `timeout_s`."""
        if self.process is None:
            return None
        try:
            return await asyncio.wait_for(self.process.wait(), timeout_s)
        except TimeoutError:
            return None

    async def _supervise(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            proc = self.process
            if proc is None or proc.returncode is None:
                continue
            if self._expect_exit:
                if not self.exits or self.exits[-1].t < self.starts[-1]:
                    self.exits.append(Exit(time.time(), proc.returncode, True))
                continue
            # It exited on its own: note it and restart, as a supervisor would, after a second.
            self.exits.append(Exit(time.time(), proc.returncode, False))
            await asyncio.sleep(1.0)
            if not self._expect_exit:
                await self.start()

    async def stop_supervising(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            self._supervisor = None
