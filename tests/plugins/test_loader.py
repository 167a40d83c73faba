"""Plugins: a generated skeleton installed with pip shows up by entry point; module:Class and file paths load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.errors import UsageError
from bot.plugins import loader as plugins
from strategies.percentage import Percentage


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=300, env=env, cwd=cwd)


@pytest.mark.integration
def test_new_skeleton_installs_with_pip_and_is_listed(tmp_path: Path) -> None:
    made = run(sys.executable, "-m", "bot.cli", "strategies", "new", "hf-guard", "--dir", str(tmp_path))
    assert made.returncode == 0, made.stderr
    package = tmp_path / "hedgebot-hf-guard"
    assert (package / "pyproject.toml").is_file()
    # Install into a separate target folder so the project's venv stays clean; entry points are found
    # through sys.path exactly as for a normal install.
    target = tmp_path / "site"
    installed = run(
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--target",
        str(target),
        str(package),
    )
    assert installed.returncode == 0, installed.stderr
    env = {**os.environ, "PYTHONPATH": str(target)}
    listed = run(sys.executable, "-m", "bot.cli", "strategies", "list", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    names = [s["name"] for s in json.loads(listed.stdout)]
    assert "hf-guard" in names and "dynamic" in names
    # The skeleton's own test passes against the installed plugin.
    tested = run(
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests"), env=env, cwd=tmp_path
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    # And the calculator uses it by name.
    plan = run(
        sys.executable,
        "-m",
        "bot.cli",
        "plan",
        "--collateral-amount",
        "10",
        "--collateral-price",
        "3000",
        "--debt-usd",
        "20000",
        "--liquidation-threshold",
        "0.825",
        "--btc-price",
        "60000",
        "--strategy",
        "hf-guard",
        "--json",
        env=env,
    )
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["strategy"] == "hf-guard"


def test_new_refuses_bad_or_taken_names(tmp_path: Path) -> None:
    bad = run(sys.executable, "-m", "bot.cli", "strategies", "new", "Bad Name", "--dir", str(tmp_path))
    assert bad.returncode == 2 and "lowercase" in bad.stderr
    taken = run(sys.executable, "-m", "bot.cli", "strategies", "new", "dynamic", "--dir", str(tmp_path))
    assert taken.returncode == 2 and "already exists" in taken.stderr


def test_load_by_module_and_class() -> None:
    assert plugins.resolve("strategies.percentage:Percentage") is Percentage
    with pytest.raises(UsageError, match="cannot import"):
        plugins.resolve("no_such_module:Thing")
    with pytest.raises(UsageError, match="not a concrete hedgebot Strategy"):
        plugins.resolve("bot.config:Settings")


def test_load_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.py"
    path.write_text(
        "from strategies.base import Strategy, StrategyParams\n"
        "class Flat(Strategy[StrategyParams]):\n"
        "    name = 'flat'\n    summary = 'no hedge'\n    risk_class = 'none'\n    leverage_cap = 1.0\n"
        "    Params = StrategyParams\n"
        "    def decide(self, snapshot):\n        return self.plan(snapshot, 0.0, reason='flat')\n"
    )
    cls = plugins.resolve(str(path))
    assert cls.name == "flat"
    assert plugins.resolve(f"{path}:Flat") is not None
    with pytest.raises(UsageError, match="does not exist"):
        plugins.resolve(str(tmp_path / "nope.py"))


def test_strategies_list_shows_params_types_defaults_and_caps() -> None:
    listed = run(sys.executable, "-m", "bot.cli", "strategies", "list", "--json")
    described = {s["name"]: s for s in json.loads(listed.stdout)}
    assert described["percentage"]["leverage_cap"] == 10
    ratio = next(p for p in described["percentage"]["params"] if p["name"] == "hedge_ratio")
    assert (ratio["type"], ratio["default"]) == ("float", 0.5)
    assert described["stop-hunt-scalp"]["opt_in"] is True
    table = run(sys.executable, "-m", "bot.cli", "strategies", "list")
    assert "layered-stop" in table.stdout and "leverage cap=50x" in table.stdout
