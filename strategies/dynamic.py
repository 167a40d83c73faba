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

from strategies.base import CapitalState, HedgePlan, Snapshot, Strategy, StrategyParams, WakeUp


class DynamicParams(StrategyParams):
    # 5x: walk-forward (chosen on the 2018-2021 windows: `python benchmarks/walk_forward.py`, docs/backtest.md).
    # At 5x the short is liquidated about 24 % above its entry, so the 12 % stop fits inside it.
    leverage: float = Field(5.0, gt=0, le=20, description="leverage of the short (x)")
    max_ratio: float = Field(1.0, gt=0, le=1.5, description="share of the collateral hedged at full risk")
    # A week's horizon: crashes build over days (replayed on 2020-03, 2021-05, 2022-05, 2022-06).
    horizon_days: float = Field(7.0, gt=0, description="how far ahead the volatility is projected (days)")
    # 3 sigmas (of 3 and 4 searched): walk-forward (chosen on the 2018-2021 windows:
    # `python benchmarks/walk_forward.py`, docs/backtest.md).
    z_off: float = Field(3.0, gt=0, description="sigmas to liquidation at and above which no hedge is held")
    z_full: float = Field(1.5, ge=0, description="sigmas to liquidation at and below which max_ratio is held")
    min_vol_annual: float = Field(0.4, gt=0, description="floor on the collateral's annualised volatility")
    min_change: float = Field(0.05, ge=0, le=1, description="smallest change of the hedge ratio acted on")
    cooldown_minutes: float = Field(240.0, ge=0, description="wait this long after a change before reducing")
    stop_pct: float = Field(0.12, gt=0, lt=1, description="protective buy-stop distance above the mark")


class DynamicState(CapitalState, total=False):
    """What dynamic remembers between decisions (nothing before the first one), beside the capital rules' keys."""

    ratio: float  # the share of the collateral hedged
    changed_ms: int  # when that share last changed


class Dynamic(Strategy[DynamicParams]):
    name = "dynamic"
    summary = "Hedge ratio follows the distance to liquidation in units of volatility; acts fast, relaxes slowly."
    risk_class = "medium"
    Params = DynamicParams  # its leverage bound, 20x, is the strategy's leverage cap
    State = DynamicState

    def decide(self, snapshot: Snapshot) -> HedgePlan:
        last = snapshot.state_as(DynamicState)
        held = last.get("ratio", 0.0)
        changed_ms = last.get("changed_ms", 0)
        wanted, z = self.risk_ratio(snapshot)
        cooled = snapshot.now_ms - changed_ms >= self.params.cooldown_minutes * 60_000
        ratio = self.ratio_to_hold(wanted, held, cooled)
        if ratio != held:
            changed_ms = snapshot.now_ms
        exposure = self.exposure_usd(snapshot)  # the account's beta-weighted net delta
        plan = self.plan(
            snapshot,
            ratio * exposure,
            reason=f"z={z:.2f} sigmas to liquidation -> ratio {ratio:.0%} (risk asks {wanted:.0%}) "
            f"of a {exposure:,.0f} USD delta",
            state=DynamicState(ratio=ratio, changed_ms=changed_ms),
        )
        if ratio != 0.0 or snapshot.lending.whole_account:
            # The hedge follows the collateral's value and beta, which move on every bar; and the whole account's
            # market-wide fall has no one-price band to wait behind: decide on every trigger.
            return plan
        return plan.with_(wake=self.wake(snapshot, plan))

    def wake(self, snapshot: Snapshot, plan: HedgePlan) -> WakeUp:
        """While nothing is hedged: when risk can next ask for a hedge (the collateral price under which z falls
        below the level that asks for `min_change`, for the collateral's volatility within a band around
        today's) and the BTC band in which the plan's contracts and stop stay as they are."""
        p = self.params
        liq = snapshot.lending.liquidation_price_usd
        vol = snapshot.features.collateral_vol_annual
        # Within the band the sigma used is at most sigma(vol_hi); under the floor it is the floor's.
        vol_lo, vol_hi = (0.0, p.min_vol_annual) if vol <= p.min_vol_annual else (vol * 0.98, vol * 1.02)
        sigma_hi = max(p.min_vol_annual, vol_hi) * math.sqrt(p.horizon_days / 365.0)
        coll_lo = 0.0
        if math.isfinite(liq) and liq > 0:
            room = 1.0 - self._z_asking_for_a_hedge(self.funding_too_expensive(snapshot)) * sigma_hi
            coll_lo = liq / room if room > 0 else math.inf  # z = (1 - liq / price) / sigma
        return self.held_wake(
            snapshot,
            plan,
            collateral_below=coll_lo * (1.0 + 1e-9),  # floating-point room: wake a hair early, never late
            collateral_vol_below=vol_lo,
            collateral_vol_above=vol_hi,
        )

    def _z_asking_for_a_hedge(self, expensive: bool) -> float:
        """The z at and under which `ratio_to_hold` leaves a ratio of 0 (risk asks for more than `min_change`,
        or for `max_ratio`): the ratio asked falls as z grows, halved beyond the midpoint when funding is dear."""
        p = self.params
        span = max(1e-9, p.z_off - p.z_full)
        mid = (p.z_off + p.z_full) / 2
        x = p.min_change
        z_up = p.z_full  # risk asks for max_ratio there
        if x < p.max_ratio:
            full = p.z_off - span * x / p.max_ratio
            halved = p.z_off - 2 * span * x / p.max_ratio
            asked = full if not expensive else (halved if halved > mid else min(full, mid))
            z_up = max(z_up, asked)
        return z_up

    def risk_ratio(self, snapshot: Snapshot) -> tuple[float, float]:
        """The hedge ratio the current risk calls for, and the z-score behind it."""
        p = self.params
        distance = snapshot.lending.account_distance_to_liquidation  # the whole market falling together
        if not math.isfinite(distance):
            return 0.0, math.inf
        vol = max(p.min_vol_annual, snapshot.features.collateral_vol_annual)
        sigma = vol * math.sqrt(p.horizon_days / 365.0)  # the collateral's move over the horizon, one sigma
        z = distance / sigma
        span = max(1e-9, p.z_off - p.z_full)
        ratio = p.max_ratio * min(1.0, max(0.0, (p.z_off - z) / span))
        if self.funding_too_expensive(snapshot) and z > (p.z_off + p.z_full) / 2:
            ratio *= 0.5  # shorts pay dearly and the danger is not near: hedge half of what risk asks
        return ratio, z

    def ratio_to_hold(self, wanted: float, held: float, cooled: bool) -> float:
        """The ratio to hold now, given what risk asks for, what is held, and whether the cooldown has passed."""
        p = self.params
        if wanted > held + p.min_change or (wanted >= p.max_ratio and held < p.max_ratio):
            return wanted  # more risk: act at once
        if cooled and (wanted < held - p.min_change or (wanted == 0.0 and held > 0.0)):
            return wanted  # less risk, and the last change has settled: relax (all the way, once it is gone)
        return held
