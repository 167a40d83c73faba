"""dca: build the short in slices, over time and as the position grows."""

from __future__ import annotations

from pydantic import Field

from bot.domain.plan import EntryStyle
from strategies.base import CapitalState, HedgePlan, Snapshot, Strategy, StrategyParams


class DcaParams(StrategyParams):
    # Defaults not searched: scored at them by walk-forward (`python benchmarks/walk_forward.py`).
    target_ratio: float = Field(0.5, gt=0, le=1.5, description="share of the collateral hedged once built")
    slices: int = Field(4, ge=1, le=100, description="number of slices the hedge is built in")
    interval_minutes: float = Field(240.0, gt=0, description="time between slices")
    urgent_distance: float = Field(
        0.10, ge=0, lt=1, description="within this fall of liquidation, complete the hedge at once"
    )
    leverage: float = Field(5.0, gt=0, le=10, description="leverage of the short (x)")


class DcaState(CapitalState, total=False):
    """What dca remembers between decisions (nothing before the first one)."""

    slices_done: int
    last_slice_ms: int | None  # when the last slice was added


class Dca(Strategy[DcaParams]):
    name = "dca"
    summary = "Build the hedge in equal slices over time; a grown position is topped up slice by slice."
    risk_class = "low-medium"
    Params = DcaParams
    State = DcaState

    def decide(self, snapshot: Snapshot) -> HedgePlan:
        p = self.params
        last = snapshot.state_as(DcaState)
        done = last.get("slices_done", 0)
        last_ms = last.get("last_slice_ms")
        due = last_ms is None or snapshot.now_ms - last_ms >= p.interval_minutes * 60_000
        if done < p.slices and due:
            done += 1
            last_ms = snapshot.now_ms
        urgent = snapshot.lending.account_distance_to_liquidation <= p.urgent_distance
        if urgent:
            done = p.slices
        full = p.target_ratio * self.exposure_usd(snapshot)
        hedge = full * done / p.slices
        slice_contracts = max(1, round(full / p.slices / snapshot.instrument.contract_size_usd))
        return self.plan(
            snapshot,
            hedge,
            reason=f"slice {done}/{p.slices} of {p.target_ratio:.0%} hedge"
            + (" (urgent: completed)" if urgent else ""),
            state=DcaState(slices_done=done, last_slice_ms=last_ms),
            entry=EntryStyle.MARKET if urgent else EntryStyle.DCA,
            max_step_contracts=None if urgent else slice_contracts,
        )
