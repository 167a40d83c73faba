"""B7: a bot that cannot start says why in one line, exits non-zero, journals it and alerts; no traceback."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.devnet.exchange.server import ExchangeServer
from bot.journal.journal import Journal
from tests.http_receiver import Receiver
from tests.integration.bot.conftest import bot_settings
from tests.integration.bot.test_bot_e2e import settings_env

pytestmark = pytest.mark.integration


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_bot(env: dict[str, str], cwd: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--mode", "testnet",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env, cwd=cwd,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


@pytest.mark.parametrize("fault", ["wrong key", "exchange unreachable"])
async def test_a_failed_start_is_a_message_an_exit_code_a_journal_row_and_an_alert(
    devnet: dict[str, Any], exchange: ExchangeServer, tmp_path: Path, fault: str
) -> None:
    receiver = await Receiver().start()
    try:
        url = exchange.url if fault == "wrong key" else f"http://127.0.0.1:{closed_port()}"
        settings = bot_settings(devnet, url, tmp_path / "bot.sqlite")
        env = {**os.environ, **settings_env(settings), "HEDGEBOT_ALERTS__WEBHOOK_URL": f"{receiver.url}/hook"}
        if fault == "wrong key":
            env["HEDGEBOT_EXCHANGE__API_KEY"] = "not-the-devnet-key-000"
        code, out = await start_bot(env, tmp_path)
        [alert] = await receiver.wait_for(1)
    finally:
        await receiver.stop()
    assert code == 1, out
    assert "Traceback" not in out
    [error_line] = [line for line in out.splitlines() if line.startswith("hedgebot: error: could not start:")]
    assert ("auth" in error_line.lower() or "key" in error_line.lower()) if fault == "wrong key" else True
    assert alert.body["key"] == "error-startup" and alert.body["severity"] == "critical"
    with Journal.open_readonly(settings.db_path) as journal:
        rows = journal.rows("SELECT key, severity, outcome FROM alerts")
    assert [tuple(r) for r in rows] == [("error-startup", "critical", "sent")]
