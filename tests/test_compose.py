"""docker-compose.yml and the Dockerfile, checked without a Docker engine: files, variables and commands are real."""

from __future__ import annotations

import argparse
import re
import shlex
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
    """(service, argv) of every service that runs the image's `hedgebot` entrypoint."""
    out = []
    for name, svc in services().items():
        if "entrypoint" in svc:
            continue
        command = svc.get("command", ["run"])  # the Dockerfile's CMD
        out.append((name, shlex.split(command) if isinstance(command, str) else [str(c) for c in command]))
    return out


def test_the_services_the_operations_guide_promises() -> None:
    svc = services()
    assert {"bot", "anvil", "devnet-chain", "devnet-exchange"} <= set(svc)
    assert "profiles" not in svc["bot"] and "profiles" not in svc["anvil"]
    assert svc["devnet-chain"]["profiles"] == ["devnet"] == svc["devnet-exchange"]["profiles"]
    assert svc["bot"]["command"] == ["run"]
    assert svc["bot"]["env_file"] == ".env"
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
        for env_file in [env_files] if isinstance(env_files, str) else env_files:
            # .env is the user's own copy; the repo ships its template.
            template = REPO / (".env.example" if env_file == ".env" else env_file)
            assert template.is_file(), f"{name}: {template} is missing"
    for line in DOCKERFILE.read_text().splitlines():
        if line.startswith("COPY "):
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
