"""The replay's inputs and results: the lending setup, the settings, and what each portfolio ends with."""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.backtest.data import AlignedBars
from bot.backtest.loan import LendingSim
from bot.domain.orders import Fill
from bot.domain.rebalance import ChangePolicy
from bot.domain.risk import RiskLimits
from bot.errors import UsageError
from bot.paper.orders import EngineSettings
from bot.runtime.decision import Triggers
from bot.runtime.guards import GuardLimits
from bot.venues.reconcile import ReconcileSettings

Progress = Callable[[int, int], None]

# Whose liquidations the simulated loan suffers: today's Aave (v3.3 and later: a reserve under 2,000 USD
# liquidated in full, no dust under 1,000 left, bad debt burned), or v3.0's, which Spark and older forks
# still run (half the debt per call until HF <= 0.95).
LiquidationRules = Literal["v3.0", "v3.3"]
LIQUIDATION_RULES: tuple[LiquidationRules, ...] = ("v3.0", "v3.3")


@dataclass(frozen=True, slots=True)
class LendingSetup:
    """The standard position: collateral, starting health, Aave parameters, and the hedge capital."""

    collateral_asset: str = "ETH"
    collateral_usd: float = 100_000.0
    start_health_factor: float = 1.5
    liquidation_threshold: float = 0.825
    liquidation_bonus: float = 0.05
    hedge_capital_usd: float = 20_000.0
    # The guardian's reserve on chain (0: no guardian). The unhedged portfolio holds it as cash too.
    reserve_usd: float = 0.0

    def validate(self) -> None:
        """UsageError naming the first impossible parameter."""
        checks = [
            (self.collateral_usd > 0, f"collateral must be positive, got {self.collateral_usd} USD"),
            (
                0 < self.liquidation_threshold < 1,
                f"liquidation threshold must be in (0, 1), got {self.liquidation_threshold}",
            ),
            (0 <= self.liquidation_bonus < 0.5, f"liquidation bonus must be in [0, 0.5), got {self.liquidation_bonus}"),
            (
                self.liquidation_threshold * (1 + self.liquidation_bonus) < 1,
                "liquidation threshold x (1 + bonus) must stay under 1 (Aave refuses such a reserve)",
            ),
            (self.start_health_factor > 1, f"start health factor must be above 1, got {self.start_health_factor}"),
            (self.hedge_capital_usd > 0, f"hedge capital must be positive, got {self.hedge_capital_usd} USD"),
            (self.reserve_usd >= 0, f"the guardian's reserve cannot be negative, got {self.reserve_usd} USD"),
        ]
        for ok, message in checks:
            if not ok or not all(math.isfinite(v) for v in (self.collateral_usd, self.start_health_factor)):
                raise UsageError(f"impossible position: {message}")


@dataclass(frozen=True, slots=True)
class GuardianSettings:
    """The replayed guardian: the live defense's trigger, target and cap, and a gas cost per transaction."""

    trigger_health_factor: float = 1.15
    target_health_factor: float = 1.35
    max_usd_per_day: float = math.inf
    gas_usd: float = 5.0


@dataclass(frozen=True, slots=True)
class ReplaySettings:
    """What the replay plugs into the bot's decision step: the same risk limits, reconciler, triggers and
    guards as `hedgebot run` (their defaults are the bot's), the paper engine's fills, the guardian."""

    engine: EngineSettings = field(default_factory=lambda: EngineSettings(slippage_bps=2.0, spread_bps=2.0))
    risk: RiskLimits = field(default_factory=RiskLimits)
    reconcile: ReconcileSettings = field(default_factory=ReconcileSettings)
    change: ChangePolicy = field(default_factory=ChangePolicy)
    triggers: Triggers = field(default_factory=Triggers)
    guard: GuardLimits = field(default_factory=GuardLimits)
    guardian: GuardianSettings = field(default_factory=GuardianSettings)
    warmup_days: float = 7.0  # bars before the window feed the features only
    liquidation_rules: LiquidationRules = "v3.3"  # the simulated loan's, for the unhedged and hedged alike
    # Skip the bars before a strategy's declared wake-up (HedgePlan.wake) where nothing else can change a
    # result; False decides on every trigger, as a strategy without wake-ups always does.
    wake_ups: bool = True


@dataclass(frozen=True, slots=True)
class PortfolioResult:
    liquidated: bool
    liquidation_events: int
    liquidation_penalty_usd: float
    min_health_factor: float
    max_drawdown_usd: float
    final_equity_usd: float

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class HedgeStats:
    hedge_pnl_usd: float  # futures equity now + what it repaid - the hedge capital, in USD
    fees_usd: float
    funding_usd: float  # positive: received
    orders: int
    hedge_liquidated: bool
    rejected_orders: int
    decisions: int  # bars on which a trigger fired and the decision step ran
    halted_decisions: int  # of those, refused by the guards (stale or absurd data)
    defense_txs: int  # the guardian's repayments on chain
    defended_usd: float
    reserve_left_usd: float

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


@dataclass(frozen=True, slots=True)
class Series:
    """Per bar, at the close: what the report draws and the tests check."""

    equity_usd: array[float] = field(default_factory=lambda: array("d"))
    health_factor: array[float] = field(default_factory=lambda: array("d"))
    collateral_amount: array[float] = field(default_factory=lambda: array("d"))
    debt_usd: array[float] = field(default_factory=lambda: array("d"))
    futures_btc: array[float] = field(default_factory=lambda: array("d"))
    short_contracts: array[float] = field(default_factory=lambda: array("d"))


@dataclass(frozen=True, slots=True)
class StrategyRun:
    label: str
    portfolio: PortfolioResult
    hedge: HedgeStats
    effectiveness: float
    series: Series
    fills: tuple[Fill, ...]


@dataclass(frozen=True, slots=True)
class Backtest:
    bars: AlignedBars
    start: int  # first bar of the window (earlier ones warmed the features)
    setup: LendingSetup
    unhedged: PortfolioResult
    unhedged_series: Series
    runs: tuple[StrategyRun, ...]
    funding_source: str
    elapsed_s: float
    liquidation_rules: LiquidationRules = "v3.3"

    @property
    def window_bars(self) -> int:
        return len(self.bars) - self.start


def open_loan(setup: LendingSetup, collateral_price: float, rules: LiquidationRules = "v3.3") -> LendingSim:
    """The setup's loan at `collateral_price`, liquidated under `rules`."""
    amount = setup.collateral_usd / collateral_price
    debt = setup.collateral_usd * setup.liquidation_threshold / setup.start_health_factor
    release = rules.removeprefix("v")  # the Aave release whose LiquidationLogic the loan follows
    return LendingSim(amount, debt, setup.liquidation_threshold, setup.liquidation_bonus, release)


def portfolio_result(lending: LendingSim, max_dd: float, final: float) -> PortfolioResult:
    return PortfolioResult(
        liquidated=lending.liquidation_events > 0,
        liquidation_events=lending.liquidation_events,
        liquidation_penalty_usd=lending.penalty_usd,
        min_health_factor=lending.min_health_factor,
        max_drawdown_usd=max_dd,
        final_equity_usd=final,
    )
