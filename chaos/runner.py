"""One chaos run: a fresh world, the bot started in it, a seeded list of faults injected one after another, a
clean stop, and the evidence gathered from outside the bot.

Between faults the runner waits for the bot to make a fresh decision (see chaos.checks): that wait is the
monitoring gap. A bot that makes none within `recover_timeout_s` is restarted, as an operator would, so one
fault's damage is not charged to the next; the fault keeps a gap of None ("never").
"""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bot.config import RiskSettings
from bot.devnet.chain.anvil import free_port
from chaos import checks
from chaos.botproc import BotConfig, BotProcess
from chaos.checks import Text
from chaos.faults import FAULTS, Injected
from chaos.world import World


@dataclass(frozen=True)
class RunConfig:
    strategy: str
    seed: int
    classes: tuple[str, ...]
    stale_block_s: float = 10.0
    poll_interval_s: float = 0.5
    max_oracle_divergence: float = RiskSettings().max_oracle_divergence  # the bot's own limit, as it runs
    recover_timeout_s: float = 30.0
    settle_s: tuple[float, float] = (0.5, 2.0)


@dataclass
class RunResult:
    config: RunConfig
    workdir: Path
    faults: list[Injected]
    order_log: list[dict[str, Any]]
    end: checks.EndState
    duplicates: list[dict[str, Any]]
    secrets: list[checks.SecretFound]
    scanned: dict[str, int] = field(default_factory=dict)  # texts searched for secrets, by kind
    notes: list[str] = field(default_factory=list)
    unexpected_exits: list[tuple[float, int | None]] = field(default_factory=list)
    seconds: float = 0.0


