"""A plan the risk layer lets through is one the paper exchange accepts."""

from __future__ import annotations

from bot.domain.orders import OrderRequest, OrderType, Side
from bot.domain.plan import HedgePlan, StopTranche
from bot.domain.risk import RiskLimits, apply_limits
from bot.domain.snapshot import HedgeView, LendingView, Snapshot
from bot.paper import EngineSettings, PaperEngine
from bot.venues.ccxt.registry import builtin_instrument

BINANCE = builtin_instrument("binancecoinm")


def test_margin_cap_leaves_room_for_the_taker_fee() -> None:
    price = 10_000.0
    lending = LendingView(
        collateral_asset="ETH",
        collateral_amount=400.0,
        collateral_price_usd=250.0,
        total_collateral_usd=100_000.0,
        debt_usd=55_000.0,
        health_factor=1.5,
        liquidation_price_usd=166.7,
        liquidation_threshold=0.825,
    )
    margin = HedgeView(contracts=0, entry_price=price, equity_btc=2.0)  # 2 BTC = 20k USD of margin
    snap = Snapshot(now_ms=0, btc_price=price, lending=lending, hedge=margin, instrument=BINANCE)
    plan = HedgePlan(hedge_usd=120_000, contracts=1_200, leverage=5.0, stops=(StopTranche(price * 1.15, 1_200),))
    clipped = apply_limits(plan, snap, RiskLimits(max_notional_usd=1e9), 10.0).plan
    assert clipped.contracts < 1_000  # 20k x 5 would be 1,000 contracts, but the fee must fit too
    engine = PaperEngine(BINANCE, EngineSettings(slippage_bps=0, leverage=5.0), wallet_btc=2.0)
    engine.move(price)
    engine.submit(OrderRequest("e", Side.SELL, OrderType.MARKET, clipped.contracts))
    assert engine.contracts == -clipped.contracts
