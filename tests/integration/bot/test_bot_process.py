"""`hedgebot run` as a process on the devnet (real anvil and Aave, the local exchange as its own process, the real
ccxt client), stopped the ways an operator stops it: with its log reader gone, and with the exchange unreachable.

- A closed log pipe (`hedgebot run 2>&1 | head -1`): the bot once died at its next log line (exit 1, no clean stop),
  or ignored SIGTERM when the signal handler's own log line raised BrokenPipeError.
- SIGTERM while the exchange is down (C5): the bot once left its conditional entries resting and exited 1 after the
  venue's retries; with no bot running they later filled into a short with no stop. Now nothing that can open a
  short rests on the exchange, and the stop is bounded in time.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.devnet.chain.anvil import free_port
from bot.journal.journal import Journal
from tests.integration.bot.conftest import bot_settings
from tests.integration.bot.test_bot_e2e import settings_env

pytestmark = pytest.mark.integration


class ExchangeProcess:
    """`hedgebot devnet exchange` on a fixed port with its account in SQLite: it can be killed and restarted."""

    def __init__(self, state: Path) -> None:
        self.port = free_port()
        self.state = state
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "devnet", "exchange", "--port", str(self.port), "--balance-btc", "0.1",
             "--state", str(self.state)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        ready = self.proc.stdout.readline()
        assert ready.startswith("READY "), ready

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def book(self) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            async with aiohttp.ClientSession() as http, http.get(f"{self.url}/_devnet/orders") as resp:
                body: dict[str, Any] = await resp.json()
                return body

        return asyncio.run(read())


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[ExchangeProcess]:
    ex = ExchangeProcess(tmp_path / "exchange.sqlite")
    ex.start()
    yield ex
    ex.kill()


def start_bot(devnet: dict[str, Any], exchange: ExchangeProcess, tmp_path: Path, strategy: str, **popen: Any) -> Any:
    settings = bot_settings(devnet, exchange.url, tmp_path / "bot.sqlite", strategy)
    env = {**os.environ, **settings_env(settings), "HEDGEBOT_STRATEGY__NAME": strategy}
    env["HEDGEBOT_STRATEGY__WARMUP_DAYS"] = "0"
    cmd = [sys.executable, "-m", "bot.cli", "run", "--mode", "testnet"]
    return subprocess.Popen(cmd, env=env, cwd=tmp_path, text=True, **popen), settings


def wait_for(what: str, predicate: Callable[[], bool], bot: Any, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert bot.poll() is None, f"the bot exited ({bot.returncode}) before {what}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def resting(book: dict[str, Any]) -> list[dict[str, Any]]:
    return [o for o in book["orders"] if o["status"] == "open"]


def test_a_closed_log_pipe_neither_stops_the_bot_nor_its_sigterm(
    devnet: dict[str, Any], exchange: ExchangeProcess, tmp_path: Path
) -> None:
    bot, settings = start_bot(
        devnet, exchange, tmp_path, "dynamic", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1
    )
    try:
        assert bot.stdout is not None
        bot.stdout.readline()  # `| head -1`: one line read, then the reader is gone
        bot.stdout.close()
        # The bot keeps hedging with nobody reading its log: it opens the short and its stop.
        wait_for("the hedge", lambda: exchange.book()["contracts"] < 0 and len(resting(exchange.book())) > 0, bot)
        time.sleep(1.0)  # more log lines written into the closed pipe
        assert bot.poll() is None, f"the bot died when its log pipe closed (exit {bot.returncode})"
        bot.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=30) == 0
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait(timeout=10)
    with Journal.open_readonly(settings.db_path) as journal:
        assert journal.unacknowledged_intents() == []


def test_sigterm_with_the_exchange_down_leaves_nothing_that_can_open_a_short(
    devnet: dict[str, Any], exchange: ExchangeProcess, tmp_path: Path
) -> None:
    """layered-stop: a base short with its stop, and three layers that arm as the collateral nears liquidation."""
    log = (tmp_path / "bot.log").open("w")
    bot, _ = start_bot(devnet, exchange, tmp_path, "layered-stop", stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for("the base hedge and its stop", lambda: exchange.book()["contracts"] < 0, bot)
        time.sleep(3.0)  # the decision's every order sent (a conditional entry would rest by now)
        exchange.kill()  # the exchange unreachable: its port refuses connections
        t0 = time.monotonic()
        bot.send_signal(signal.SIGTERM)
        code = bot.wait(timeout=60)
        took = time.monotonic() - t0
    finally:
        if bot.poll() is None:
            bot.kill()
            bot.wait(timeout=10)
        log.close()
    # The stop is bounded: well inside Docker's 10 s before SIGKILL.
    assert took < 10.0, f"SIGTERM took {took:.1f} s with the exchange down"
    assert code in (0, 1), (tmp_path / "bot.log").read_text()[-3000:]
    # With no bot running, the exchange back on its saved account: nothing rests that sells (opens a short).
    exchange.start()
    book = exchange.book()
    entries = [o for o in resting(book) if not o["reduce_only"]]
    assert entries == [], entries
    short = -book["contracts"]
    covered = sum(o["contracts"] - o["filled_contracts"] for o in resting(book) if o["reduce_only"])
    assert short > 0 and covered >= short
