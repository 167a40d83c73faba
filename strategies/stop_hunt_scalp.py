"""stop-hunt-scalp: short the break of a recent swing low, where long stops cluster. High risk, up to 50x.

When price breaks the last day's swing low, the stops resting under it turn into market sells and
the move tends to run. A conditional short rests just under the low; once filled it exits at
`target_pct` below its entry (a decision, not a resting order) or on a tight stop just above the low.
Off unless asked for by name: it is a trading strategy beside the hedge, not a hedge.

Capital: each scalp is sized so that its stop costs at most `max_stop_loss` of the account's equity now;
after a scalp is stopped, the next one waits `reentry_hours`; and once the account is `max_drawdown` below
its highest equity, it stops scalping altogether (a losing streak is a strategy that does not work in this
market, and the account must outlive it).
"""

from __future__ import annotations

import math
from typing import Any

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
    base_stop_pct: float = Field(0.10, gt=0, lt=1, description="the base short's stop above the mark (fraction)")
    max_stop_loss: float = Field(0.02, gt=0, le=1, description="most of the account's equity one scalp's stop may cost")
    reentry_hours: float = Field(24.0, ge=0, description="after a scalp is stopped, wait this long before the next")
    max_drawdown: float = Field(
        0.3, gt=0, le=1, description="stop scalping once the account's equity is this far below its peak"
    )


