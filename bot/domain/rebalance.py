"""When a gap between the short and its target is worth an order: the one change policy. Pure.

Hummingbot's hedge loop trades only when the gap to target exceeds a minimum size and a cooldown has
passed since its last order; this is that rule. The band is relative (a share of the position), so a
728-contract short is not traded back to 727 seconds after a trade, each with a market order, a stop
replacement and an alert. Opening a short from nothing and closing it entirely are never held back.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.domain.plan import HedgePlan, StopTranche, shrink_stops


@dataclass(frozen=True, slots=True)
class ChangePolicy:
    """A gap is traded when it reaches max(min_change_contracts, band x position) and the cooldown has passed."""

    min_change_contracts: int = 1
    band: float = 0.0  # share of the larger of the position and its target
    cooldown_ms: int = 0  # since the last fill of ours

    def threshold(self, target: int, held: int) -> int:
        """The smallest gap, in contracts, worth an order between a short of `held` and a target of `target`."""
        return max(self.min_change_contracts, math.ceil(self.band * max(target, held) - 1e-9))

    def gap_worth_trading(self, target: int, held: int) -> bool:
        """Whether the gap alone is worth an order (opening and closing always are)."""
        gap = abs(target - held)
        if gap == 0:
            return False
        if target == 0 or held == 0:
            return True
        return gap >= self.threshold(target, held)

    def cooled(self, target: int, held: int, now_ms: int | None, last_fill_ms: int | None) -> bool:
        """Whether the cooldown since our last fill has passed (opening and closing never wait for it)."""
        if target == 0 or held == 0 or now_ms is None or last_fill_ms is None:
            return True
        return now_ms - last_fill_ms >= self.cooldown_ms

    def worth_trading(self, target: int, held: int, now_ms: int | None = None, last_fill_ms: int | None = None) -> bool:
        """Whether to trade a short of `held` toward `target` now."""
        return self.gap_worth_trading(target, held) and self.cooled(target, held, now_ms, last_fill_ms)


def hold_within_band(
    plan: HedgePlan, held: int, policy: ChangePolicy, now_ms: int | None = None, last_fill_ms: int | None = None
) -> HedgePlan:
    """`plan`, or, when its change to a short of `held` is not worth trading now, the same plan holding `held`.

    The stops are resized to the short that stays, so the risk layer fits them to that short's own
    liquidation price and nothing is replaced for a change that is not made.
    """
    if plan.contracts == held or policy.worth_trading(plan.contracts, held, now_ms, last_fill_ms):
        return plan
    why = (
        f"{held} -> {plan.contracts} within the band of {policy.threshold(plan.contracts, held)} contracts"
        if not policy.gap_worth_trading(plan.contracts, held)
        else f"{held} -> {plan.contracts} waits for the {policy.cooldown_ms / 1000:g} s cooldown"
    )
    return plan.with_(contracts=held, stops=resize_stops(plan.stops, held), reason=f"{plan.reason}; held: {why}")


def resize_stops(stops: tuple[StopTranche, ...], contracts: int) -> tuple[StopTranche, ...]:
    """Stops covering exactly `contracts`: the last tranches cut first, any extra added to the first."""
    if not stops or contracts <= 0:
        return ()
    total = sum(t.contracts for t in stops)
    if contracts > total:
        first = stops[0]
        return (StopTranche(first.price, first.contracts + contracts - total, first.label), *stops[1:])
    return shrink_stops(stops, contracts)
