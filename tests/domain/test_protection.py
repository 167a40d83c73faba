"""B1/B3: whatever a strategy asks, the plan the risk layer lets through protects the short with a stop strictly
between the mark and the short's own liquidation price, as the paper exchange computes it, in either margin mode.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.domain.lending import health
from bot.domain.orders import OrderRequest, OrderType, Side
from bot.domain.plan import HedgePlan, StopTranche
from bot.domain.protection import held_short
from bot.domain.risk import RiskLimits, apply_limits
from bot.domain.snapshot import HedgeView, LendingView, Snapshot
from bot.paper import EngineSettings, PaperEngine
from bot.paper.errors import PaperRejected
from bot.plugins import loader as plugins
from bot.runtime.views import hedge_view
from bot.venues.ccxt.registry import builtin_instrument

BINANCE = builtin_instrument("binancecoinm")
BUILT_IN = ["dynamic", "layered-stop", "percentage", "dca", "stop-hunt-scalp"]


def lending(btc_price: float, health_factor: float, collateral_usd: float = 23_000.0) -> LendingView:
    eth = btc_price / 26.0
    amount = collateral_usd / eth
    debt = collateral_usd * 0.83 / health_factor
    leg = health.CollateralLeg("ETH", amount, eth, 0.83)
    return LendingView(
        collateral_asset="ETH",
        collateral_amount=amount,
        collateral_price_usd=eth,
        total_collateral_usd=leg.value_usd,
        debt_usd=debt,
        health_factor=health.health_factor([leg], debt),
        liquidation_price_usd=health.liquidation_price([leg], debt, "ETH"),
        liquidation_threshold=0.83,
    )


def exchange(mode: str, wallet_btc: float, leverage: float) -> PaperEngine:
    settings = EngineSettings(slippage_bps=0.0, spread_bps=0.0, leverage=leverage, margin_mode=mode)  # type: ignore[arg-type]
    return PaperEngine(BINANCE, settings, wallet_btc=wallet_btc)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(
    strategy=st.sampled_from(BUILT_IN),
    mode=st.sampled_from(["isolated", "cross"]),
    price=st.floats(5_000, 200_000),
    entry_move=st.floats(-0.3, 0.08),  # where the held short was opened, relative to the mark now
    held=st.integers(0, 400),
    held_leverage=st.sampled_from([2.0, 5.0, 10.0, 20.0]),
    leverage=st.floats(1.0, 50.0),
    wallet_btc=st.floats(0.01, 3.0),
    health_factor=st.floats(1.02, 3.0),
    withdrawn=st.floats(0.0, 0.95),  # share of the free margin taken out (the replay's rescue repays debt with it)
)
def test_every_builtin_plan_keeps_its_stops_inside_the_liquidation_price(
    strategy: str,
    mode: str,
    price: float,
    entry_move: float,
    held: int,
    held_leverage: float,
    leverage: float,
    wallet_btc: float,
    health_factor: float,
    withdrawn: float,
) -> None:
    engine = exchange(mode, wallet_btc, held_leverage)
    entry = price * (1 + entry_move)
    engine.move(entry)
    if held:
        try:
            engine.submit(OrderRequest("held", Side.SELL, OrderType.MARKET, held))
        except PaperRejected:
            assume(False)
    engine.move(price)  # a rise this far may have liquidated it: then the account is flat
    if withdrawn > 0.01 and engine.available_btc() > 1e-6:
        engine.withdraw(engine.available_btc() * withdrawn)
    account = engine.account()
    snap = Snapshot(
        now_ms=0, btc_price=price, lending=lending(price, health_factor), hedge=hedge_view(account), instrument=BINANCE
    )
    instance = plugins.load(strategy, {"leverage": min(leverage, 50.0 if strategy == "stop-hunt-scalp" else 8.0)})
    limits = RiskLimits(margin_mode=mode, max_notional_usd=1e9)  # type: ignore[arg-type]
    plan = apply_limits(instance.decide(snap), snap, limits, instance.leverage_cap).plan
    assert_protected(engine, plan, price)


def assert_protected(engine: PaperEngine, plan: HedgePlan, price: float) -> None:
    """Trade the paper account to `plan` at `price`; each stop is strictly between the mark and its liquidation."""
    engine.configure(plan.leverage, engine.margin_mode)
    delta = plan.contracts + engine.contracts
    if delta:
        side = Side.SELL if delta > 0 else Side.BUY
        try:
            engine.submit(OrderRequest("to-plan", side, OrderType.MARKET, abs(delta), reduce_only=delta < 0))
        except PaperRejected:
            assume(False)  # margin the risk layer could not see (isolated margin already in use)
    assert engine.contracts == -plan.contracts
    assert plan.stopped_contracts == plan.contracts
    liq = engine.liquidation_price() if plan.contracts else math.inf
    for tranche in plan.stops:
        assert price < tranche.price < liq, (tranche, liq, plan.reason)
        assert BINANCE.round_price(tranche.price) < liq  # and still once the venue rounds it to its tick


@pytest.mark.parametrize("mode", ["isolated", "cross"])
@pytest.mark.parametrize("leverage", [2.0, 10.0, 20.0, 75.0, 125.0])
def test_a_stop_beyond_liquidation_is_repaired_and_says_why(mode: str, leverage: float) -> None:
    price = 60_000.0
    snap = Snapshot(
        now_ms=0,
        btc_price=price,
        lending=lending(price, 1.2),
        hedge=HedgeView(contracts=0, entry_price=0.0, equity_btc=0.2),
        instrument=BINANCE,
    )
    # A stop at +233 %: beyond the liquidation price of 200 contracts on a 0.2 BTC account at any leverage.
    wanted = HedgePlan(hedge_usd=20_000, contracts=200, leverage=leverage, stops=(StopTranche(200_000.0, 200),))
    check = apply_limits(wanted, snap, RiskLimits(margin_mode=mode, max_leverage=125), leverage_cap=125)  # type: ignore[arg-type]
    plan = check.plan
    engine = exchange(mode, 0.2, leverage)
    engine.move(price)
    assert_protected(engine, plan, price)
    assert plan.contracts > 0
    assert any("liquidation price" in why for why in check.clipped)
    if mode == "isolated" and leverage >= 75:
        # At 75x the liquidation price is 0.3 % above the entry: no room for a stop 1 % below it.
        assert plan.leverage < leverage and "leverage lowered" in plan.reason


def test_a_stop_below_the_mark_gets_the_default_distance() -> None:
    """B3: a plugin's stop that would trigger as it arrives is not sent as such."""
    price = 60_000.0
    snap = Snapshot(
        now_ms=0,
        btc_price=price,
        lending=lending(price, 1.2),
        hedge=HedgeView(contracts=0, entry_price=0.0, equity_btc=0.5),
        instrument=BINANCE,
    )
    wanted = HedgePlan(hedge_usd=5_000, contracts=50, leverage=5.0, stops=(StopTranche(1.0, 50),))
    check = apply_limits(wanted, snap, RiskLimits(default_stop_pct=0.1), leverage_cap=10)
    assert check.plan.stops == (StopTranche(pytest.approx(66_000.0), 50, "main"),)  # type: ignore[arg-type]
    assert "not above the mark" in check.clipped[0]


