"""Values built by the fast positional constructors are ordinary frozen instances."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import pytest

from bot.domain.fast_init import positional_constructor
from bot.domain.features.tracker import NEUTRAL_FEATURES
from bot.domain.plan import EntryStyle, HedgePlan, StopTranche, make_plan, make_stop_tranche
from bot.domain.snapshot import (
    EMPTY_STATE,
    HedgeView,
    LendingView,
    Snapshot,
    make_hedge_view,
    make_lending_view,
    make_snapshot,
)
from bot.venues.ccxt.registry import builtin_instrument


def test_a_fast_plan_equals_the_one_the_constructor_builds_and_stays_frozen() -> None:
    fast = make_plan(
        5_000.0,
        80,
        10.0,
        (make_stop_tranche(67_200.0, 80, "main"),),
        EntryStyle.MARKET,
        0.0,
        None,
        (),
        "z",
        EMPTY_STATE,
    )
    slow = HedgePlan(hedge_usd=5_000.0, contracts=80, leverage=10.0, stops=(StopTranche(67_200.0, 80),), reason="z")
    assert fast == slow and type(fast) is HedgePlan and repr(fast) == repr(slow)
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.contracts = 1  # type: ignore[misc]
    assert fast.with_(contracts=40).contracts == 40 and fast.stop_price == 67_200.0


def test_a_fast_snapshot_equals_the_one_the_constructor_builds() -> None:
    instrument = builtin_instrument("binancecoinm")
    view = make_lending_view("ETH", 30.0, 2_000.0, 60_000.0, 30_000.0, 1.65, 1_212.0, 0.825)
    hedge = make_hedge_view(-50, 60_000.0, 0.3, None)
    fast = make_snapshot(1, 60_000.0, view, hedge, instrument, 0.0001, NEUTRAL_FEATURES, EMPTY_STATE)
    slow = Snapshot(
        1,
        60_000.0,
        LendingView("ETH", 30.0, 2_000.0, 60_000.0, 30_000.0, 1.65, 1_212.0, 0.825),
        HedgeView(-50, 60_000.0, 0.3),
        instrument,
    )
    assert fast == slow and hash(fast.hedge) == hash(slow.hedge)
    assert fast.lending.collateral_usd == 60_000.0 and fast.hedge.short_contracts == 50
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.btc_price = 1.0  # type: ignore[misc]


def test_only_frozen_slots_dataclasses_get_one() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(slots=True)
    class NotFrozen:
        a: int

    for cls in (NoSlots, NotFrozen, int):
        with pytest.raises(TypeError):
            positional_constructor(cls)
