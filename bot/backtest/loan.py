"""A one-collateral Aave V3 position moved along a price path: health factor, the guardian, liquidations.

The math is `bot.domain.lending.health`; this keeps the running state the replay needs, cheaply.
Liquidations follow the rules of Aave `release`: today's (v3.3+: small positions liquidated in full,
no dust left, bad debt burned) by default, or v3.0's for a v3.0 market (Spark and older forks). The
guardian (`SimulatedGuardian`) is the replay's edge for the bot's on-chain defense: it repays debt on the
borrower's behalf from its own reserve where the collateral's path crosses the trigger health factor, to
the target, paying gas per transaction. It never moves money from the exchange: the live bot cannot.
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

    def fall(self, start: float, low: float, guardian: SimulatedGuardian | None = None, now_ms: int = 0) -> None:
        """The price falls from `start` to `low`: the guardian defends where HF crosses its trigger, then a
        liquidator liquidates where HF crosses 1 (at `start` if already below)."""
        if guardian is not None:
            guardian.defend(self, start, low, now_ms)
        if low >= self._liq_price:
            self.min_health_factor = min(self.min_health_factor, self.health_factor(low))
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

    def repay(self, usd: float) -> float:
        """Repay up to `usd` of debt (on the borrower's behalf); what was repaid."""
        usd = min(usd, self.debt_usd)
        self.debt_usd -= usd
        self._update()
        return usd

    def equity_usd(self, price: float) -> float:
        return self.amount * price - self.debt_usd


class SimulatedGuardian:
    """A reserve that repays debt where HF crosses `trigger`, up to `target`, within a daily cap."""

    def __init__(
        self, reserve_usd: float, trigger: float, target: float, gas_usd: float, max_usd_per_day: float
    ) -> None:
        self.reserve_usd = reserve_usd
        self.trigger = trigger
        self.target = target
        self.gas_usd = gas_usd
        self.max_usd_per_day = max_usd_per_day
        self.transactions = 0
        self.defended_usd = 0.0
        self.gas_spent_usd = 0.0
        self._day = -1
        self._spent_today = 0.0

    def defend(self, loan: LendingSim, start: float, low: float, now_ms: int) -> None:
        """One repayment at the price where the path from `start` to `low` crosses the trigger, if it does."""
        if self.reserve_usd <= self.gas_usd or loan.debt_usd <= 0 or loan.liquidation_price <= 0:
            return
        trigger_price = loan.liquidation_price * self.trigger
        if low >= trigger_price:
            return
        day = now_ms // 86_400_000
        if day != self._day:
            self._day, self._spent_today = day, 0.0
        price = min(start, trigger_price)  # at the crossing, or at once after a gap
        # Debt after repaying x: HF = amount * price * LT / (debt - x) = target.
        need = loan.debt_usd - loan.amount * price * loan.liquidation_threshold / self.target
        budget = min(self.reserve_usd - self.gas_usd, self.max_usd_per_day - self._spent_today)
        pay = min(need, budget)
        if pay <= 0:
            return
        paid = loan.repay(pay)
        self.reserve_usd -= paid + self.gas_usd
        self._spent_today += paid
        self.defended_usd += paid
        self.gas_spent_usd += self.gas_usd
        self.transactions += 1
