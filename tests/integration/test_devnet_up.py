"""`hedgebot devnet up` starts the local exchange beside the chain, and stops both on SIGTERM."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bot.devnet.chain.anvil import free_port

pytestmark = pytest.mark.integration


def test_devnet_up_starts_the_exchange_beside_the_chain(tmp_path: Path) -> None:
    out = tmp_path / "devnet.json"
    cmd = [sys.executable, "-m", "bot.cli", "devnet", "up", "--port", str(free_port()), "--out", str(out),
           "--exchange-port", "0", "--heartbeat-s", "0"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("READY "):
                break
        assert any(line.startswith("local exchange") for line in lines), lines
        info = json.loads(out.read_text())
        with urllib.request.urlopen(info["exchange_url"] + "/dapi/v1/time", timeout=5) as resp:
            assert "serverTime" in json.loads(resp.read())
        assert info["exchange_api_key"] == "hedgebot-devnet-key"
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0
    with pytest.raises(OSError):
        urllib.request.urlopen(info["exchange_url"] + "/dapi/v1/time", timeout=2)
