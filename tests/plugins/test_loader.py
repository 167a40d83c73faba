"""Plugins: a generated skeleton installed with pip shows up by entry point; module:Class and file paths load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import TypedDict

import pytest

from bot.domain.snapshot import HedgeView
from bot.errors import UsageError
from bot.plugins import loader as plugins
from strategies.base import HedgePlan, Snapshot, Strategy
from strategies.dynamic import DynamicParams
from strategies.percentage import Percentage
from tests.strategies.test_snapshots import snapshot_at


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
    assert (ratio["type"], ratio["default"]) == ("float", 0.25)  # walk-forward (benchmarks/walk_forward.py)
    assert described["stop-hunt-scalp"]["opt_in"] is True
    assert described["dynamic"]["state"] == {
        "ratio": "float",
        "changed_ms": "int",
        # Strategy.plan's capital-preservation keys (strategies.base.CapitalState).
        "held_short": "int",
        "planned_short": "int",
        "stopped_ms": "int | None",
        "stopped_at": "float | None",
    }
    assert described["dynamic"]["interface_version"] == 3
    table = run(sys.executable, "-m", "bot.cli", "strategies", "list")
    assert "layered-stop" in table.stdout and "leverage cap=50x" in table.stdout


def _readme_example() -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    after = readme.split("The generated `strategy.py` is a working example:", 1)[1]
    return after.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_example_runs_as_printed(tmp_path: Path) -> None:
    path = tmp_path / "my_hedge.py"
    path.write_text(_readme_example())
    cls = plugins.resolve(str(path))
    assert (cls.name, cls.leverage_cap, cls.interface_version) == ("my-hedge", 10.0, 2)
    # 1 BTC of margin: enough equity that sizing on it (Strategy.plan's capital rule) leaves both hedges whole.
    funded = HedgeView(contracts=0, entry_price=60_000.0, equity_btc=1.0)
    safe = cls.from_params({}).decide(replace(snapshot_at(2.0), hedge=funded))
    danger = cls.from_params({}).decide(replace(snapshot_at(1.2), hedge=funded))
    assert danger.contracts > safe.contracts > 0 and "HF 1.20" in danger.reason
    # With the 0.3 BTC of the standard snapshot, the danger hedge is cut to what a stop-out may cost.
    thin = cls.from_params({}).decide(snapshot_at(1.2))
    assert thin.contracts < danger.contracts and "sized on equity" in thin.reason


def _plugin(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "plugin.py"
    path.write_text(
        "from pydantic import Field\n"
        "from strategies.base import Strategy, StrategyParams\n"
        "class Capped(StrategyParams):\n"
        "    leverage: float = Field(3.0, gt=0, le=8)\n"
        "class Mine(Strategy[Capped]):\n"
        "    name = 'mine'\n    summary = 's'\n    risk_class = 'low'\n" + body + "\n"
        "    def decide(self, snapshot):\n        return self.plan(snapshot, 0.0, reason='flat')\n"
    )
    return path


def test_the_leverage_cap_is_the_bound_of_the_leverage_parameter_unless_stated(tmp_path: Path) -> None:
    assert plugins.resolve(str(_plugin(tmp_path, "    Params = Capped"))).leverage_cap == 8.0
    stated = plugins.resolve(str(_plugin(tmp_path, "    Params = Capped\n    leverage_cap = 5.0")))
    assert stated.leverage_cap == 5.0  # plugins written before the cap was derived keep theirs
    with pytest.raises(UsageError, match=r"strategy 'mine' has no leverage cap: bound its Params\.leverage"):
        plugins.resolve(str(_plugin(tmp_path, "    Params = StrategyParams")))


def test_a_plugin_written_for_a_newer_interface_is_refused_by_name(tmp_path: Path) -> None:
    assert plugins.resolve(str(_plugin(tmp_path, "    Params = Capped\n    interface_version = 1"))).name == "mine"
    newer = _plugin(tmp_path, "    Params = Capped\n    interface_version = 4")
    with pytest.raises(UsageError, match=r"plugin.py: strategy 'mine' is written for strategy interface 4, .* up to 3"):
        plugins.resolve(str(newer))


def test_a_state_is_a_typed_dict_of_plain_values() -> None:
    class Remembered(TypedDict, total=False):
        level: float | None

    class Remembers(Strategy[DynamicParams]):
        name, summary, risk_class = "remembers", "s", "low"
        Params = DynamicParams
        State = Remembered

        def decide(self, snapshot: Snapshot) -> HedgePlan:
            level = snapshot.state_as(Remembered).get("level")
            return self.plan(snapshot, 0.0, reason=f"level {level}", state=Remembered(level=1.0))

    plan = Remembers.from_params({}).decide(snapshot_at(1.5, state={"level": 2.0}))
    assert plan.reason == "level 2.0" and plan.state["level"] == 1.0
    assert set(plan.state) == {"level", "held_short", "planned_short", "stopped_ms", "stopped_at"}
    assert Remembers.describe()["state"] == {"level": "float | None"}

    class Nested(TypedDict):
        levels: list[float]

    with pytest.raises(TypeError, match=r"State\['levels'\] is list\[float\]: state is journaled as JSON"):
        type("Bad", (Strategy,), {"Params": DynamicParams, "State": Nested})
    with pytest.raises(TypeError, match="must be a TypedDict"):
        type("Bad", (Strategy,), {"Params": DynamicParams, "State": dict})
