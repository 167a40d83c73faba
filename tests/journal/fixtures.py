"""Values the journal tests write: a snapshot summary, a plan with stops and state, the orders it leads to."""

from __future__ import annotations

from types import MappingProxyType

from bot.domain.orders import Order, OrderRequest, OrderStatus, OrderType, Side
from bot.domain.plan import HedgePlan, StopTranche
from bot.journal.journal import SnapshotSummary
from bot.venues.reconcile import client_id


def summary(ts_ms: int, health_factor: float = 1.4, contracts: int = -30) -> SnapshotSummary:
    return SnapshotSummary(
        ts_ms=ts_ms,
        health_factor=health_factor,
        liquidation_price_usd=2_100.0,
        distance_to_liquidation=0.3,
        collateral_asset="WETH",
        collateral_price_usd=3_000.0,
        debt_usd=6_000.0,
        btc_price=60_000.0,
        hedge_contracts=contracts,
        hedge_entry_price=61_000.0,
        hedge_equity_btc=0.05,
        funding_rate_8h=0.0001,
    )


def plan(contracts: int = 30, n: int = 1) -> HedgePlan:
    return HedgePlan(
        hedge_usd=contracts * 100.0,
        contracts=contracts,
        leverage=5.0,
        stops=(StopTranche(66_000.0, contracts, "main"),),
        reason=f"HF 1.4 below 1.5: hedge {contracts} contracts",
        state=MappingProxyType({"n": n, "armed": True, "last_hf": 1.4}),
    )


def entry(seq: int, contracts: int = 30) -> OrderRequest:
    return OrderRequest(client_id("test", "entry", seq, contracts), Side.SELL, OrderType.MARKET, contracts)


def stop(seq: int, contracts: int = 30) -> OrderRequest:
    return OrderRequest(
        client_id("test", "stop", seq, contracts),
        Side.BUY,
        OrderType.STOP_MARKET,
        contracts,
        trigger_price=66_000.0,
        reduce_only=True,
    )


def ack(request: OrderRequest, status: OrderStatus = OrderStatus.OPEN, filled: int = 0) -> Order:
    return Order(
        client_id=request.client_id,
        venue_id=f"v-{request.client_id[-6:]}",
        side=request.side,
        type=request.type,
        contracts=request.contracts,
        filled_contracts=filled,
        status=status,
        trigger_price=request.trigger_price,
        reduce_only=request.reduce_only,
        average_price=60_000.0 if filled else None,
    )
