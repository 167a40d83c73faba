"""A strategy's answer: the hedge it wants, how to get there and how to protect it."""

from __future__ import annotations

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
