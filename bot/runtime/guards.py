"""Is the data fit to trade on? Stale or absurd data halts trading until it is healthy again. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GuardLimits:
    stale_block_ms: int = 60_000
    feed_heartbeat_ms: int = 30_000  # a price older than this is stale
    oracle_heartbeat_ms: int = 26 * 3_600_000  # HEDGEBOT_CHAIN__ORACLE_HEARTBEAT_S's default
    max_price_jump: float = 0.15  # between two consecutive readings of one feed
    max_oracle_divergence: float = 0.03  # exchange mark vs the oracle's BTC price


@dataclass(frozen=True, slots=True)
class FeedReadings:
    """The latest value and age of every feed a decision rests on."""

    now_ms: int
    block_time_ms: int | None
    btc_mark: float | None
    btc_mark_ms: int | None
    previous_btc_mark: float | None
    collateral_price: float | None
    previous_collateral_price: float | None
    oracle_updated_ms: int | None = None
    oracle_btc_usd: float | None = None  # the lending oracle's BTC price, where the market lists BTC


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    problems: tuple[str, ...]

    @property
    def summary(self) -> str:
        return "healthy" if self.ok else "; ".join(self.problems)


def _jump(prev: float | None, cur: float) -> float:
    if prev is None or prev <= 0:
        return 0.0
    return abs(cur / prev - 1.0)


def check(r: FeedReadings, limits: GuardLimits) -> Verdict:
    """Every reason the data is unfit to trade on; none means it is fit."""
    problems: list[str] = []
    if r.block_time_ms is None:
        problems.append("no block read yet")
    elif r.now_ms - r.block_time_ms > limits.stale_block_ms:
        problems.append(
            f"stale block: {(r.now_ms - r.block_time_ms) / 1000:.0f} s old (limit {limits.stale_block_ms / 1000:.0f} s)"
        )
    if r.btc_mark is None or r.btc_mark_ms is None:
        problems.append("no BTC mark price yet")
    else:
        if not (math.isfinite(r.btc_mark) and r.btc_mark > 0):
            problems.append(f"absurd BTC mark {r.btc_mark}")
        if r.now_ms - r.btc_mark_ms > limits.feed_heartbeat_ms:
            problems.append(
                f"BTC mark is {(r.now_ms - r.btc_mark_ms) / 1000:.0f} s old "
                f"(heartbeat {limits.feed_heartbeat_ms / 1000:.0f} s)"
            )
        jump = _jump(r.previous_btc_mark, r.btc_mark)
        if jump > limits.max_price_jump:
            problems.append(f"BTC mark jumped {jump:.1%} between readings (limit {limits.max_price_jump:.0%})")
    if r.collateral_price is None:
        problems.append("no collateral price yet")
    else:
        if not (math.isfinite(r.collateral_price) and r.collateral_price > 0):
            problems.append(f"absurd collateral price {r.collateral_price}")
        jump = _jump(r.previous_collateral_price, r.collateral_price)
        if jump > limits.max_price_jump:
            problems.append(f"collateral oracle price jumped {jump:.1%} (limit {limits.max_price_jump:.0%})")
    if r.oracle_updated_ms is not None and r.now_ms - r.oracle_updated_ms > limits.oracle_heartbeat_ms:
        problems.append(f"oracle price is {(r.now_ms - r.oracle_updated_ms) / 3_600_000:.1f} h old")
    if r.oracle_btc_usd and r.btc_mark:
        divergence = abs(r.btc_mark / r.oracle_btc_usd - 1.0)
        if divergence > limits.max_oracle_divergence:
            problems.append(
                f"exchange mark {r.btc_mark:,.1f} and oracle BTC {r.oracle_btc_usd:,.1f} differ by "
                f"{divergence:.1%} (limit {limits.max_oracle_divergence:.0%})"
            )
    return Verdict(not problems, tuple(problems))
