"""Plugins written against the old (0.1) import paths still load, with a warning naming the new path."""

from __future__ import annotations

import importlib
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from bot.compat import MOVED, MOVED_NAMES


@pytest.mark.parametrize(("old", "new"), sorted(MOVED.items()))
def test_an_old_path_is_the_module_at_its_new_home(old: str, new: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        module = importlib.import_module(old)
    assert module is importlib.import_module(new)


@pytest.mark.parametrize(("old", "name", "new"), sorted((old, name, new) for (old, name), new in MOVED_NAMES.items()))
def test_a_name_moved_out_of_a_module_is_still_importable_from_it(old: str, name: str, new: str) -> None:
    with pytest.warns(DeprecationWarning, match=f"{old}.{name} moved to {new}".replace(".", r"\.")):
        value = getattr(importlib.import_module(old), name)
    assert value is getattr(importlib.import_module(new), name)
    assert not hasattr(importlib.import_module(old), "never_was_here")  # other names still fail as ever


def test_a_plugin_file_with_old_imports_loads_and_decides(tmp_path: Path) -> None:
    plugin = tmp_path / "old_plugin.py"
    plugin.write_text(
        textwrap.dedent(
            """
            from bot.domain.health import liquidation_price  # 0.1 path
            from bot.domain.features import MarketFeatures  # 0.1 module, now a package
            from bot.venues.base import Side  # 0.1 home of the order types
            from strategies.base import HedgePlan, Snapshot, Strategy, StrategyParams


            class Old(Strategy[StrategyParams]):
                name = "old-paths"
                summary = "written against hedgebot 0.1"
                risk_class = "low"
                leverage_cap = 5.0
                Params = StrategyParams

                def decide(self, snapshot: Snapshot) -> HedgePlan:
                    assert Side.SELL == "sell" and MarketFeatures and liquidation_price
                    return self.plan(snapshot, 0.0, reason="old paths load")
            """
        )
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "plan",
            "--strategy",
            f"{plugin}:Old",
            "--collateral-amount",
            "10",
            "--collateral-price",
            "3000",
            "--debt-usd",
            "16600",
            "--liquidation-threshold",
            "0.83",
            "--btc-price",
            "60000",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "old paths load" in out.stdout