class Run:
    """The context a fault function acts on: the world, the bot, the run's settings."""

    def __init__(self, config: RunConfig, workdir: Path) -> None:
        self.config = config
        self.workdir = workdir
        self.world = World(workdir, config.seed)
        self.rng = random.Random(config.seed)
        self.bot = BotProcess(
            self.world,
            workdir,
            BotConfig(config.strategy, config.poll_interval_s, config.stale_block_s),
            http_port=free_port(),
        )
        self.faults: list[Injected] = []
        self.texts: list[Text] = []
        self.notes: list[str] = []

    # ------------------------------------------------------------------ waiting on the bot

    async def fresh_decision(self, after: float, head: int, timeout_s: float) -> float | None:
        """When the bot's first fresh decision after `after` began, waiting up to `timeout_s`; None if none."""
        w = self.world
        assert w.rpc_proxy is not None and w.ex_proxy is not None
        deadline = time.time() + timeout_s
        while True:
            t = checks.fresh_decision(after, head, w.rpc_proxy.records, w.ex_proxy.records)
            if t is not None or time.time() > deadline:
                return t
            await asyncio.sleep(0.05)

    async def healthy(self, timeout_s: float) -> bool:
        now = time.time()
        return await self.fresh_decision(now, await self.world.chain.head(), timeout_s) is not None

    async def restart_bot(self, why: str) -> None:
        self.notes.append(f"{time.strftime('%H:%M:%S')} runner restarted the bot: {why}")
        self.bot.terminate()
        if await self.bot.wait(20) is None:
            self.bot.kill()
            await self.bot.wait(10)
        await self.bot.start()

    async def status_texts(self) -> None:
        """What the bot's status endpoint shows now (/status and /metrics, with its token)."""
        assert self.world.secrets is not None
        headers = {"Authorization": f"Bearer {self.world.secrets.http_token}"}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as http:
            for path in ("/status", "/metrics"):
                try:
                    async with http.get(f"http://127.0.0.1:{self.bot.http_port}{path}", headers=headers) as resp:
                        self.texts.append(Text(f"GET {path}", time.time(), await resp.text()))
                except (aiohttp.ClientError, TimeoutError):
                    pass

    async def cli(self, *args: str) -> None:
        """Run a hedgebot command with the bot's settings; its output is a status output to scan."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", *args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=self.bot.env(), cwd=self.workdir,
        )  # fmt: skip
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
        self.texts.append(Text(f"hedgebot {' '.join(args)}", time.time(), out.decode(errors="replace")))

    # ------------------------------------------------------------------ the run

    async def execute(self, on_fault: Any = None) -> RunResult:
        t0 = time.time()
        try:
            return await self._execute(t0, on_fault)
        finally:
            (self.workdir / "requests.jsonl").write_text(requests_jsonl(self))

    async def _execute(self, t0: float, on_fault: Any) -> RunResult:
        try:
            await self.world.start()
            await self.bot.start()
            if not await self.healthy(120):
                self.notes.append("the bot made no fresh decision within 120 s of its start")
            await asyncio.sleep(self.rng.uniform(*self.config.settle_s))
            for cls in self.config.classes:
                await self._one(cls)
                if on_fault is not None:
                    on_fault(self.faults[-1])
            return await self._finish(t0)
        finally:
            await self.bot.stop_supervising()
            self.bot.kill()
            await self.bot.wait(10)
            await self.world.stop()

    async def _one(self, cls: str) -> None:
        if not await self.healthy(self.config.recover_timeout_s):
            await self.restart_bot(f"no fresh decision for {self.config.recover_timeout_s:.0f} s before {cls}")
            await self.healthy(60)
        fault = await FAULTS[cls](self, self.rng)
        self.faults.append(fault)
        t = await self.fresh_decision(fault.t_end, fault.head_at_end, self.config.recover_timeout_s)
        fault.gap_s = None if t is None else t - fault.t_end
        await self.status_texts()
        if t is None:
            fault.restarted_by_runner = True
            await self.restart_bot(f"no fresh decision {self.config.recover_timeout_s:.0f} s after {cls} ended")
        await asyncio.sleep(self.rng.uniform(*self.config.settle_s))

    async def _finish(self, t0: float) -> RunResult:
        w = self.world
        assert w.market is not None and w.exchange is not None and w.secrets is not None
        await w.market.stop()  # the market holds still: the bot converges, then stops cleanly
        if not await self.healthy(self.config.recover_timeout_s):
            self.notes.append("no fresh decision before the final stop")
        await asyncio.sleep(3.0)
        await self.status_texts()
        await self.cli("status", "--json")
        await self.bot.stop_supervising()
        self.bot.terminate()
        code = await self.bot.wait(40)
        if code is None:
            self.notes.append("SIGTERM at the end: still running after 40 s, killed")
            self.bot.kill()
            await self.bot.wait(10)
        elif code != 0:
            self.notes.append(f"SIGTERM at the end: exit code {code}")
        await self.cli("journal", "--json")
        book = await w.exchange.orders()
        logs = checks.log_texts("bot.log", self.bot.log_path.read_text(errors="replace"))
        rows = journal_texts(self.bot.db_path)
        texts = [*self.texts, *logs, *rows]
        return RunResult(
            config=self.config,
            workdir=self.workdir,
            faults=self.faults,
            order_log=book["log"],
            end=checks.end_state(book["orders"], book["contracts"]),
            duplicates=[dict(r) for r in checks.duplicates(book["log"])],
            secrets=checks.find_secrets(texts, w.secrets.named()),
            scanned={"log lines": len(logs), "journal rows": len(rows), "status outputs": len(self.texts)},
            notes=self.notes,
            unexpected_exits=[(e.t, e.code) for e in self.bot.exits if not e.expected],
            seconds=time.time() - t0,
        )


def journal_texts(db_path: Path) -> list[Text]:
    """Every row of every table of the journal, as text."""
    if not db_path.exists():
        return []
    out = []
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        db.row_factory = sqlite3.Row
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for i, row in enumerate(db.execute(f'SELECT * FROM "{table}"')):
                out.append(checks.row_text(table, i, dict(row)))
    return out


def requests_jsonl(run: Run) -> str:
    """Every request the two proxies saw, one JSON line each: the raw material of the gaps and the hits."""
    lines = []
    for proxy in (run.world.rpc_proxy, run.world.ex_proxy):
        if proxy is not None:
            lines += [json.dumps({"proxy": proxy.name, **r.__dict__}) for r in proxy.records]
    return "\n".join(lines) + "\n"


def dump(result: RunResult) -> str:
    """The run's evidence as JSON, kept beside its logs."""
    return json.dumps(
        {
            "strategy": result.config.strategy,
            "seed": result.config.seed,
            "faults": [f.__dict__ for f in result.faults],
            "order_log": result.order_log,
        },
        default=str,
        indent=1,
    )
