"""A strategy's answer: the hedge it wants, how to get there and how to protect it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import StrEnum

from bot.domain.features.tracker import MarketFeatures
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


def shrink_stops(stops: tuple[StopTranche, ...], contracts: int) -> tuple[StopTranche, ...]:
    """Stops covering at most `contracts`, dropping from the last tranche first."""
    out: list[StopTranche] = []
    left = contracts
    for tranche in stops:
        if left <= 0:
            break
        take = min(tranche.contracts, left)
        out.append(tranche if take == tranche.contracts else StopTranche(tranche.price, take, tranche.label))
        left -= take
    return tuple(out)


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
class WakeUp:
    """When a strategy next needs to decide: its plan holds until one of these happens (strategy interface 3).

    A strategy that returns one promises that, while the account is unchanged (no fill, no funding payment,
    no change to the loan), its state is the one it returned, and each price stays strictly inside its band
    before `at_ms`, `decide` would return a plan with the same contracts, stops, conditional entries, leverage
    and entry. Bands are on the values a decision reads (the BTC mark, the collateral's oracle price, the
    loan's health factor, the collateral's volatility feature); a bound left at its default never wakes.
    Everything else that can change a result (fills, resting stops and the short's liquidation crossed,
    funding, the guardian, the guards) wakes the bot by itself: the strategy declares only what it reads.
    """

    btc_below: float = 0.0  # decide again once the BTC mark is at or below this
    btc_above: float = math.inf  # ... at or above this
    collateral_below: float = 0.0  # the collateral's price, at or below
    collateral_above: float = math.inf
    health_factor_below: float = 0.0  # the loan's health factor, at or below
    collateral_vol_below: float = 0.0  # the collateral's annualised volatility (MarketFeatures), at or below
    collateral_vol_above: float = math.inf
    at_ms: float = math.inf  # the time, at or after
    # Within the bands the plan's stop is min(the resting stop, mark x (1 + this)) (`Strategy.protective_stop`):
    # it may follow the mark down, and the bot replaces the resting stop once that has moved beyond the
    # reconciler's `stop_move_bps`. None: the plan's stops stay exactly as they are.
    trailing_stop_pct: float | None = None
    # MarketFeatures fields the plan depends on beyond the bands (e.g. "swing_low"): any change wakes it.
    feature_changes: tuple[str, ...] = ()

    def problem(self) -> str | None:
        """Why the wake-up cannot be used (a NaN bound), or None."""
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name == "trailing_stop_pct" and value is None:
                continue
            if name == "feature_changes":
                unknown = [f for f in value if f not in MarketFeatures.__dataclass_fields__]
                if unknown:
                    return f"returned a wake-up on unknown features {unknown}"
                continue
            if not isinstance(value, int | float) or value != value:
                return f"returned a wake-up with {name}={value!r}"
        return None


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
    # When the strategy next needs to decide; None (the default): on every trigger. Not part of the plan's
    # identity: two plans that differ only in it are the same plan (nothing to journal, nothing to send).
    wake: WakeUp | None = field(default=None, compare=False)

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
    if plan.wake is not None:
        if not isinstance(plan.wake, WakeUp):
            return f"returned a wake-up of type {type(plan.wake).__name__}, not a WakeUp"
        return plan.wake.problem()
    return None
