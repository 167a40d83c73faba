"""Lending health math in floats, for strategies and replays (Aave V3 rules).

The exact on-chain integer replica, which the chain monitor uses, is in `aave_math`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Aave V3: a position with HF above this can be liquidated for half its debt per call, at or below it in full.
CLOSE_FACTOR_HF_THRESHOLD = 0.95
DEFAULT_CLOSE_FACTOR = 0.5
MAX_CLOSE_FACTOR = 1.0
# From v3.3 (LiquidationLogic): a reserve's collateral or debt under this (USD) is liquidated in full, and
# a call that takes part of it must leave at least MIN_LEFTOVER_USD of both behind.
MIN_BASE_MAX_CLOSE_FACTOR_USD = 2_000.0
MIN_LEFTOVER_USD = MIN_BASE_MAX_CLOSE_FACTOR_USD / 2
# The releases whose liquidation rules `liquidate` knows: before v3.3, and from it.
V3_3_RELEASES = ("3.3", "3.4", "3.5", "3.6", "3.7")


@dataclass(frozen=True, slots=True)
class CollateralLeg:
    """One collateral asset of a lending position."""

    symbol: str
    amount: float
    price_usd: float
    liquidation_threshold: float  # fraction, 0.825 for 82.5 %

    @property
    def value_usd(self) -> float:
        return self.amount * self.price_usd


def health_factor(collaterals: Sequence[CollateralLeg], debt_usd: float) -> float:
    """sum(collateral_usd * liquidation_threshold) / debt_usd; +inf without debt."""
    if debt_usd <= 0:
        return math.inf
    return sum(c.value_usd * c.liquidation_threshold for c in collaterals) / debt_usd


def single_health_factor(amount: float, price_usd: float, liquidation_threshold: float, debt_usd: float) -> float:
    """Health factor of a one-collateral position (the replay's hot path)."""
    if debt_usd <= 0:
        return math.inf
    return amount * price_usd * liquidation_threshold / debt_usd


def liquidation_price(collaterals: Sequence[CollateralLeg], debt_usd: float, symbol: str) -> float:
    """Price of `symbol` at which HF reaches 1 with the other prices held; NaN if none exists.

    0 means the other collaterals alone keep HF >= 1 (this one can go to zero).
    """
    if debt_usd <= 0:
        return math.nan
    target = next((c for c in collaterals if c.symbol == symbol), None)
    if target is None or target.amount <= 0 or target.liquidation_threshold <= 0:
        return math.nan
    others = sum(c.value_usd * c.liquidation_threshold for c in collaterals if c.symbol != symbol)
    price = (debt_usd - others) / (target.amount * target.liquidation_threshold)
    return max(price, 0.0)


def bounded_liquidation_price(price_usd: float, health_factor: float) -> float:
    """An upper bound on a collateral's liquidation price, from the Pool's own HF alone: price / HF.

    With W = sum(value * threshold) and D the debt, HF = W / D. Moving one collateral alone from p
    reaches HF = 1 at p * (1 - (W - D) / (its value * its threshold)), and its value * threshold is at
    most W: so that price is at most p * D / W = p / HF whatever its threshold. For when the replica's
    own figure cannot be trusted (it disagrees with the Pool): a hedge sized on it errs on the safe side.
    NaN without debt.
    """
    if not math.isfinite(health_factor) or health_factor <= 0:
        return math.nan
    return price_usd / health_factor


def distance_to_liquidation(price_usd: float, liq_price_usd: float) -> float:
    """Fractional fall from `price_usd` that reaches the liquidation price (0.25 = a 25 % fall)."""
    if not math.isfinite(liq_price_usd) or price_usd <= 0:
        return math.inf
    return 1.0 - liq_price_usd / price_usd


def close_factor(health: float) -> float:
    """Share of the debt one liquidation call may repay."""
    return DEFAULT_CLOSE_FACTOR if health > CLOSE_FACTOR_HF_THRESHOLD else MAX_CLOSE_FACTOR


@dataclass(frozen=True, slots=True)
class LiquidationResult:
    """A one-collateral position after a liquidation call."""

    collateral_amount: float
    debt_usd: float
    debt_repaid_usd: float
    collateral_seized: float
    penalty_usd: float  # the value the borrower lost beyond the debt repaid
    # From v3.3: debt left once all collateral is gone is burned into the reserve's deficit, not the
    # borrower's any more (before, it stayed with the borrower as bad debt).
    bad_debt_burned_usd: float = 0.0


def liquidate(
    collateral_amount: float,
    collateral_price_usd: float,
    debt_usd: float,
    health: float,
    bonus: float,
    release: str = "3.0",
) -> LiquidationResult:
    """One maximal liquidation call on a one-collateral position, as a liquidator would make it.

    The liquidator repays up to the close factor of the debt and seizes collateral worth the repaid
    debt plus `bonus` (0.05 = 5 %); when the collateral cannot cover that, it takes all of it and
    repays proportionally less. Under Aave `release` "3.3" or later (v3.3's LiquidationLogic): the
    whole debt may go when the collateral or the debt is under 2,000 USD (besides HF <= 0.95); a call
    that takes part must leave 1,000 USD of collateral and of debt, so the liquidator covers less when
    half would leave dust; and debt left with no collateral is burned, not left with the borrower.
    """
    v33 = release in V3_3_RELEASES
    collateral_usd = collateral_amount * collateral_price_usd
    factor = close_factor(health)
    if v33 and (collateral_usd < MIN_BASE_MAX_CLOSE_FACTOR_USD or debt_usd < MIN_BASE_MAX_CLOSE_FACTOR_USD):
        factor = MAX_CLOSE_FACTOR
    repay = debt_usd * factor
    seize = repay * (1.0 + bonus) / collateral_price_usd
    if seize > collateral_amount:
        seize = collateral_amount
        repay = seize * collateral_price_usd / (1.0 + bonus)
    partial = repay < debt_usd and seize < collateral_amount
    if v33 and partial:
        most = min(debt_usd - MIN_LEFTOVER_USD, (collateral_usd - MIN_LEFTOVER_USD) / (1.0 + bonus))
        if repay > most:  # the Pool would refuse the call (MustNotLeaveDust): cover what leaves 1,000 of each
            repay = max(0.0, most)
            seize = repay * (1.0 + bonus) / collateral_price_usd
    penalty = seize * collateral_price_usd - repay
    left_amount, left_debt = collateral_amount - seize, debt_usd - repay
    burned = 0.0
    if v33 and left_amount <= 0.0 and left_debt > 0.0:
        burned, left_debt = left_debt, 0.0
    return LiquidationResult(
        collateral_amount=left_amount,
        debt_usd=left_debt,
        debt_repaid_usd=repay,
        collateral_seized=seize,
        penalty_usd=penalty,
        bad_debt_burned_usd=burned,
    )
