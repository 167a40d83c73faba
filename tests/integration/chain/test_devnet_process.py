"""The devnet's anvil child: a busy port is refused, and anvil never outlives its parent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.devnet.chain.anvil import Anvil, free_port
from bot.errors import UsageError

pytestmark = pytest.mark.integration

PARENT = """
import sys
from bot.devnet.chain.anvil import Anvil
anvil = Anvil(int(sys.argv[1]))
anvil.start()
print(anvil.process.pid, flush=True)
sys.stdin.read()  # wait forever
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_anvil_dies_with_its_parent_on_kill_9() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(free_port())], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert parent.stdout is not None
    anvil_pid = int(parent.stdout.readline())
    assert _alive(anvil_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(anvil_pid) and time.monotonic() < deadline:
        time.sleep(0.02)  # the orphan is reaped by init; nothing to wait on but its /proc entry
    assert not _alive(anvil_pid)


def test_a_busy_port_is_refused(tmp_path: Path) -> None:
    with Anvil(free_port()) as running:
        with pytest.raises(UsageError, match="already in use"):
            Anvil(running.port).start()
        out = tmp_path / "devnet.json"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "bot.cli",
                "devnet",
                "up",
                "--port",
                str(running.port),
                "--out",
                str(out),
                "--no-exchange",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 2 and "already in use" in done.stderr
        assert not out.exists()


def test_devnet_up_writes_devnet_json_and_stops_on_sigterm(tmp_path: Path) -> None:
    out = tmp_path / "devnet.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "devnet",
            "up",
            "--port",
            str(free_port()),
            "--out",
            str(out),
            "--quiet",
            "--exchange-port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    info = json.loads(out.read_text())
    assert line.strip() == f"READY {info['rpc_url']}"
    assert info["aave_version"] == "3.6"  # the default
    assert set(info["reserves"]) == {"WETH", "WBTC", "USDC", "wstETH", "weETH"}
    assert info["reserves"]["USDC"]["decimals"] == 6
    assert info["emodes"]["1"]["collaterals"] == ["WETH", "wstETH", "weETH"]
    assert info["multicall3"] == "0xcA11bde05977b3631167028862bE2a173976CA11"
    assert all(key.startswith("0x") for key in (a["private_key"] for a in info["dev_accounts"]))
    assert [p.name for p in tmp_path.iterdir()] == ["devnet.json"]  # no temporary file left behind
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
