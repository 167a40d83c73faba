"""`hedgebot devnet env`: the lines it prints, sourced by a real shell, make settings that `config check` accepts
and that reach the running devnet (its chain and its exchange, with the devnet keys); `--write` makes a .env
and never replaces one unasked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import load_settings
from bot.devnet.chain.anvil import free_port
from bot.devnet.chain.rpc import DevRpc
from bot.venues.ccxt.client import build_exchange

pytestmark = pytest.mark.integration
HEDGEBOT = f"{sys.executable} -m bot.cli"


@pytest.fixture(scope="module")
def devnet_up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    """`hedgebot devnet up` with its local exchange, as a user starts it: (devnet.json, its content)."""
    out = tmp_path_factory.mktemp("devnet-env") / "devnet.json"
    cmd = [sys.executable, "-m", "bot.cli", "devnet", "up", "--port", str(free_port()), "--exchange-port", "0",
           "--out", str(out), "--quiet"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until READY (or EOF if it failed)
    if not line.startswith("READY "):
        proc.kill()
        raise RuntimeError(f"devnet did not start: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    yield out, json.loads(out.read_text())
    proc.terminate()
    proc.wait(timeout=10)


def _shell(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`script` in bash, in an environment with no HEDGEBOT_* variable of the test run's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEBOT_")}
    return subprocess.run(["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


async def test_the_sourced_exports_point_hedgebot_at_the_running_devnet(
    devnet_up: tuple[Path, dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, info = devnet_up
    checked = _shell(
        f'set -e; eval "$({HEDGEBOT} devnet env --devnet {path})"; {HEDGEBOT} config check --json', tmp_path
    )
    assert checked.returncode == 0, checked.stderr
    settings = json.loads(checked.stdout)
    assert settings["mode"] == "dry-run"
    assert settings["exchange"]["id"] == "binancecoinm" and settings["exchange"]["api_url"] == info["exchange_url"]
    assert settings["chain"]["pool_addresses_provider"] == info["pool_addresses_provider"]
    assert settings["chain"]["accounts"] == [info["accounts"]["borrower"]["address"]]
    assert settings["chain"]["collateral_asset"] == "WETH"

    # The same variables, as the shell holds them, reach the devnet's chain and its exchange with its keys.
    exported = _shell(f'set -e; eval "$({HEDGEBOT} devnet env --devnet {path})"; env', tmp_path)
    for line in exported.stdout.splitlines():
        name, _, value = line.partition("=")
        if name.startswith("HEDGEBOT_"):
            monkeypatch.setenv(name, value)
    loaded = load_settings(env_file=None)
    rpc_url = loaded.chain.rpc_urls[0].get_secret_value()
    assert int(DevRpc(rpc_url).call("eth_chainId"), 16) == info["chain_id"]
    exchange = build_exchange(loaded.exchange, testnet=True)
    try:
        balance = await exchange.fetch_balance()  # a signed request: the devnet keys are right
        assert balance["BTC"]["total"] == pytest.approx(1.0)
    finally:
        await exchange.close()


def test_write_makes_a_dotenv_and_never_replaces_one_unasked(
    devnet_up: tuple[Path, dict[str, Any]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, info = devnet_up
    dotenv = tmp_path / ".env"
    assert main(["devnet", "env", "--devnet", str(path), "--write", str(dotenv)]) == 0
    written = dotenv.read_text()
    assert f"HEDGEBOT_EXCHANGE__API_URL={info['exchange_url']}\n" in written

    checked = _shell(f"{HEDGEBOT} config check --json", tmp_path)  # hedgebot reads ./.env
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["exchange"]["api_url"] == info["exchange_url"]

    capsys.readouterr()
    assert main(["devnet", "env", "--devnet", str(path), "--write", str(dotenv)]) == 2
    assert "exists: pass --force to replace it" in capsys.readouterr().err
    dotenv.write_text("HEDGEBOT_MODE=dry-run\n")
    assert main(["devnet", "env", "--devnet", str(path), "--write", str(dotenv)]) == 2
    assert dotenv.read_text() == "HEDGEBOT_MODE=dry-run\n"
    assert main(["devnet", "env", "--devnet", str(path), "--write", str(dotenv), "--force"]) == 0
    assert dotenv.read_text() == written


def test_a_missing_devnet_file_says_how_to_make_one(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devnet", "env", "--devnet", str(tmp_path / "devnet.json")]) == 2
    assert "start the devnet with `hedgebot devnet up" in capsys.readouterr().err
