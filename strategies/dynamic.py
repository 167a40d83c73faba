"""dynamic: the hedge grows as liquidation comes within reach of the collateral's volatility. 10-20x.

The risk measure is how many standard deviations of the collateral's move over `horizon_days` lie
between its price and its liquidation price (z). Far away (z >= z_off) nothing is hedged beyond the
margin's own delta; close (z <= z_full) `max_ratio` is hedged; between, the ratio rises linearly.
Risk up is acted on at once; risk down only after `cooldown_minutes`, and no change smaller than
`min_change` is made, so it does not churn.
"""

from __future__ import annotations

import math

from pydantic import Field

from strategies.base import HedgePlan, Snapshot, Strategy, StrategyParams


class DynamicParams(StrategyParams):
    leverage: float = Field(10.0, gt=0, le=20, description="leverage of the short (x)")
    max_ratio: float = Field(1.0, gt=0, le=1.5, description="share of the collateral hedged at full risk")
    # A week's horizon and a 4-sigma start: crashes build over days, and a hedge that waits for 3 sigmas over
    # 3 days is put on after most of the fall (replayed on 2020-03, 2021-05, 2022-05, 2022-06; docs/backtest.md).
    horizon_days: float = Field(7.0, gt=0, description="how far ahead the volatility is projected (days)")
    z_off: float = Field(4.0, gt=0, description="sigmas to liquidation at and above which no hedge is held")
    z_full: float = Field(1.5, ge=0, description="sigmas to liquidation at and below which max_ratio is held")
    min_vol_annual: float = Field(0.4, gt=0, description="floor on the collateral's annualised volatility")
    min_change: float = Field(0.05, ge=0, le=1, description="smallest change of the hedge ratio acted on")
    cooldown_minutes: float = Field(240.0, ge=0, description="wait this long after a change before reducing")
    stop_pct: float = Field(0.12, gt=0, lt=1, description="protective buy-stop distance above the mark")


class Dynamic(Strategy[DynamicParams]):
    name = "dynamic"
    summary = "Hedge ratio follows the distance to liquidation in units of volatility; acts fast, relaxes slowly."
    risk_class = "medium"
    leverage_cap = 20.0
    Params = DynamicParams

    def __init__(self, params: DynamicParams) -> None:
        super().__init__(params)
        # Derived once: decide() runs on every bar of a replay. Same expressions, same floats.
        p = params
        self._sigma_per_vol = math.sqrt(p.horizon_days / 365.0)
        self._span = max(1e-9, p.z_off - p.z_full)
        self._z_mid = (p.z_off + p.z_full) / 2
        self._cooldown_ms = p.cooldown_minutes * 60_000

    def risk_ratio(self, snapshot: Snapshot) -> tuple[float, float]:
        """The hedge ratio the current risk calls for, and the z-score behind it."""
        p = self.params
        lending = snapshot.lending
        liq, price = lending.liquidation_price_usd, lending.collateral_price_usd
        if not math.isfinite(liq) or price <= 0:  # LendingView.distance_to_liquidation is infinite
            return 0.0, math.inf
        distance = 1.0 - liq / price
        if not math.isfinite(distance):
            return 0.0, math.inf
        vol = p.min_vol_annual
        measured = snapshot.features.collateral_vol_annual
        if measured > vol:  # max(min_vol_annual, measured)
            vol = measured
        z = distance / (vol * self._sigma_per_vol)
        share = (p.z_off - z) / self._span
        ratio = p.max_ratio * (1.0 if share >= 1.0 else (share if share > 0.0 else 0.0))
        if -snapshot.funding_rate_8h > p.max_funding_cost_8h and z > self._z_mid:  # funding_too_expensive
            ratio *= 0.5  # shorts pay dearly and the danger is not near: hedge half of what risk asks
        return ratio, z

    def decide(self, snapshot: Snapshot) -> HedgePlan:
        p = self.params
        wanted, z = self.risk_ratio(snapshot)
        state = snapshot.state
        held = float(state.get("ratio") or 0.0)
        changed_ms = int(state.get("changed_ms") or 0)
        now_ms = snapshot.now_ms
        cooled = now_ms - changed_ms >= self._cooldown_ms
        ratio = held
        max_ratio, min_change = p.max_ratio, p.min_change
        if (
            wanted > held + min_change
            or (wanted >= max_ratio and held < max_ratio)
            or (wanted < held - min_change and cooled)
        ):
            ratio = wanted
        elif wanted == 0.0 and held > 0.0 and cooled:
            ratio = 0.0
        if ratio != held:
            changed_ms = now_ms
        beta = self.beta(snapshot)
        lending = snapshot.lending
        hedge = ratio * (lending.collateral_amount * lending.collateral_price_usd) * beta  # collateral_usd
        return self.plan(
            snapshot,
            hedge,
            reason=f"z={z:.2f} sigmas to liquidation -> ratio {ratio:.0%} (risk asks {wanted:.0%}), beta {beta:.2f}",
            state={"ratio": ratio, "changed_ms": changed_ms},
        )
