"""Drives a strategy bar by bar over real hourly data, assuming every plan fills at the close.

Just enough of a world to watch decisions; the full simulation with fees, stops and liquidations is
the replay (bot/backtest/run.py).
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.domain.features.tracker import FeatureTracker
from bot.domain.instruments import builtin_instrument
from bot.domain.lending import health
from bot.domain.plan import HedgePlan
from bot.domain.snapshot import EMPTY_STATE, HedgeView, LendingView, Snapshot


@dataclass(frozen=True, slots=True)
class Bar:
    ts_ms: int
    btc: float
    btc_high: float
    btc_low: float
    eth: float


def bars(data: Path, start: str, end: str) -> list[Bar]:
    def read(name: str) -> dict[str, list[str]]:
        with gzip.open(data / name, "rt") as fh:
            return {
                r["timestamp"]: [r["close"], r["high"], r["low"]]
                for r in csv.DictReader(fh)
                if start <= r["timestamp"][:10] < end
            }

    btc, eth = read("binance_BTCUSDT_1h.csv.gz"), read("binance_ETHUSDT_1h.csv.gz")
    out = []
    for ts in sorted(btc.keys() & eth.keys()):
        ms = int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)
        out.append(Bar(ms, float(btc[ts][0]), float(btc[ts][1]), float(btc[ts][2]), float(eth[ts][0])))
    return out


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
