"""Wake-ups (strategy interface 3): a strategy may say when it next needs to decide, and the replay then skips
to the next bar where anything can change. Where the declared wake-up is exact the results are identical to
deciding on every bar: orders, fills, PnL, liquidations, every per-bar series."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import pytest

from bot.backtest.data import SHARED_DATA_DIR, load_funding, parse_time_ms, shared_minutes
from bot.backtest.hedger import run_hedged
from bot.backtest.types import LendingSetup, ReplaySettings
from bot.config import load_settings
from bot.domain.plan import HedgePlan, WakeUp, plan_problem
from bot.plugins import loader as plugins
from bot.runtime.config import EngineConfig
from bot.venues.ccxt.registry import builtin_instrument

pytestmark = pytest.mark.skipif(not SHARED_DATA_DIR.is_dir(), reason="needs the shared market data")


def bot_settings(**changes: Any) -> ReplaySettings:
    """The replay with the bot's own defaults, as `hedgebot backtest` builds it."""
    c = EngineConfig.from_settings(load_settings(None))
    return replace(
        ReplaySettings(risk=c.risk, reconcile=c.reconcile, change=c.change, triggers=c.triggers, guard=c.guard),
        **changes,
    )


def both_ways(start: str, end: str, strategy: str, setup: LendingSetup, settings: ReplaySettings) -> list[Any]:
    bars, _, _ = shared_minutes(parse_time_ms(start), parse_time_ms(end))
    funding = load_funding(SHARED_DATA_DIR / "binance_BTCUSDT_perp_funding_8h.csv")
    instrument = builtin_instrument("binancecoinm")
    return [
        run_hedged(bars, 0, 0, setup, plugins.load(strategy), instrument, funding, replace(settings, wake_ups=w))
        for w in (True, False)
    ]


def assert_same_results(skipping: Any, every_bar: Any) -> None:
    (p1, s1, series1, fills1), (p2, s2, series2, fills2) = skipping, every_bar
    assert p1 == p2  # liquidations, penalty, min HF, drawdown, final equity
    assert {**s1.as_dict(), "decisions": 0} == {**s2.as_dict(), "decisions": 0}  # orders, PnL, fees, funding
    # Client ids carry the decision's sequence number (one per journaled decision): everything else is equal.
    assert [(f.side, f.contracts, f.price, f.fee_btc, f.timestamp_ms) for f in fills1] == [
        (f.side, f.contracts, f.price, f.fee_btc, f.timestamp_ms) for f in fills2
    ]
    for name in series1.__dataclass_fields__:
        assert getattr(series1, name) == getattr(series2, name), name


@pytest.mark.parametrize(
    ("strategy", "start", "end", "health_factor", "share"),
    [
        # hourly bars expanded: calm, unhedged, the stop trails: most bars skipped
        ("dynamic", "2021-07-20", "2021-08-05", 3.0, 1 / 3),
        ("dynamic", "2022-01-10", "2022-01-25", 3.0, 1 / 3),  # 5m bars: a fall, funding and the trailing stop
        # the 1m file, the May 2021 crash: hedged throughout, its plan follows the collateral and beta, so
        # every bar is decided
        ("dynamic", "2021-05-12", "2021-05-20", 2.0, 1.0),
        # the scalp rests under the swing low (skipped until that moves), then trades often
        ("stop-hunt-scalp", "2021-07-20", "2021-07-27", 3.0, 0.6),
    ],
)
def test_wake_ups_give_the_results_of_deciding_on_every_bar(
    strategy: str, start: str, end: str, health_factor: float, share: float
) -> None:
    setup = LendingSetup(start_health_factor=health_factor)
    skipping, every_bar = both_ways(start, end, strategy, setup, bot_settings())
    assert_same_results(skipping, every_bar)
    assert len(skipping[3]) > 2  # it traded
    assert skipping[1].decisions <= share * every_bar[1].decisions


def test_with_the_guardian_and_no_change_band_too() -> None:
    setup = LendingSetup(start_health_factor=1.6, reserve_usd=20_000.0)
    skipping, every_bar = both_ways("2021-05-15", "2021-05-25", "dynamic", setup, ReplaySettings())
    assert_same_results(skipping, every_bar)
    assert skipping[1].defense_txs > 0


def test_a_strategy_without_wake_ups_decides_on_every_bar() -> None:
    skipping, every_bar = both_ways("2022-01-10", "2022-01-12", "percentage", LendingSetup(), bot_settings())
    assert_same_results(skipping, every_bar)
    assert skipping[1].decisions == every_bar[1].decisions == 2 * 1440 + 1


def test_a_wake_up_with_a_nan_bound_is_a_plan_problem() -> None:
    plan = HedgePlan(hedge_usd=0.0, contracts=0, leverage=5.0, wake=WakeUp(btc_below=math.nan))
    assert plan_problem(plan) == "returned a wake-up with btc_below=nan"
    assert plan_problem(plan.with_(wake="soon")) == "returned a wake-up of type str, not a WakeUp"
    # The wake-up is not part of the plan's identity: a plan that differs only in it is the same plan.
    assert plan.with_(wake=WakeUp(at_ms=1.0)) == plan.with_(wake=None)
