"""What a watched Aave account looks like to the engine, built from raw chain reads (pure, integers in).

The monitor reads integers from the chain and hands them here; this module applies Aave's own rules
(`aave_math`, incl. e-mode) and returns small frozen values with USD floats for people and strategies.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bot.domain.lending.aave_math import (
    MAX_UINT256,
    V3_0,
    WAD,
    PoolRules,
    ReserveBalance,
    account_data,
    counts_as_collateral,
    liquidation_price,
    market_wide_fall,
)
from bot.domain.lending.betas import STABLECOIN_SYMBOLS


@dataclass(frozen=True, slots=True)
class ReserveState:
    """One reserve of the market at one block."""

    asset: str
    symbol: str
    decimals: int
    price: int  # oracle price, base currency units
    ltv_bps: int
    liquidation_threshold_bps: int
    emode_category: int  # the configuration's bits 168-175: e-mode before v3.2, stale or 0 after
    feed_updated_at: int | None = None  # the feed's latestRoundData updatedAt (s); None if it has none
    reserve_id: int = 0  # its bit in the e-mode bitmaps


@dataclass(frozen=True, slots=True)
class EModeCategory:
    """An e-mode category; `price` is its price source's price (before v3.2), 0 when it has none.

    From v3.2 a reserve is a collateral of the category when its bit is set in `collateral_bitmap`;
    before (None), when the category number in its own configuration is this one.
    """

    category_id: int
    ltv_bps: int
    liquidation_threshold_bps: int
    price: int = 0
    collateral_bitmap: int | None = None

    def has_collateral(self, reserve: ReserveState) -> bool:
        """Whether `reserve` takes this category's threshold as a collateral."""
        if self.category_id == 0:
            return False
        if self.collateral_bitmap is not None:
            return bool(self.collateral_bitmap >> reserve.reserve_id & 1)
        return reserve.emode_category == self.category_id


@dataclass(frozen=True, slots=True)
class UserReserve:
    """One account's balances in one reserve (raw units, interest applied)."""

    collateral: int
    stable_debt: int
    variable_debt: int
    used_as_collateral: bool


@dataclass(frozen=True, slots=True)
class ChainAccountData:
    """Pool.getUserAccountData, as returned."""

    total_collateral_base: int
    total_debt_base: int
    available_borrows_base: int
    liquidation_threshold_bps: int
    ltv_bps: int
    health_factor_wad: int


@dataclass(frozen=True, slots=True)
class CollateralPosition:
    """A collateral reserve of an account, and the oracle price of it that makes the account liquidatable."""

    symbol: str
    address: str
    amount: float  # tokens
    amount_raw: int
    price_usd: float  # the Aave oracle's price, the one liquidations use
    price_raw: int
    liquidation_threshold: float  # fraction, 0.83 for 83 % (the e-mode one when it applies)
    liquidation_price_usd: float | None  # lowest price keeping HF >= 1, the other prices held; None without debt
    liquidation_price_raw: int | None


@dataclass(frozen=True, slots=True)
class DebtPosition:
    """A borrowed reserve of an account."""

    symbol: str
    address: str
    amount: float  # tokens, stable + variable
    amount_raw: int
    price_usd: float


@dataclass(frozen=True, slots=True)
class AccountHealth:
    """One account at one block. Do not trade on it when `stale` is set."""

    account: str
    block_number: int
    block_timestamp: int
    stale: bool
    health_factor: float  # inf without debt
    health_factor_wad: int
    total_collateral_usd: float
    total_debt_usd: float
    liquidation_threshold: float  # the weighted one, floored to whole bps as on chain
    emode_category: int
    collaterals: tuple[CollateralPosition, ...]
    debts: tuple[DebtPosition, ...]
    matches_chain: bool  # the replica's totals and HF equal Pool.getUserAccountData's
    aave_release: str = ""  # "3.6": the release whose math the replica followed (from the Pool's revision)
    pool_revision: int = 0
    # The smallest market-wide fall (every asset times 1 - beta * fall) that makes it liquidatable; None
    # without debt or when none does: then a BTC short does not hedge it (its collateral and debt move
    # together, like a wstETH/WETH e-mode loop whose risk is the peg, not the market).
    market_wide_fall: float | None = None

    @property
    def hedgeable_with_a_short(self) -> bool:
        """Whether a market-wide fall can liquidate it, so that a short on the market protects it."""
        return self.market_wide_fall is not None


@dataclass(frozen=True, slots=True)
class PriceCheck:
    """Whether a reserve's oracle price can be trusted: fresh, and near the exchange's mark if given."""

    symbol: str
    address: str
    price_usd: float
    updated_at: int | None
    age_s: float | None
    stale: bool  # older than its heartbeat
    divergence: float | None  # |oracle - mark| / mark
    diverged: bool

    @property
    def flagged(self) -> bool:
        return self.stale or self.diverged


def volatile_together(symbol: str) -> float:
    """The market-wide fall's betas when none are measured (`hedgebot health`): 0 for a stablecoin, 1 for the rest."""
    return 0.0 if symbol.upper() in STABLECOIN_SYMBOLS else 1.0


