"""A strategy's answer: the hedge it wants, how to get there and how to protect it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import StrEnum

from bot.domain.snapshot import EMPTY_STATE, StrategyState


class EntryStyle(StrEnum):
    MARKET = "market"
    LIMIT = "limit"  # rest a limit sell limit_offset_bps above the mark
    DCA = "dca"  # move toward the target by at most max_step_contracts per decision


@dataclass(frozen=True, slots=True)
class StopTranche:
    """A reduce-only stop-market buy for `contracts` of the short, triggering on mark at `price`."""

    price: float
    contracts: int
    label: str = "main"


@dataclass(frozen=True, slots=True)
class ConditionalEntry:
    """A short that rests as a stop-market sell and arms when the mark falls to `trigger_price`.

    Once it has filled, the strategy counts it in `contracts` and protects it with a StopTranche at
    `stop_price`; until the next decision the position's other stops still stand.
    """

    trigger_price: float
    contracts: int
    stop_price: float
    label: str = "layer"


@dataclass(frozen=True, slots=True, kw_only=True)
class HedgePlan:
    """A target for the futures leg. Contracts are whole; the venue rounds prices to its tick."""

    hedge_usd: float  # net short exposure wanted, after the margin's own long BTC
    contracts: int  # target short, in contracts (>= 0), margin offset included
    leverage: float
    stops: tuple[StopTranche, ...] = ()
    entry: EntryStyle = EntryStyle.MARKET
    limit_offset_bps: float = 0.0
    max_step_contracts: int | None = None  # DCA slice; None means go straight to the target
    conditional: tuple[ConditionalEntry, ...] = ()
    reason: str = ""
    state: StrategyState = field(default_factory=lambda: EMPTY_STATE)

    @property
    def stop_price(self) -> float | None:
        """The nearest protective stop (lowest trigger), if any."""
        return min((tranche.price for tranche in self.stops), default=None)

    @property
    def stopped_contracts(self) -> int:
        return sum(tranche.contracts for tranche in self.stops)

    def with_(self, **changes: object) -> HedgePlan:
        """A copy with `changes` (the risk layer's clip)."""
        return replace(self, **changes)  # type: ignore[arg-type]


FLAT = HedgePlan(hedge_usd=0.0, contracts=0, leverage=1.0, reason="no hedge")


def plan_problem(plan: object) -> str | None:
    """Why `plan` cannot be acted on (not a plan, a non-finite or negative figure), or None when it can.

    Strategies are plugins: the engine checks every plan before the risk layer sees it, so garbage halts
    trading with a message instead of becoming an order (a NaN hedge once became a silent 0).
    """
    if not isinstance(plan, HedgePlan):
        return f"returned {type(plan).__name__}, not a HedgePlan"
    if not isinstance(plan.contracts, int) or plan.contracts < 0:
        return f"asked for {plan.contracts!r} contracts (a whole number >= 0)"
    for name, value in (("hedge_usd", plan.hedge_usd), ("leverage", plan.leverage)):
        if not isinstance(value, int | float) or not math.isfinite(value):
            return f"returned a non-finite {name} ({value!r})"
    if plan.leverage <= 0:
        return f"asked for leverage {plan.leverage!r} (must be above 0)"
    for tranche in plan.stops:
        if not math.isfinite(tranche.price) or tranche.price <= 0 or tranche.contracts < 0:
            return f"returned a stop at {tranche.price!r} for {tranche.contracts!r} contracts"
    for entry in plan.conditional:
        if not all(math.isfinite(p) and p > 0 for p in (entry.trigger_price, entry.stop_price)):
            return f"returned a conditional entry at {entry.trigger_price!r} with its stop at {entry.stop_price!r}"
    return None
