"""The devnet profile's own commands and health checks, run as processes on this machine.

No container engine can run the images here (no registry but PyPI, npm and Debian's: the base images cannot
be pulled), so this is the closest test of `docker compose --profile devnet up bot-devnet`: the services'
scripts and health checks, exactly as the real Compose v2 resolves them (`config --format json`), with
/data, the service names and the ports mapped to a temporary folder, 127.0.0.1 and free ports. The chain,
then the exchange, must turn healthy; then the devnet bot starts, turns healthy and watches the demo
borrower in testnet mode against them; a kill leaves it holding (no restart loop) and clearing the kill
makes it exit 0.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.devnet.chain.anvil import free_port
from tests.test_compose import compose_config

pytestmark = pytest.mark.integration
BIN = Path(sys.executable).parent


class Stack:
    """The resolved devnet services, mapped onto this machine."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self.ports = {"devnet-chain:8545": free_port(), "devnet-exchange:8081": free_port(), "bot:8780": free_port()}
        doc = json.loads(compose_config("--profile", "devnet", "config", "--format", "json"))
        self.services: dict[str, Any] = doc["services"]
        self.procs: list[subprocess.Popen[str]] = []

    def local(self, text: str) -> str:
        chain, exchange, bot = (self.ports[k] for k in ("devnet-chain:8545", "devnet-exchange:8081", "bot:8780"))
        for old, new in (
            ("$$", "$"),  # compose's escape for a literal $ in the file
            ("/data", str(self.data)),
            ("devnet-chain:8545", f"127.0.0.1:{chain}"),
            ("devnet-exchange:8081", f"127.0.0.1:{exchange}"),
            ("127.0.0.1:8545", f"127.0.0.1:{chain}"),
            ("127.0.0.1:8081", f"127.0.0.1:{exchange}"),
            ("--port 8545", f"--port {chain}"),
            ("--port 8081", f"--port {exchange}"),
            ('"--port", "8081"', f'"--port", "{exchange}"'),
            ("0.0.0.0", "127.0.0.1"),
        ):
            text = text.replace(old, new)
        return text.replace('"8780"', f'"{bot}"')

    def env(self, name: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEBOT_")}
        env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
        for key, value in (self.services[name].get("environment") or {}).items():
            env[key] = self.local(json.dumps(str(value)))[1:-1]
        return env

    def argv(self, name: str) -> list[str]:
        service = self.services[name]
        command: list[str] = json.loads(self.local(json.dumps(service["command"])))
        if service.get("entrypoint"):
            return [*service["entrypoint"], *command]
        return [str(BIN / "hedgebot"), *command]

    def start(self, name: str) -> subprocess.Popen[str]:
        log = (self.data / f"{name}.log").open("w")
        proc = subprocess.Popen(self.argv(name), cwd=self.data, env=self.env(name), stdout=log, stderr=log, text=True)
        self.procs.append(proc)
        return proc

    def healthy(self, name: str) -> bool:
        test: list[str] = json.loads(self.local(json.dumps(self.services[name]["healthcheck"]["test"])))
        argv = ["/bin/sh", "-c", test[1]] if test[0] == "CMD-SHELL" else test[1:]
        if argv[0] == "hedgebot":
            argv[0] = str(BIN / "hedgebot")
        done = subprocess.run(argv, env=self.env(name), cwd=self.data, capture_output=True, timeout=30)
        return done.returncode == 0

    def wait_healthy(self, name: str, timeout_s: float) -> None:
        """Run the service's health check as Docker does, at an interval, until it passes."""
        deadline = time.monotonic() + timeout_s
        while not self.healthy(name):
            for proc in self.procs:
                assert proc.poll() is None, f"a service exited: {self.logs()}"
            assert time.monotonic() < deadline, f"{name} never turned healthy: {self.logs()}"
            time.sleep(1.0)  # Docker's health-check interval: the check is the event here

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.data.glob("*.log")))

    def hedgebot(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BIN / "hedgebot"), *args], env=self.env("bot-devnet"), cwd=self.data, capture_output=True, text=True
        )

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = Stack(tmp_path)
    yield running
    running.stop()


def test_the_devnet_profile_runs_turns_healthy_and_holds_when_killed(stack: Stack) -> None:
    stack.start("devnet-chain")
    stack.start("devnet-exchange")
    stack.wait_healthy("devnet-exchange", 60)
    stack.wait_healthy("devnet-chain", 240)  # `depends_on: condition: service_healthy`, both
    bot = stack.start("bot-devnet")
    stack.wait_healthy("bot-devnet", 120)

    status = stack.hedgebot("status", "--live", "--json")
    assert status.returncode == 0, status.stderr
    doc = json.loads(status.stdout)
    assert doc["mode"] == "testnet" and doc["source"] == "http"
    assert doc["position"] is not None and doc["position"]["collateral_asset"] == "WETH"

    killed = stack.hedgebot("kill", "--reason", "compose test")
    assert killed.returncode == 0, killed.stderr
    deadline = time.monotonic() + 60
    while "holding (--hold)" not in (stack.data / "bot-devnet.log").read_text():
        assert bot.poll() is None, stack.logs()  # up, not exited: nothing for the restart policy to loop on
        assert time.monotonic() < deadline, stack.logs()
        time.sleep(0.5)  # reading another process's log: no event to wait on
    assert not stack.healthy("bot-devnet")  # held: its endpoint is down, and `docker compose ps` says so
    cleared = stack.hedgebot("kill", "--clear", "--db", str(stack.data / "bot-devnet.sqlite"))
    assert cleared.returncode == 0, cleared.stderr
    assert bot.wait(timeout=60) == 0, stack.logs()  # exit 0: the restart policy starts a bot that trades
    assert shlex.join(stack.argv("bot-devnet")).endswith("exec hedgebot run --mode testnet --hold'")
