"""stop-hunt-scalp: short the break of a recent swing low, where long stops cluster. High risk, up to 50x.

When price breaks the last day's swing low, the stops resting under it turn into market sells and
the move tends to run. A conditional short rests just under the low; once filled it exits at
`target_pct` below its entry (a decision, not a resting order) or on a tight stop just above the low.
Off unless asked for by name: it is a trading strategy beside the hedge, not a hedge.
"""

from __future__ import annotations

import math

from pydantic import Field

from strategies.base import (
    ConditionalEntry,
    HedgePlan,
    Snapshot,
    StopTranche,
    Strategy,
    StrategyParams,
)


class StopHuntScalpParams(StrategyParams):
    # 20x by default: the global risk.max_leverage; up to 50x where that is raised too.
    leverage: float = Field(20.0, gt=0, le=50, description="leverage of the short (x)")
    scalp_ratio: float = Field(0.1, gt=0, le=1, description="scalp size as a share of the collateral's USD value")
    entry_buffer_bps: float = Field(10.0, ge=0, description="the entry rests this far below the swing low (bps)")
    target_pct: float = Field(0.015, gt=0, lt=1, description="exit when the mark is this far below the entry")
    stop_pct: float = Field(0.005, gt=0, lt=1, description="stop this far above the swing low (fraction)")
    base_ratio: float = Field(0.0, ge=0, le=1.5, description="share of the collateral hedged regardless")


class StopHuntScalp(Strategy[StopHuntScalpParams]):
    name = "stop-hunt-scalp"
    summary = "Conditional short under the swing low where long stops cluster; tight stop, quick target. HIGH RISK."
    risk_class = "high"
    opt_in = True
    Params = StopHuntScalpParams

    def decide(self, snapshot: Snapshot) -> HedgePlan:
        p = self.params
        beta = self.beta(snapshot)
        size = snapshot.instrument.contract_size_usd
        base = self.plan(snapshot, p.base_ratio * snapshot.lending.collateral_usd * beta, reason="base")
        scalp = max(1, round(p.scalp_ratio * snapshot.lending.collateral_usd / size))
        entry = snapshot.state.get("entry")
        stop = snapshot.state.get("stop")
        level = snapshot.features.swing_low
        if entry is not None and stop is not None:
            entry_f, stop_f = float(entry), float(stop)
            if snapshot.btc_price <= entry_f * (1 - p.target_pct):
                return base.with_(reason=f"scalp target hit at {snapshot.btc_price:,.1f}: exit", state={})
            if snapshot.btc_price >= stop_f:
                return base.with_(reason=f"scalp stopped at {snapshot.btc_price:,.1f}", state={})
            return base.with_(
                contracts=base.contracts + scalp,
                stops=(*base.stops, StopTranche(stop_f, scalp, "scalp")),
                reason=f"scalp short from {entry_f:,.1f}, target {entry_f * (1 - p.target_pct):,.1f}",
                state={"entry": entry_f, "stop": stop_f, "level": snapshot.state.get("level")},
            )
        if not math.isfinite(level):
            return base.with_(reason="no swing low yet", state={})
        trigger = level * (1 - p.entry_buffer_bps / 10_000)
        stop_price = level * (1 + p.stop_pct)
        if snapshot.btc_price <= trigger:
            # The break happened since the last decision: the resting entry filled (or fills now).
            return base.with_(
                contracts=base.contracts + scalp,
                stops=(*base.stops, StopTranche(stop_price, scalp, "scalp")),
                reason=f"swing low {level:,.1f} broken: scalp short",
                state={"entry": min(trigger, snapshot.btc_price), "stop": stop_price, "level": level},
            )
        resting = base.with_(
            conditional=(ConditionalEntry(trigger, scalp, stop_price, "scalp"),),
            reason=f"scalp short rests under swing low {level:,.1f} at {trigger:,.1f}",
            state={},
        )
        if p.base_ratio or snapshot.lending.collateral_amount <= 0:
            return resting  # the base follows the collateral's value and beta, which move on every bar
        # Nothing changes until the mark reaches the entry or the swing low moves (the base covers only the
        # margin's own BTC, which the wake-up's BTC band follows).
        # The entry's size, a share of the collateral's value, stays `scalp` contracts between these prices.
        per_contract = size / (p.scalp_ratio * snapshot.lending.collateral_amount)
        coll_lo = (scalp - 0.5 + 1e-6) * per_contract if scalp > 1 else 0.0
        coll_hi = (scalp + 0.5 - 1e-6) * per_contract
        wake = self.held_wake(
            snapshot,
            resting,
            btc_below=trigger,
            collateral_below=coll_lo,
            collateral_above=coll_hi,
            feature_changes=("swing_low",),
        )
        return resting.with_(wake=wake)
