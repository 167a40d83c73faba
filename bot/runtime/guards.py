"""Is the data fit to trade on? Stale or absurd data halts trading until it is healthy again. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GuardLimits:
    stale_block_ms: int = 60_000
    feed_heartbeat_ms: int = 30_000  # a price older than this is stale
    oracle_heartbeat_ms: int = 26 * 3_600_000  # Chainlink ETH/USD: 1 h heartbeat on L1, 24 h on some L2s
    max_price_jump: float = 0.15  # away from the last price the feed was trusted at
    max_oracle_divergence: float = 0.03  # exchange mark vs the oracle's BTC price
    # A level beyond the jump band is accepted once it has held this long (a real crash stays; a bad
    # print or a manipulated oracle round usually does not), but never a move larger than this:
    confirm_level_ms: int = 300_000
    max_confirmable_move: float = 0.5


@dataclass(frozen=True, slots=True)
class Anchor:
    """The last price a feed was trusted at, and since when its readings have been away from it."""

    trusted: float | None = None
    away_since_ms: int | None = None


def _usable(price: float | None) -> bool:
    return price is not None and math.isfinite(price) and price > 0


def _move(anchor: Anchor, price: float) -> float:
    return 0.0 if anchor.trusted is None else abs(price / anchor.trusted - 1.0)


def follow(anchor: Anchor, price: float | None, now_ms: int, limits: GuardLimits) -> Anchor:
    """The anchor once `price` is read at `now_ms`.

    Within the jump band of the trusted price, the price becomes the trusted one. Beyond it, the
    trusted price stays and the time away is counted, until the new level has held `confirm_level_ms`
    (then it is trusted) or the price comes back. Comparing with the previous reading instead let one
    confirming reading of an absurd oracle level through (C4).
    """
    if not _usable(price):
        return anchor
    assert price is not None
    move = _move(anchor, price)
    if move <= limits.max_price_jump:
        return Anchor(price)
    since = anchor.away_since_ms if anchor.away_since_ms is not None else now_ms
    if move <= limits.max_confirmable_move and now_ms - since >= limits.confirm_level_ms:
        return Anchor(price)
    return Anchor(anchor.trusted, since)


@dataclass(frozen=True, slots=True)
class FeedReadings:
    """The latest value and age of every feed a decision rests on."""

    now_ms: int
    block_time_ms: int | None
    btc_mark: float | None
    btc_mark_ms: int | None
    btc_mark_anchor: Anchor
    collateral_price: float | None
    collateral_anchor: Anchor
    oracle_updated_ms: int | None = None
    oracle_btc_usd: float | None = None  # the lending oracle's BTC price, where the market lists BTC
    # The lending feed's last read failed (the chain has a block the bot cannot read: a node fault, or the
    # Pool reverting on an absurd oracle answer): the last good reading is not the chain any more.
    lending_failing: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    problems: tuple[str, ...]

    @property
    def summary(self) -> str:
        return "healthy" if self.ok else "; ".join(self.problems)


def _unconfirmed(name: str, anchor: Anchor, price: float, now_ms: int, limits: GuardLimits) -> str | None:
    """Why `price` is not yet trusted against `anchor`, or None when it is."""
    move = _move(anchor, price)
    if move <= limits.max_price_jump or follow(anchor, price, now_ms, limits).trusted == price:
        return None
    assert anchor.trusted is not None
    held_s = (now_ms - (anchor.away_since_ms if anchor.away_since_ms is not None else now_ms)) / 1000
    if move > limits.max_confirmable_move:
        wait = f"beyond {limits.max_confirmable_move:.0%} a person must check it and restart the bot"
    else:
        wait = f"a new level is trusted after {limits.confirm_level_ms / 1000:.0f} s (held {held_s:.0f} s)"
    return (
        f"{name} moved {move:.1%} from the last trusted {anchor.trusted:,.2f} "
        f"(limit {limits.max_price_jump:.0%}); {wait}"
    )


def check(r: FeedReadings, limits: GuardLimits) -> Verdict:
    """Every reason the data is unfit to trade on; none means it is fit."""
    problems: list[str] = []
    if r.block_time_ms is None:
        problems.append("no block read yet")
    elif r.now_ms - r.block_time_ms > limits.stale_block_ms:
        problems.append(
            f"stale block: {(r.now_ms - r.block_time_ms) / 1000:.0f} s old (limit {limits.stale_block_ms / 1000:.0f} s)"
        )
    if r.lending_failing:
        problems.append("the lending feed's last read failed: not trading on the reading before it")
    if r.btc_mark is None or r.btc_mark_ms is None:
        problems.append("no BTC mark price yet")
    else:
        if r.now_ms - r.btc_mark_ms > limits.feed_heartbeat_ms:
            problems.append(
                f"BTC mark is {(r.now_ms - r.btc_mark_ms) / 1000:.0f} s old "
                f"(heartbeat {limits.feed_heartbeat_ms / 1000:.0f} s)"
            )
        if not (math.isfinite(r.btc_mark) and r.btc_mark > 0):
            problems.append(f"absurd BTC mark {r.btc_mark}")
        elif problem := _unconfirmed("BTC mark", r.btc_mark_anchor, r.btc_mark, r.now_ms, limits):
            problems.append(problem)
    if r.collateral_price is None:
        problems.append("no collateral price yet")
    else:
        if not (math.isfinite(r.collateral_price) and r.collateral_price > 0):
            problems.append(f"absurd collateral price {r.collateral_price}")
        elif problem := _unconfirmed(
            "collateral oracle price", r.collateral_anchor, r.collateral_price, r.now_ms, limits
        ):
            problems.append(problem)
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
