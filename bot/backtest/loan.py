"""A one-collateral Aave V3 position moved along a price path: health factor and liquidations.

The math is `bot.domain.lending.health`; this keeps the running state the replay needs, cheaply.
Liquidations follow the rules of Aave `release`: today's (v3.3+: small positions liquidated in full,
no dust left, bad debt burned) by default, or v3.0's for a v3.0 market (Spark and older forks).
"""

from __future__ import annotations

import math

from bot.domain.lending import health


class LendingSim:
    """Collateral amount and USD debt, liquidated by a prompt liquidator whenever HF falls below 1."""

    __slots__ = (
        "_liq_price",
        "amount",
        "bad_debt_burned_usd",
        "bonus",
        "debt_usd",
        "liquidation_events",
        "liquidation_threshold",
        "min_health_factor",
        "penalty_usd",
        "release",
        "repaid_from_hedge_usd",
    )

    def __init__(
        self, amount: float, debt_usd: float, liquidation_threshold: float, bonus: float, release: str = "3.6"
    ) -> None:
        self.release = release
        self.bad_debt_burned_usd = 0.0
        self.amount = amount
        self.debt_usd = debt_usd
        self.liquidation_threshold = liquidation_threshold
        self.bonus = bonus
        self.liquidation_events = 0
        self.penalty_usd = 0.0
        self.repaid_from_hedge_usd = 0.0
        self.min_health_factor = math.inf
        self._liq_price = 0.0
        self._update()

    def _update(self) -> None:
        lt_value = self.amount * self.liquidation_threshold
        self._liq_price = self.debt_usd / lt_value if self.debt_usd > 0 and lt_value > 0 else 0.0
        if self.debt_usd > 0 and lt_value <= 0:
            self._liq_price = math.inf  # debt with no collateral left: bad debt, HF 0

    @property
    def liquidation_price(self) -> float:
        """Collateral price at which HF reaches 1."""
        return self._liq_price

    def health_factor(self, price: float) -> float:
        return health.single_health_factor(self.amount, price, self.liquidation_threshold, self.debt_usd)

    def fall(self, start: float, low: float) -> None:
        """The price falls from `start` to `low`: liquidate where HF crosses 1 (at `start` if already below)."""
        if low >= self._liq_price:
            debt = self.debt_usd  # health.single_health_factor, inlined: this runs on every bar
            hf = self.amount * low * self.liquidation_threshold / debt if debt > 0 else math.inf
            if hf < self.min_health_factor:
                self.min_health_factor = hf
            return
        price = start
        while self.debt_usd > 1e-9 and self.amount > 1e-12 and low < self._liq_price:
            # The liquidator acts the moment HF dips under 1: at the crossing, or at once after a gap.
            price = min(price, self._liq_price)
            hf = self.health_factor(price)
            result = health.liquidate(self.amount, price, self.debt_usd, hf, self.bonus, self.release)
            self.amount = result.collateral_amount
            self.debt_usd = result.debt_usd
            self.penalty_usd += result.penalty_usd
            self.bad_debt_burned_usd += result.bad_debt_burned_usd
            self.liquidation_events += 1
            self.min_health_factor = min(self.min_health_factor, hf)
            self._update()
            if result.debt_repaid_usd <= 1e-9:
                break
        self.min_health_factor = min(self.min_health_factor, self.health_factor(low))

    def repay(self, usd: float) -> None:
        """Repay `usd` of debt (the hedge's profit defending the loan)."""
        usd = min(usd, self.debt_usd)
        self.debt_usd -= usd
        self.repaid_from_hedge_usd += usd
        self._update()

    def equity_usd(self, price: float) -> float:
        return self.amount * price - self.debt_usd
