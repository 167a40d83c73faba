"""Drives a strategy bar by bar over real hourly data, assuming every plan fills at the close.

Just enough of a world to watch decisions; the full simulation with fees, stops and liquidations is
the replay (bot/backtest/run.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.backtest.data import align, load_candles, parse_time_ms
from bot.domain.features.tracker import FeatureTracker
from bot.domain.lending import health
from bot.domain.plan import HedgePlan
from bot.domain.snapshot import EMPTY_STATE, HedgeView, LendingView, Snapshot
from bot.venues.ccxt.registry import builtin_instrument


@dataclass(frozen=True, slots=True)
class Bar:
    ts_ms: int
    btc: float
    btc_high: float
    btc_low: float
    eth: float


def bars(data: Path, start: str, end: str) -> list[Bar]:
    """The hourly BTC and ETH bars both files have in [start, end), read by the product's loader."""
    aligned = align(
        load_candles(data / "binance_BTCUSDT_1h.csv.gz"),
        load_candles(data / "binance_ETHUSDT_1h.csv.gz"),
        parse_time_ms(start),
        parse_time_ms(end),
    )
    _, btc_high, btc_low, btc_close = aligned.btc
    eth_close = aligned.collateral[3]
    return [Bar(ts, btc_close[i], btc_high[i], btc_low[i], eth_close[i]) for i, ts in enumerate(aligned.ts_ms)]


@dataclass(frozen=True, slots=True)
class Step:
    bar: Bar
    snapshot: Snapshot
    plan: HedgePlan


def run(
    strategy: Any,
    series: list[Bar],
    start_hf: float = 1.5,
    collateral_usd: float = 100_000.0,
    equity_btc: float = 0.3,
    warmup: int = 168,
) -> Iterator[Step]:
    """Yield each decision after `warmup` bars of features; the position is opened at the first one."""
    instrument = builtin_instrument("binancecoinm")
    tracker = FeatureTracker.for_bar_length(3_600_000)
    first = series[warmup]
    amount = collateral_usd / first.eth
    debt = collateral_usd * 0.825 / start_hf
    state = EMPTY_STATE
    contracts = 0
    for i, bar in enumerate(series):
        tracker.update(bar.btc, bar.btc_high, bar.btc_low, bar.eth)
        if i < warmup:
            continue
        leg = health.CollateralLeg("ETH", amount, bar.eth, 0.825)
        lending = LendingView(
            collateral_asset="ETH",
            collateral_amount=amount,
            collateral_price_usd=bar.eth,
            total_collateral_usd=leg.value_usd,
            debt_usd=debt,
            health_factor=health.health_factor([leg], debt),
            liquidation_price_usd=health.liquidation_price([leg], debt, "ETH"),
            liquidation_threshold=0.825,
        )
        snap = Snapshot(
            now_ms=bar.ts_ms,
            btc_price=bar.btc,
            lending=lending,
            hedge=HedgeView(contracts=-contracts, entry_price=bar.btc, equity_btc=equity_btc),
            instrument=instrument,
            features=tracker.features(),
            state=state,
        )
        plan = strategy.decide(snap)
        yield Step(bar, snap, plan)
        state = plan.state
        contracts = plan.contracts
