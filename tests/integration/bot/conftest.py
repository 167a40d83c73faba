"""A devnet for the bot's end-to-end tests: real anvil with real Aave V3 (a block a second, as a chain
moves), and the local Binance COIN-M server the real ccxt client talks to."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.devnet.chain.anvil import free_port
from bot.devnet.demo import devnet_settings
from bot.devnet.exchange.server import ExchangeServer


@pytest.fixture(scope="module")
def devnet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    out = tmp_path_factory.mktemp("devnet") / "devnet.json"
    # The chain only: these tests run their own exchange, whose mark they move.
    cmd = [sys.executable, "-m", "bot.cli", "devnet", "up", "--port", str(free_port()), "--out", str(out),
           "--no-exchange", "--heartbeat-s", "1", "--quiet"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY "):
        proc.kill()
        raise RuntimeError(f"devnet did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    yield json.loads(out.read_text())
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
async def exchange() -> AsyncIterator[ExchangeServer]:
    server = ExchangeServer(port=0, balance_btc=0.1, mark_price=60_000.0)
    await server.start()
    yield server
    await server.stop()


def bot_settings(
    devnet: dict[str, Any], exchange_url: str, db_path: Path, strategy: str = "dynamic", **strategy_params: Any
) -> Settings:
    """Testnet mode against the local exchange, watching the devnet's demo borrower (as the demo runs)."""
    params = {"cooldown_minutes": 0, **strategy_params} if strategy == "dynamic" else strategy_params
    return devnet_settings(devnet, exchange_url, db_path, strategy, params)
