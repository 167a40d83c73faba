"""The five built-in strategies, on the real May 2021 crash (ETH -60 %) and a calm stretch before it."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from bot.domain.plan import EntryStyle
from strategies import BUILTIN
from strategies.dca import Dca
from strategies.dynamic import Dynamic
from strategies.layered_stop import LayeredStop
from strategies.percentage import Percentage
from strategies.stop_hunt_scalp import StopHuntScalp
from tests.strategies.harness import Bar, bars, run

# A week of warm-up for the features, then the crash window from the shared data README.
CRASH = ("2021-05-05", "2021-05-26")
CALM = ("2020-06-20", "2020-08-01")


@pytest.fixture(scope="module")
def crash(shared_data: Path) -> list[Bar]:
    return bars(shared_data, *CRASH)


def test_all_five_are_built_in_and_only_the_scalper_is_opt_in() -> None:
    assert set(BUILTIN) == {"percentage", "dynamic", "dca", "layered-stop", "stop-hunt-scalp"}
    assert [name for name, cls in BUILTIN.items() if cls.opt_in] == ["stop-hunt-scalp"]
    caps = {name: cls.leverage_cap for name, cls in BUILTIN.items()}
    assert caps["percentage"] == 10 and caps["dynamic"] == 20 and caps["stop-hunt-scalp"] == 50


def test_percentage_hedges_a_fixed_share_with_beta(crash: list[Bar]) -> None:
    # A loss budget of all the equity: the cap on equity (tested on its own) does not bite here.
    for step in run(Percentage.from_params({"hedge_ratio": 0.5, "max_stop_loss": 1.0}), crash):
        beta = Percentage.from_params({}).beta(step.snapshot)
        assert step.plan.hedge_usd == pytest.approx(0.5 * step.snapshot.lending.collateral_usd * beta)
        assert step.plan.stop_price is not None and step.plan.stop_price > step.bar.btc
        assert step.plan.leverage == 5


def test_dynamic_stays_light_when_safe_and_hedges_as_liquidation_nears(crash: list[Bar], shared_data: Path) -> None:
    # A calm month (July 2020, ETH vol low, HF 2): little or no hedge beyond the margin's own delta.
    calm = [float(s.plan.state["ratio"] or 0.0) for s in run(Dynamic.from_params({}), bars(shared_data, *CALM), 2.0)]
    assert sum(calm) / len(calm) < 0.2
    steps = list(run(Dynamic.from_params({}), crash))
    ratios = [float(s.plan.state["ratio"] or 0.0) for s in steps]
    hfs = [s.snapshot.lending.health_factor for s in steps]
    # By the low of the crash it hedges fully.
    worst = min(range(len(hfs)), key=hfs.__getitem__)
    assert ratios[worst] >= 0.9
    # It does not churn: the ratio changes on fewer than one hourly decision in six.
    changes = sum(1 for a, b in itertools.pairwise(ratios) if a != b)
    assert changes < len(steps) // 6


def test_dynamic_cooldown_holds_the_hedge_after_a_bounce() -> None:
    strategy = Dynamic.from_params({"cooldown_minutes": 600})
    from tests.strategies.test_snapshots import snapshot_at

    risky = snapshot_at(health_factor=1.08)
    held = strategy.decide(risky)
    assert float(held.state["ratio"] or 0) > 0.5
    safer = snapshot_at(health_factor=2.5, now_ms=60 * 60_000, state=held.state)
    assert strategy.decide(safer).state["ratio"] == held.state["ratio"]  # within cooldown: keep
    later = snapshot_at(health_factor=2.5, now_ms=601 * 60_000, state=held.state)
    assert strategy.decide(later).state["ratio"] == 0.0


def test_dca_builds_in_slices(crash: list[Bar]) -> None:
    steps = list(run(Dca.from_params({"slices": 4, "interval_minutes": 240, "urgent_distance": 0.0}), crash))
    slices = [int(s.plan.state["slices_done"] or 0) for s in steps]
    assert slices[0] == 1
    assert slices[4] == 2  # 4 hourly bars later
    assert max(slices) == 4
    assert steps[0].plan.entry is EntryStyle.DCA and steps[0].plan.max_step_contracts


def test_layered_stop_arms_layers_as_the_crash_nears_liquidation(crash: list[Bar]) -> None:
    steps = list(run(LayeredStop.from_params({}), crash))
    first = steps[0].plan
    assert len(first.conditional) == 3  # all resting below the market at HF 1.5
    assert all(c.trigger_price < steps[0].bar.btc for c in first.conditional)
    armed = [sum(1 for k, v in s.plan.state.items() if k.startswith("armed_") and v is not None) for s in steps]
    assert max(armed) >= 2
    deepest = max(steps, key=lambda s: sum(1 for v in s.plan.state.values() if v is not None))
    assert len(deepest.plan.stops) >= 2  # each armed layer has its own stop
    assert deepest.plan.contracts > first.contracts


def test_stop_hunt_scalp_trades_the_break_of_a_swing_low(crash: list[Bar]) -> None:
    steps = list(run(StopHuntScalp.from_params({}), crash))
    entries = [s for s in steps if "broken" in s.plan.reason]
    exits = [s for s in steps if "target hit" in s.plan.reason or "stopped" in s.plan.reason]
    assert entries and exits
    assert all(s.plan.leverage == 20 for s in steps)  # the global cap; 50x only when both are raised
    resting = [s for s in steps if s.plan.conditional]
    assert all(s.plan.conditional[0].trigger_price < s.bar.btc for s in resting)


def test_unknown_and_bad_params_are_clear_errors() -> None:
    from bot.errors import UsageError

    with pytest.raises(UsageError, match="unknown parameter"):
        Percentage.from_params({"hedge_ration": 0.5})
    with pytest.raises(UsageError, match="hedge_ratio"):
        Percentage.from_params({"hedge_ratio": "lots"})
    with pytest.raises(UsageError, match="less than or equal to 10"):
        Percentage.from_params({"leverage": 50})
