"""The immutable view of the world a strategy decides on."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TypeVar, cast

from bot.domain.features.tracker import NEUTRAL_FEATURES, MarketFeatures
from bot.domain.instruments import Instrument

StateValue = float | int | str | bool | None
StrategyState = Mapping[str, StateValue]
EMPTY_STATE: StrategyState = MappingProxyType({})
S = TypeVar("S", bound=Mapping[str, object])


@dataclass(frozen=True, slots=True, kw_only=True)
class LendingView:
    """The lending leg: the hedged collateral and the whole position's health."""

    collateral_asset: str
    collateral_amount: float
    collateral_price_usd: float
    total_collateral_usd: float  # all collaterals
    debt_usd: float
    health_factor: float
    liquidation_price_usd: float  # of the hedged collateral, other prices held
    liquidation_threshold: float

    @property
    def collateral_usd(self) -> float:
        """USD value of the hedged collateral."""
        return self.collateral_amount * self.collateral_price_usd

    @property
    def distance_to_liquidation(self) -> float:
        """Fractional fall of the collateral price that reaches liquidation (inf without debt)."""
        if not math.isfinite(self.liquidation_price_usd) or self.collateral_price_usd <= 0:
            return math.inf
        return 1.0 - self.liquidation_price_usd / self.collateral_price_usd


@dataclass(frozen=True, slots=True, kw_only=True)
class HedgeView:
    """The futures leg as the venue reports it."""

    contracts: int  # signed: negative is short
    entry_price: float
    equity_btc: float  # wallet plus unrealised PnL
    stop_price: float | None = None  # resting protective stop, if any
    liquidation_price: float | None = None  # the venue's, when it reports one (None: unknown or none)

    @property
    def short_contracts(self) -> int:
        return max(0, -self.contracts)


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """Everything a strategy may look at, at one instant. The clock is a value, `now_ms`."""

    now_ms: int
    btc_price: float  # mark price of the inverse perpetual
    lending: LendingView
    hedge: HedgeView
    instrument: Instrument
    funding_rate_8h: float = 0.0001  # current or predicted rate per 8 h; positive: longs pay shorts
    features: MarketFeatures = NEUTRAL_FEATURES
    state: StrategyState = field(default_factory=lambda: EMPTY_STATE)

    @property
    def hedge_equity_usd(self) -> float:
        return self.hedge.equity_btc * self.btc_price

    def state_as(self, state_type: type[S]) -> S:
        """`state` read as a strategy's declared State (a TypedDict): what its last plan kept, empty at first.

        Only the type changes: the mapping is the one the last plan returned (or the journal restored).
        """
        return cast(S, self.state)
