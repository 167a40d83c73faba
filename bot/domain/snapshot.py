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
class AssetExposure:
    """One collateral or one debt of the account: its USD value, and how much BTC it moves with."""

    symbol: str
    amount: float  # tokens
    price_usd: float  # the lending oracle's
    beta: float  # its beta to BTC: measured, or its class's fallback (0 for a stablecoin)
    beta_source: str = "fallback"  # "measured", "fallback: eth class", "stablecoin", ...
    liquidation_threshold: float = 0.0  # a collateral's (the e-mode one when it applies); 0 for a debt
    liquidation_price_usd: float = math.nan  # a collateral's own, the other prices held; NaN without debt

    @property
    def value_usd(self) -> float:
        return self.amount * self.price_usd

    @property
    def beta_usd(self) -> float:
        """USD of BTC it moves with: its value times its beta."""
        return self.value_usd * self.beta


@dataclass(frozen=True, slots=True, kw_only=True)
class LendingView:
    """The lending leg: the whole account (every collateral and debt, each with its beta to BTC, and the
    market-wide fall that liquidates it) and the figures of one collateral, the "hedged" one.

    The single-collateral fields (`collateral_asset` ... `liquidation_threshold`) are derived by the lending
    feed from `collaterals`: they are the collateral HEDGEBOT_CHAIN__COLLATERAL_ASSET names (the largest when
    the account holds none of it), whose price drives the collateral trigger, and what plugins written for
    one collateral read. A view built with those fields alone (the replay's one-collateral loan, a plugin's
    test) is an account of that collateral against a stable debt.
    """

    collateral_asset: str
    collateral_amount: float
    collateral_price_usd: float
    total_collateral_usd: float  # all collaterals
    debt_usd: float
    health_factor: float
    liquidation_price_usd: float  # of the hedged collateral, other prices held
    liquidation_threshold: float
    collaterals: tuple[AssetExposure, ...] = ()  # every collateral (empty: the one above alone)
    debts: tuple[AssetExposure, ...] = ()  # every debt
    # The smallest fall of BTC, every asset moving with it at its beta, at which HF reaches 1; None when
    # none does (no debt; or collateral and debt move together) or, without `collaterals`, not measured.
    market_wide_fall: float | None = None
    # False: the account has debt and no market-wide fall liquidates it (a wstETH/WETH e-mode loop: its risk
    # is the peg, not the market): a BTC short does not protect it, and the bot holds none.
    hedgeable: bool = True

    @property
    def not_hedgeable_reason(self) -> str:
        """Why no BTC short is held on this account (for the alert, the log and the decision's reason)."""
        held = ", ".join(c.symbol for c in self.collaterals) or self.collateral_asset
        owed = ", ".join(d.symbol for d in self.debts) or "its debt"
        return (
            f"not hedgeable with a BTC short: no market-wide fall liquidates this account ({held} against {owed} "
            "move together: its risk is their peg, not the market); no short is held"
        )

    @property
    def collateral_usd(self) -> float:
        """USD value of the hedged collateral."""
        return self.collateral_amount * self.collateral_price_usd

    @property
    def whole_account(self) -> bool:
        """Whether the view carries every collateral and debt with its beta (the live feed's does)."""
        return bool(self.collaterals)

    @property
    def net_delta_usd(self) -> float:
        """The account's beta-weighted net delta: USD of BTC it moves with, each collateral's value times its
        beta minus each debt's (a stablecoin debt's beta is 0). Without `collaterals`: the hedged collateral's
        value (beta 1; strategies scale it by their measured beta)."""
        if not self.collaterals:
            return self.collateral_usd
        return sum(c.beta_usd for c in self.collaterals) - sum(d.beta_usd for d in self.debts)

    @property
    def hedged_beta(self) -> float:
        """The hedged collateral's beta in the whole-account view (1 without it)."""
        leg = next((c for c in self.collaterals if c.symbol == self.collateral_asset), None)
        return leg.beta if leg is not None else 1.0

    @property
    def distance_to_liquidation(self) -> float:
        """Fractional fall of the collateral price that reaches liquidation (inf without debt)."""
        if not math.isfinite(self.liquidation_price_usd) or self.collateral_price_usd <= 0:
            return math.inf
        return 1.0 - self.liquidation_price_usd / self.collateral_price_usd

    @property
    def account_distance_to_liquidation(self) -> float:
        """How far the hedged collateral falls before HF reaches 1 when the whole market falls with it (each
        asset at its beta): the market-wide fall in the collateral's own terms. Without the whole account, the
        collateral's own distance (others held); inf when no market-wide fall liquidates the account."""
        if not self.whole_account:
            return self.distance_to_liquidation
        if self.market_wide_fall is None:
            return math.inf
        beta = self.hedged_beta if self.hedged_beta > 0 else 1.0  # a stablecoin collateral: the market's own fall
        return min(1.0, self.market_wide_fall * beta)


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
