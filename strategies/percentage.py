"""percentage: hedge a fixed share of the collateral. Low-medium risk, 5-10x."""

from __future__ import annotations

from pydantic import Field

from strategies.base import HedgePlan, Snapshot, Strategy, StrategyParams


class PercentageParams(StrategyParams):
    # 0.25: walk-forward (chosen on the 2018-2021 windows: `python benchmarks/walk_forward.py`, docs/backtest.md). With
    # 20k of hedge capital against 100k of collateral, sizing on equity caps a larger static hedge anyway.
    hedge_ratio: float = Field(0.25, ge=0, le=1.5, description="share of the collateral's USD value to hedge")
    leverage: float = Field(5.0, gt=0, le=10, description="leverage of the short (x)")


class Percentage(Strategy[PercentageParams]):
    name = "percentage"
    summary = "Hedge a fixed share of the collateral (the static hedge)."
    risk_class = "low-medium"
    Params = PercentageParams

    def decide(self, snapshot: Snapshot) -> HedgePlan:
        exposure = self.exposure_usd(snapshot)  # the account's beta-weighted net delta
        hedge = self.params.hedge_ratio * exposure
        funding_day = snapshot.funding_rate_8h * 3 * hedge
        return self.plan(
            snapshot,
            hedge,
            reason=f"static {self.params.hedge_ratio:.0%} of a {exposure:,.0f} USD beta-weighted delta; "
            f"funding {funding_day:+,.2f} USD/day to the short",
        )
