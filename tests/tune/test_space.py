"""The search space `hedgebot tune` derives from a strategy's Params, and the --param ranges checked against it."""

from __future__ import annotations

from typing import Literal

import pytest
from pydantic import Field

from bot.errors import UsageError
from bot.tune.space import derive, narrow
from strategies.base import StrategyParams


class HedgeParams(StrategyParams):
    """A strategy's parameters, stated here so the test does not move when a built-in's defaults do."""

    leverage: float = Field(10.0, gt=0, le=20)
    stop_pct: float = Field(0.12, gt=0, lt=1)
    use_beta: bool = True
    min_correlation: float = Field(0.5, ge=0, le=1)
    horizon_days: float = Field(7.0, gt=0)
    z_off: float = Field(4.0, gt=0)
    min_change: float = Field(0.05, ge=0, le=1)


class PluginParams(StrategyParams):
    """A plugin's parameters: an int, a Literal, one with no default, one unbounded at 0."""

    leverage: float = Field(5.0, gt=0, le=10)
    lookback_bars: int = Field(24, ge=2, le=200)
    mode: Literal["calm", "alert"] = "calm"
    trigger_hf: float = Field(gt=1, le=2)
    offset: float = 0.0


def test_every_parameter_is_searched_inside_its_bounds() -> None:
    space = derive(HedgeParams)
    dims = {d.name: d for d in space.dimensions}
    assert set(dims) == set(HedgeParams.model_fields)
    assert 0 < dims["leverage"].low < dims["leverage"].high == 20  # le=20 caps the default range (10 x 4)
    assert dims["stop_pct"].high < 1  # lt=1 is strict
    assert dims["horizon_days"].log and dims["horizon_days"].low == pytest.approx(7 / 4)
    assert dims["use_beta"].choices == (True, False)
    assert dims["min_correlation"].high == 1.0


def test_a_plugins_int_literal_and_required_fields_get_ranges_and_an_unbounded_zero_stays_fixed() -> None:
    space = derive(PluginParams)
    dims = {d.name: d for d in space.dimensions}
    assert (dims["lookback_bars"].kind, dims["lookback_bars"].low, dims["lookback_bars"].high) == ("int", 6, 96)
    assert dims["mode"].choices == ("calm", "alert")
    assert dims["trigger_hf"].low > 1 and dims["trigger_hf"].high == 2  # no default: its bounds
    assert space.fixed["offset"] == 0.0


def test_given_ranges_replace_derived_ones_and_only_fixes_the_rest_at_defaults() -> None:
    space = narrow(derive(HedgeParams), HedgeParams, {"leverage": "2:8", "stop_pct": "0.05:0.3:log"}, only=True)
    assert [d.describe() for d in space.dimensions] == ["2..8", "0.05..0.3 log"]
    assert space.fixed["z_off"] == 4.0 and space.fixed["use_beta"] is True
    fixed = narrow(derive(HedgeParams), HedgeParams, {"use_beta": "false"})
    assert fixed.fixed["use_beta"] is False and "use_beta" not in {d.name for d in fixed.dimensions}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"levrage": "2:8"}, "unknown parameter 'levrage'"),
        ({"leverage": "2:50"}, "the high end 50 is outside leverage's bounds (gt=0, le=20)"),
        ({"leverage": "0:5"}, "the low end 0 is outside leverage's bounds"),
        ({"stop_pct": "0.1:1"}, "outside stop_pct's bounds (gt=0, lt=1)"),
        ({"leverage": "8:2"}, "the low end 8 is not below the high end 2"),
        ({"leverage": "2:8:linear"}, "LOW:HIGH or LOW:HIGH:log"),
        ({"min_change": "0:0.5:log"}, "a log range needs a positive low end"),
        ({"use_beta": "0:1"}, "use_beta is not numeric"),
        ({"leverage": "30"}, "--param leverage=30: Input should be less than or equal to 20"),
    ],
)
def test_bad_ranges_are_refused_naming_the_parameter(given: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError) as err:
        narrow(derive(HedgeParams), HedgeParams, given)
    assert message in str(err.value)