def health_factor_float(health_factor_wad: int) -> float:
    """The WAD health factor as a float; inf for the no-debt sentinel."""
    return math.inf if health_factor_wad >= MAX_UINT256 else health_factor_wad / WAD


def account_health(
    account: str,
    reserves: Sequence[ReserveState],
    balances: Sequence[UserReserve],
    chain: ChainAccountData,
    emode: EModeCategory | None,
    base_unit: int,
    block_number: int,
    block_timestamp: int,
    stale: bool,
    rules: PoolRules = V3_0,
    betas: Callable[[str], float] | None = None,
) -> AccountHealth:
    """The account's health from its balances, as the Pool's GenericLogic computes it under `rules`, with
    liquidation prices and the market-wide fall to liquidation (`betas`: each symbol's beta to BTC; by default
    `volatile_together`: every asset but stablecoins falling together)."""
    rows: list[ReserveBalance] = []
    for state, bal in zip(reserves, balances, strict=True):
        category = emode if emode is not None and emode.has_collateral(state) else None
        price, threshold = state.price, state.liquidation_threshold_bps
        if category is not None:
            threshold = category.liquidation_threshold_bps
            # Only the legacy e-mode (before v3.2) has a price source; it prices the category's debts too.
            if category.collateral_bitmap is None and category.price:
                price = category.price
        rows.append(
            ReserveBalance(
                symbol=state.asset,
                price=price,
                decimals=state.decimals,
                liquidation_threshold_bps=threshold,
                collateral=bal.collateral,
                debt=bal.stable_debt + bal.variable_debt,
                used_as_collateral=bal.used_as_collateral,
                base_liquidation_threshold_bps=state.liquidation_threshold_bps,
            )
        )
    replica = account_data(rows, rules)
    beta_of = betas or volatile_together
    row_betas = [beta_of(state.symbol) for state in reserves]
    collaterals = []
    debts = []
    for state, row in zip(reserves, rows, strict=True):
        if counts_as_collateral(row, rules):
            liq = liquidation_price(rows, state.asset, rules)
            collaterals.append(
                CollateralPosition(
                    symbol=state.symbol,
                    address=state.asset,
                    amount=row.collateral / 10**state.decimals,
                    amount_raw=row.collateral,
                    price_usd=row.price / base_unit,
                    price_raw=row.price,
                    liquidation_threshold=row.liquidation_threshold_bps / 10_000,
                    liquidation_price_usd=None if liq is None else liq / base_unit,
                    liquidation_price_raw=liq,
                )
            )
        if row.debt:
            debts.append(
                DebtPosition(state.symbol, state.asset, row.debt / 10**state.decimals, row.debt, row.price / base_unit)
            )
    matches = (
        replica.total_collateral_base == chain.total_collateral_base
        and replica.total_debt_base == chain.total_debt_base
        and replica.current_liquidation_threshold_bps == chain.liquidation_threshold_bps
        and replica.health_factor_wad == chain.health_factor_wad
    )
    return AccountHealth(
        account=account,
        block_number=block_number,
        block_timestamp=block_timestamp,
        stale=stale,
        # The chain's own figures are the ones reported; the replica is there for the liquidation prices.
        health_factor=health_factor_float(chain.health_factor_wad),
        health_factor_wad=chain.health_factor_wad,
        total_collateral_usd=chain.total_collateral_base / base_unit,
        total_debt_usd=chain.total_debt_base / base_unit,
        liquidation_threshold=chain.liquidation_threshold_bps / 10_000,
        emode_category=emode.category_id if emode else 0,
        collaterals=tuple(collaterals),
        debts=tuple(debts),
        matches_chain=matches,
        aave_release=rules.release,
        pool_revision=rules.revision,
        market_wide_fall=market_wide_fall(rows, row_betas, rules),
    )


def check_price(
    state: ReserveState,
    base_unit: int,
    now_s: float,
    heartbeat_s: float,
    mark_usd: float | None = None,
    max_divergence: float | None = None,
) -> PriceCheck:
    """Flags a reserve's oracle price older than `heartbeat_s` or further than `max_divergence` from `mark_usd`."""
    price_usd = state.price / base_unit
    age = None if state.feed_updated_at is None else max(0.0, now_s - state.feed_updated_at)
    divergence = None
    if mark_usd is not None and mark_usd > 0:
        divergence = abs(price_usd - mark_usd) / mark_usd
    return PriceCheck(
        symbol=state.symbol,
        address=state.asset,
        price_usd=price_usd,
        updated_at=state.feed_updated_at,
        age_s=age,
        stale=age is not None and age > heartbeat_s,
        divergence=divergence,
        diverged=divergence is not None and max_divergence is not None and divergence > max_divergence,
    )


def marks_by_symbol(marks_usd: Mapping[str, float] | None, symbol: str) -> float | None:
    """The exchange mark for `symbol`, matching case-insensitively."""
    if not marks_usd:
        return None
    lowered = {k.upper(): v for k, v in marks_usd.items()}
    return lowered.get(symbol.upper())
