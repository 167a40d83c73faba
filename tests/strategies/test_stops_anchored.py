"""C2/C7: a protective stop belongs to the position. A rising mark never raises it; a falling one lowers it.

Before, `Strategy.plan` put the stop at mark x (1 + stop_pct) on every decision: a mark going from 36,369 to
41,788 walked the stop from 40,733 to 46,803, away from the price and past the short's liquidation price.
"""

from __future__ import annotations

import pytest

from bot.domain.lending import health
from bot.domain.plan import HedgePlan
from bot.domain.snapshot import EMPTY_STATE, HedgeView, LendingView, Snapshot, StrategyState
from bot.plugins import loader as plugins
from bot.venues.ccxt.registry import builtin_instrument

BINANCE = builtin_instrument("binancecoinm")


def snapshot(
    btc: float, short: int, stop: float | None, health_factor: float = 1.2, state: StrategyState = EMPTY_STATE
) -> Snapshot:
    eth = 2_300.0
    amount = 10.0
    debt = amount * eth * 0.83 / health_factor
    leg = health.CollateralLeg("ETH", amount, eth, 0.83)
    return Snapshot(
        now_ms=0,
        btc_price=btc,
        lending=LendingView(
            collateral_asset="ETH",
            collateral_amount=amount,
            collateral_price_usd=eth,
            total_collateral_usd=leg.value_usd,
            debt_usd=debt,
            health_factor=health.health_factor([leg], debt),
            liquidation_price_usd=health.liquidation_price([leg], debt, "ETH"),
            liquidation_threshold=0.83,
        ),
        hedge=HedgeView(contracts=-short, entry_price=60_000.0 if short else 0.0, equity_btc=0.1, stop_price=stop),
        instrument=BINANCE,
        state=state,
    )


def highest_stop(plan: HedgePlan) -> float:
    return max(t.price for t in plan.stops)


@pytest.mark.parametrize("name", ["dynamic", "percentage", "dca"])
def test_a_rising_mark_never_raises_the_stop(name: str) -> None:
    strategy = plugins.load(name, {})
    first = strategy.decide(snapshot(60_000.0, 0, None))
    stop = highest_stop(first)
    # stop_pct, or nearer where the short's liquidation price at the strategy's leverage is nearer.
    distance = strategy.stop_distance(snapshot(60_000.0, 0, None))
    assert distance == pytest.approx(min(strategy.params.stop_pct, strategy.stop_room(snapshot(60_000.0, 0, None))))
    assert stop == pytest.approx(60_000.0 * (1 + distance))
    state = first.state
    for btc in range(60_500, int(stop), 500):  # up to the stop itself, never past it
        plan = strategy.decide(snapshot(float(btc), first.contracts, stop, state=state))
        assert highest_stop(plan) == stop, btc
        state = plan.state


@pytest.mark.parametrize("name", ["dynamic", "percentage", "dca"])
def test_a_falling_mark_lowers_the_stop(name: str) -> None:
    strategy = plugins.load(name, {})
    held = snapshot(50_000.0, 230, 67_200.0)
    plan = strategy.decide(held)
    assert highest_stop(plan) == pytest.approx(50_000.0 * (1 + strategy.stop_distance(held)))


def test_layered_stop_base_stop_is_lowered_only() -> None:
    strategy = plugins.load("layered-stop", {})
    first = strategy.decide(snapshot(60_000.0, 0, None, health_factor=2.0))  # far from liquidation: base only
    base = first.stops[0].price
    distance = strategy.stop_distance(snapshot(60_000.0, 0, None))  # 8x: inside its liquidation price
    assert distance < strategy.params.stop_pct
    assert base == pytest.approx(60_000.0 * (1 + distance))
    higher = strategy.decide(snapshot(65_000.0, first.contracts, base, health_factor=2.0, state=first.state))
    assert higher.stops[0].price == pytest.approx(base)
    lower = strategy.decide(snapshot(50_000.0, first.contracts, base, health_factor=2.0, state=higher.state))
    assert lower.stops[0].price == pytest.approx(50_000.0 * (1 + distance))


def test_layered_stop_rearms_a_layer_armed_in_a_spike_from_the_current_price() -> None:
    """C7: layers armed at a spike kept their stops there: 56 % above the mark once prices returned."""
    strategy = plugins.load("layered-stop", {})
    spike = strategy.decide(snapshot(90_000.0, 0, None, health_factor=1.1))  # collateral under two layer triggers
    armed = [t for t in spike.stops if t.label.startswith("layer")]
    assert armed and all(t.price == pytest.approx(90_000.0 * 1.04) for t in armed)
    back = strategy.decide(snapshot(60_000.0, spike.contracts, 62_000.0, health_factor=1.1, state=spike.state))
    layers = [t for t in back.stops if t.label.startswith("layer")]
    assert len(layers) == len(armed)
    assert all(t.price == pytest.approx(60_000.0 * 1.04) for t in layers)