class StopHuntScalp(Strategy[StopHuntScalpParams]):
    name = "stop-hunt-scalp"
    summary = "Conditional short under the swing low where long stops cluster; tight stop, quick target. HIGH RISK."
    risk_class = "high"
    opt_in = True
    is_hedge = False  # a trade beside the hedge: its evaluation row says so
    Params = StopHuntScalpParams

    def decide(self, snapshot: Snapshot) -> HedgePlan:
        p = self.params
        size = snapshot.instrument.contract_size_usd
        # The base short (at least the margin's own BTC) has its own stop: `stop_pct` is the scalp's, and a
        # base stopped 0.5 % above the mark every few hours would pay its way out in fees.
        base = self.plan(
            snapshot,
            p.base_ratio * self.exposure_usd(snapshot),
            reason="base",
            stop_price=self.protective_stop(snapshot, p.base_stop_pct),
        )
        equity = snapshot.hedge_equity_usd
        last_peak = snapshot.state.get("peak_equity")
        peak = max(equity, float(last_peak) if isinstance(last_peak, int | float) else equity)
        last_stop_ms = snapshot.state.get("scalp_stopped_ms")
        stopped_ms = int(last_stop_ms) if isinstance(last_stop_ms, int | float) else None
        keep = {**base.state, "peak_equity": peak, "scalp_stopped_ms": stopped_ms}
        entry = snapshot.state.get("entry")
        stop = snapshot.state.get("stop")
        level = snapshot.features.swing_low
        if entry is not None and stop is not None:
            entry_f, stop_f = float(entry), float(stop)
            scalp = int(snapshot.state.get("scalp") or 0)
            if snapshot.btc_price <= entry_f * (1 - p.target_pct):
                return base.with_(reason=f"scalp target hit at {snapshot.btc_price:,.1f}: exit", state=keep)
            # Its stop fired (the mark is at it, or the scalp is no longer in the short): a stop-out.
            if snapshot.btc_price >= stop_f or snapshot.hedge.short_contracts < base.contracts + scalp / 2:
                keep["scalp_stopped_ms"] = snapshot.now_ms
                return base.with_(
                    reason=f"scalp stopped at {snapshot.btc_price:,.1f}: next one in {p.reentry_hours:g} h", state=keep
                )
            return base.with_(
                contracts=base.contracts + scalp,
                stops=(*base.stops, StopTranche(stop_f, scalp, "scalp")),
                reason=f"scalp short from {entry_f:,.1f}, target {entry_f * (1 - p.target_pct):,.1f}",
                state={**keep, "entry": entry_f, "stop": stop_f, "level": snapshot.state.get("level"), "scalp": scalp},
            )
        if equity < peak * (1 - p.max_drawdown):
            out = base.with_(
                reason=f"no scalping: equity {equity:,.0f} USD is more than {p.max_drawdown:.0%} below its peak"
                f" {peak:,.0f}",
                state=keep,
            )
            return self._waiting(snapshot, out, [peak * (1 - p.max_drawdown)], peak)
        if stopped_ms is not None and snapshot.now_ms - stopped_ms < p.reentry_hours * 3_600_000:
            out = base.with_(reason=f"last scalp stopped: waiting {p.reentry_hours:g} h", state=keep)
            at_ms = stopped_ms + p.reentry_hours * 3_600_000
            return self._waiting(snapshot, out, [peak * (1 - p.max_drawdown)], peak, at_ms=at_ms)
        if not math.isfinite(level):
            return base.with_(reason="no swing low yet", state=keep)
        trigger = level * (1 - p.entry_buffer_bps / 10_000)
        stop_price = level * (1 + p.stop_pct)
        # Sized on the equity now: a stop from the trigger costs at most max_stop_loss of it.
        # (An account that reports no equity, an offline plan, is left to the risk layer's margin check.)
        risk_usd = p.max_stop_loss * equity / (stop_price / trigger - 1.0) if equity > 0 else math.inf
        scalp = round(p.scalp_ratio * snapshot.lending.collateral_usd / size)
        if risk_usd < scalp * size:
            scalp = int(risk_usd // size)
        if scalp < 1:
            return base.with_(reason="the account's equity carries no scalp", state=keep)
        if snapshot.btc_price <= trigger:
            # The break happened since the last decision: the resting entry filled (or fills now).
            return base.with_(
                contracts=base.contracts + scalp,
                stops=(*base.stops, StopTranche(stop_price, scalp, "scalp")),
                reason=f"swing low {level:,.1f} broken: scalp short of {scalp} contracts",
                state={
                    **keep,
                    "entry": min(trigger, snapshot.btc_price),
                    "stop": stop_price,
                    "level": level,
                    "scalp": scalp,
                },
            )
        resting = base.with_(
            conditional=(ConditionalEntry(trigger, scalp, stop_price, "scalp"),),
            reason=f"scalp short of {scalp} contracts rests under swing low {level:,.1f} at {trigger:,.1f}",
            state=keep,
        )
        if p.base_ratio or snapshot.lending.collateral_amount <= 0:
            return resting  # the base follows the collateral's value and beta, which move on every bar
        # Nothing changes until the mark reaches the entry or the swing low moves (the base covers only the
        # margin's own BTC, which the wake-up's BTC band follows).
        # The entry's size, a share of the collateral's value, stays `scalp` contracts between these prices.
        per_contract = size / (p.scalp_ratio * snapshot.lending.collateral_amount)
        coll_lo = (scalp - 0.5 + 1e-6) * per_contract if scalp > 1 else 0.0
        coll_hi = (scalp + 0.5 - 1e-6) * per_contract
        # The equity decides too: the entry is cut to what the equity carries (levels of one contract each).
        per_scalp = size * (stop_price / trigger - 1.0) / p.max_stop_loss  # equity that carries one contract
        levels = [peak * (1 - p.max_drawdown), per_scalp * scalp, per_scalp * (scalp + 1)]
        return self._waiting(
            snapshot,
            resting,
            levels,
            peak,
            btc_below=trigger,
            collateral_below=coll_lo,
            collateral_above=coll_hi,
            feature_changes=("swing_low",),
        )

    def _waiting(
        self, snapshot: Snapshot, plan: HedgePlan, levels: list[float], peak: float, **bounds: Any
    ) -> HedgePlan:
        """`plan` with the wake-up that holds it: `bounds`, and the hedge account's equity staying between the
        `levels` around it and under its `peak` (a rise past it is a new peak, remembered in the state)."""
        if self.params.base_ratio or snapshot.lending.collateral_amount <= 0:
            return plan  # the base follows the collateral's value and beta, which move on every bar
        equity = snapshot.hedge_equity_usd
        below = max((x for x in levels if x <= equity), default=-math.inf)
        above = min([peak, *(x for x in levels if x > equity)])
        band = self.btc_band_for_equity(snapshot, below, above) if equity > 0 else {}
        btc_below = max(bounds.pop("btc_below", 0.0), band.get("btc_below", 0.0))
        btc_above = band.get("btc_above", math.inf)
        wake = self.held_wake(
            snapshot, plan, self.params.base_stop_pct, btc_below=btc_below, btc_above=btc_above, **bounds
        )
        return plan.with_(wake=wake)