def test_capital_at_risk_is_priced_from_the_repaired_stop() -> None:
    """B3: the capital-at-risk limit was computed from the bogus stop; now from the one that will rest."""
    price = 60_000.0
    snap = Snapshot(
        now_ms=0,
        btc_price=price,
        lending=lending(price, 1.2, collateral_usd=20_000.0),
        hedge=HedgeView(contracts=0, entry_price=0.0, equity_btc=1.0),
        instrument=BINANCE,
    )
    # A stop at +100 % would cap the short at covered + budget; once moved under the 10x liquidation price
    # (+10.7 %) the same budget allows about nine times as much beyond what collateral and margin cover.
    wanted = HedgePlan(hedge_usd=1e6, contracts=10_000, leverage=10.0, stops=(StopTranche(120_000.0, 10_000),))
    plan = apply_limits(wanted, snap, RiskLimits(max_notional_usd=1e9), leverage_cap=10).plan
    stop = plan.stops[0].price
    assert stop < price * (1 - 0.004) / (1 - 1 / 10)
    capital = 1.0 * price + (20_000.0 - snap.lending.debt_usd)
    covered = 1.0 * price + 20_000.0
    loss = (stop / price - 1) * (plan.contracts * 100 - covered)
    assert loss <= 0.05 * capital
    assert plan.contracts * 100 > covered + 0.05 * capital / 1.0  # more than the +100 % stop would have allowed


def test_a_held_isolated_short_is_priced_from_the_venues_liquidation_price() -> None:
    # 100 contracts opened at 50,000 with 10x: liquidated at 55,333; the venue says so, and the wallet's
    # other 2 BTC do not back it.
    hedge = HedgeView(contracts=-100, entry_price=50_000.0, equity_btc=2.0, liquidation_price=55_333.33)
    short = held_short(hedge, 52_000.0, 10.0, "isolated", BINANCE)
    assert short.liquidation_price(BINANCE) == pytest.approx(55_333.33)
    grown: Any = short.resized(200, 52_000.0, 10.0, "isolated", BINANCE)
    engine = exchange("isolated", 2.0, 10.0)
    engine.move(50_000.0)
    engine.submit(OrderRequest("a", Side.SELL, OrderType.MARKET, 100))
    engine.move(52_000.0)
    engine.submit(OrderRequest("b", Side.SELL, OrderType.MARKET, 100))
    assert grown.liquidation_price(BINANCE) == pytest.approx(engine.liquidation_price(), rel=1e-3)


def test_a_cross_short_is_backed_by_the_wallet_even_below_its_initial_margin() -> None:
    """Seen in the 2018 replay: after the rescue took margin out, 0.0224 BTC backed 30 contracts opened at 11,788
    (initial margin 0.0254 at 10x); the stop was fitted as if the initial margin backed them, and the short was
    liquidated at 11,128 under a stop at 11,255."""
    entry, mark, wallet = 11_788.0, 11_611.0, 0.0224
    equity = wallet + (30 * 100) * (1 / mark - 1 / entry)  # the short gained from 11,788 to 11,611
    hedge = HedgeView(contracts=-30, entry_price=entry, equity_btc=equity)
    short = held_short(hedge, mark, 10.0, "cross", BINANCE)
    liq = 30 * 100 * (1 - 0.004) / (30 * 100 / entry - wallet)
    assert short.liquidation_price(BINANCE) == pytest.approx(liq)
    snap = Snapshot(now_ms=0, btc_price=mark, lending=lending(mark, 1.1), hedge=hedge, instrument=BINANCE)
    wanted = HedgePlan(hedge_usd=3_000.0, contracts=30, leverage=10.0, stops=(StopTranche(mark * 1.12, 30),))
    plan = apply_limits(wanted, snap, RiskLimits(margin_mode="cross"), leverage_cap=20).plan
    assert all(mark < t.price < liq for t in plan.stops)
