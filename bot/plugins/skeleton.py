"""The plugin package `hedgebot strategies new NAME` writes: a working strategy, its entry point, a test."""

from __future__ import annotations

from pathlib import Path

from bot.errors import UsageError
from strategies.base import INTERFACE_VERSION

_PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "hedgebot-{dist}"
version = "0.1.0"
description = "A hedgebot strategy plugin: {name}"
requires-python = ">=3.11"
dependencies = ["hedgebot"]

[project.entry-points."hedgebot.strategies"]
{name} = "{module}.strategy:{cls}"

[tool.setuptools]
packages = ["{module}"]
"""

_STRATEGY = '''"""{name}: a hedgebot strategy plugin. Edit decide(); keep it pure (no I/O, no clock, no logging)."""

from __future__ import annotations

from pydantic import Field

from strategies.base import HedgePlan, Snapshot, Strategy, StrategyParams


class {cls}Params(StrategyParams):
    hedge_ratio: float = Field(0.3, ge=0, le=1.5, description="share of the collateral hedged when safe")
    danger_ratio: float = Field(0.8, ge=0, le=1.5, description="share hedged when the health factor is low")
    danger_health_factor: float = Field(1.25, gt=1, description="at or below this HF, hedge danger_ratio")
    # le=10 is also the strategy's leverage cap: the risk layer holds every plan to it.
    leverage: float = Field(5.0, gt=0, le=10, description="leverage of the short (x)")


class {cls}(Strategy[{cls}Params]):
    name = "{name}"
    summary = "Hedge more when the health factor is low."
    risk_class = "low-medium"
    interface_version = {interface}  # the strategy interface this was written for
    Params = {cls}Params

    def decide(self, snapshot: Snapshot) -> HedgePlan:
        p = self.params
        in_danger = snapshot.lending.health_factor <= p.danger_health_factor
        ratio = p.danger_ratio if in_danger else p.hedge_ratio
        hedge_usd = ratio * self.exposure_usd(snapshot)  # the account's beta-weighted net delta
        return self.plan(snapshot, hedge_usd, reason=f"HF {{snapshot.lending.health_factor:.2f}} -> {{ratio:.0%}}")
'''

_TEST = '''"""Tests of the {name} plugin: run with pytest after `pip install -e .`."""

from bot.venues.ccxt.registry import builtin_instrument
from bot.domain.snapshot import HedgeView, LendingView, Snapshot
from bot.plugins.loader import available
from {module}.strategy import {cls}


def snapshot(health_factor: float) -> Snapshot:
    """10,000 USD of ETH at 3,000 with the debt that gives `health_factor`; BTC at 60,000; no hedge yet."""
    amount = 10_000 / 3_000
    debt = 10_000 * 0.825 / health_factor
    return Snapshot(
        now_ms=0,
        btc_price=60_000.0,
        lending=LendingView(
            collateral_asset="ETH",
            collateral_amount=amount,
            collateral_price_usd=3_000.0,
            total_collateral_usd=10_000.0,
            debt_usd=debt,
            health_factor=health_factor,
            liquidation_price_usd=debt / (amount * 0.825),
            liquidation_threshold=0.825,
        ),
        hedge=HedgeView(contracts=0, entry_price=0.0, equity_btc=0.0),
        instrument=builtin_instrument("binancecoinm"),
    )


def test_hedges_more_in_danger() -> None:
    strategy = {cls}.from_params({{}})
    assert strategy.decide(snapshot(1.2)).contracts > strategy.decide(snapshot(2.0)).contracts


def test_registered_by_entry_point() -> None:
    assert available()["{name}"] is {cls}
'''


def write_skeleton(name: str, parent: Path) -> Path:
    """Create `parent/hedgebot-NAME/` with a strategy, its entry point and a test; returns the folder."""
    module = "hedgebot_" + name.replace("-", "_")
    cls = "".join(part.capitalize() for part in name.split("-"))
    folder = parent / f"hedgebot-{name}"
    if folder.exists():
        raise UsageError(f"{folder} already exists; choose another name or --dir")
    (folder / module).mkdir(parents=True)
    (folder / "tests").mkdir()
    fields = {"name": name, "module": module, "cls": cls, "dist": name, "interface": INTERFACE_VERSION}
    (folder / "pyproject.toml").write_text(_PYPROJECT.format(**fields))
    (folder / module / "__init__.py").write_text("")
    (folder / module / "strategy.py").write_text(_STRATEGY.format(**fields))
    (folder / "tests" / f"test_{module}.py").write_text(_TEST.format(**fields))
    (folder / "README.md").write_text(
        f"# hedgebot-{name}\n\nA hedgebot strategy plugin.\n\n"
        f"    pip install -e .\n    hedgebot strategies list   # shows {name}\n"
        f"    hedgebot plan ... --strategy {name}\n    pytest tests\n"
    )
    return folder
