"""An exact replica of Aave V3's on-chain account math (GenericLogic, v3.0.x), in integers.

Prices are the oracle's base-currency units (USD with 8 decimals); balances are the token's raw units
(interest already applied); thresholds are basis points. The weighted liquidation threshold is
floored to whole basis points, as on chain, so with several collaterals the float formula in
`health` is slightly too optimistic: the monitor uses this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WAD = 10**18
PERCENTAGE_FACTOR = 10_000
HALF_PERCENTAGE_FACTOR = 5_000
HEALTH_FACTOR_LIQUIDATION_THRESHOLD = WAD
MAX_UINT256 = 2**256 - 1


def percent_mul(value: int, percentage: int) -> int:
    """PercentageMath.percentMul: value * percentage / 1e4, rounded half up."""
    return (value * percentage + HALF_PERCENTAGE_FACTOR) // PERCENTAGE_FACTOR


def wad_div(a: int, b: int) -> int:
    """WadRayMath.wadDiv: a * 1e18 / b, rounded half up."""
    return (a * WAD + b // 2) // b


@dataclass(frozen=True, slots=True)
class ReserveBalance:
    """One reserve of one account, as the pool sees it."""

    symbol: str
    price: int  # oracle price, base currency units
    decimals: int
    liquidation_threshold_bps: int
    collateral: int = 0  # aToken balance, raw units; counted only if used as collateral
    debt: int = 0  # variable + stable debt, raw units
    used_as_collateral: bool = True


@dataclass(frozen=True, slots=True)
class AccountData:
    """What Pool.getUserAccountData's relevant fields return."""

    total_collateral_base: int
    total_debt_base: int
    current_liquidation_threshold_bps: int
    health_factor_wad: int


def account_data(reserves: Sequence[ReserveBalance]) -> AccountData:
    """GenericLogic.calculateUserAccountData for `reserves`, to the wei."""
    total_collateral = 0
    total_debt = 0
    weighted_threshold = 0
    for r in reserves:
        unit = 10**r.decimals
        if r.collateral and r.used_as_collateral and r.liquidation_threshold_bps != 0:
            value = r.collateral * r.price // unit
            total_collateral += value
            weighted_threshold += value * r.liquidation_threshold_bps
        if r.debt:
            total_debt += r.price * r.debt // unit
    avg_threshold = weighted_threshold // total_collateral if total_collateral else 0
    hf = MAX_UINT256 if total_debt == 0 else wad_div(percent_mul(total_collateral, avg_threshold), total_debt)
    return AccountData(total_collateral, total_debt, avg_threshold, hf)


def is_liquidatable(reserves: Sequence[ReserveBalance]) -> bool:
    """True when the pool would accept a liquidationCall (HF < 1)."""
    return account_data(reserves).health_factor_wad < HEALTH_FACTOR_LIQUIDATION_THRESHOLD


def _with_price(reserves: Sequence[ReserveBalance], index: int, price: int) -> list[ReserveBalance]:
    out = list(reserves)
    r = out[index]
    out[index] = ReserveBalance(
        r.symbol, price, r.decimals, r.liquidation_threshold_bps, r.collateral, r.debt, r.used_as_collateral
    )
    return out


def liquidation_price(reserves: Sequence[ReserveBalance], symbol: str) -> int | None:
    """The lowest oracle price of `symbol` at which HF >= 1, the other prices held.

    One unit below it the account is liquidatable. None when the account has no debt or `symbol` is
    not a collateral of it; 0 when no price of `symbol` can make it liquidatable.
    """
    index = next((i for i, r in enumerate(reserves) if r.symbol == symbol), None)
    if index is None:
        return None
    target = reserves[index]
    if not (target.collateral and target.used_as_collateral and target.liquidation_threshold_bps):
        return None
    if account_data(reserves).total_debt_base == 0:
        return None

    # A search rather than a closed form: the floored average threshold and an asset that is both
    # collateral and debt make the closed form off by a few units at the boundary.
    def healthy(price: int) -> bool:
        return account_data(_with_price(reserves, index, price)).health_factor_wad >= WAD

    if healthy(0):
        return 0
    hi = max(target.price, 1)
    while not healthy(hi):
        hi *= 2
        if hi > 10**40:
            return None
    lo = 0  # unhealthy at lo, healthy at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if healthy(mid):
            hi = mid
        else:
            lo = mid
    return hi
