"""One devnet per Aave version (`hedgebot devnet up --aave 3.6|3.0`: real anvil, real Aave) shared by the chain
tests of a session: each test that takes `devnet` runs on both."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.devnet.chain.anvil import free_port
from bot.devnet.chain.artifacts import AAVE_VERSIONS
from bot.devnet.chain.deploy import RESERVES
from bot.devnet.chain.market import set_answer
from bot.devnet.chain.rpc import DevRpc

START_PRICES = {r.symbol: round(r.price_usd * 10**8) for r in RESERVES}


@pytest.fixture(scope="session", params=AAVE_VERSIONS, ids=[f"aave{v}" for v in AAVE_VERSIONS])
def devnet(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """devnet.json's content of a devnet started as a user would, stopped at the end of the session."""
    out = tmp_path_factory.mktemp("devnet") / "devnet.json"
    port = free_port()
    # No heartbeat blocks: the tests probe a price boundary at a fixed block and want no block in between.
    cmd = [sys.executable, "-m", "bot.cli", "devnet", "up", "--port", str(port), "--out", str(out), "--no-exchange",
           "--heartbeat-s", "0", "--quiet", "--aave", request.param]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until READY (or EOF if it failed)
    if not line.startswith("READY "):
        proc.kill()
        raise RuntimeError(f"devnet did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    info: dict[str, Any] = json.loads(Path(out).read_text())
    assert line.split()[1] == info["rpc_url"]
    yield info
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def chain(devnet: dict[str, Any]) -> Iterator[DevRpc]:
    """The devnet's RPC; every feed is put back to its start price after the test."""
    rpc = DevRpc(devnet["rpc_url"])
    yield rpc
    for symbol, answer in START_PRICES.items():
        set_answer(rpc, devnet, symbol, answer)
