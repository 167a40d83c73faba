"""An exact replica of Aave V3's on-chain account math (GenericLogic), in integers, for every version.

Prices are the oracle's base-currency units (USD with 8 decimals); balances are the token's raw units
(interest already applied, as the tokens' balanceOf returns them); thresholds are basis points.

What changed between versions, and what `PoolRules` switches on:
- v3.0 to v3.4 (Pool revision <= 8): HF = percentMul(total collateral, weighted threshold) wadDiv debt,
  with the weighted threshold floored to whole basis points first, and debt in base currency floored.
- v3.5 (revision 9) and later: HF = sum(value * threshold) wadDiv debt / 1e4, no flooring of the
  threshold on the way, and debt in base currency rounded up.
- Before v3.6 (revision < 10) a collateral whose own threshold is 0 does not count at all, even in an
  e-mode that would give it one; from v3.6 it counts, with its e-mode threshold, or with 0 outside.
Which reserves take their e-mode threshold (the category bitmaps from v3.2, the reserve's category bits
before) is decided by the caller (`account`), which hands each row its threshold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

WAD = 10**18
HALF_WAD = WAD // 2
PERCENTAGE_FACTOR = 10_000
HALF_PERCENTAGE_FACTOR = 5_000
HEALTH_FACTOR_LIQUIDATION_THRESHOLD = WAD
MAX_UINT256 = 2**256 - 1

# Pool.POOL_REVISION() of each Aave release (v3.0.x answers 1 to 3); v3.7 (11) keeps v3.6's math.
_RELEASES = ((11, "3.7"), (10, "3.6"), (9, "3.5"), (8, "3.4"), (7, "3.3"), (5, "3.2"), (4, "3.1"), (0, "3.0"))


@dataclass(frozen=True, slots=True)
class PoolRules:
    """Which account math a Pool runs: told by its POOL_REVISION() and by which getters it answers."""

    revision: int = 1
    emode_bitmaps: bool = False  # getEModeCategoryCollateralBitmap answers (v3.2+): e-mode by bitmap

    @property
    def release(self) -> str:
        """The Aave release this revision belongs to, "3.0" to "3.7" (a fork may number its own way)."""
        return next(name for rev, name in _RELEASES if self.revision >= rev)

    @property
    def unfloored_health_factor(self) -> bool:
        """v3.5+: HF from the sum of value * threshold, and debt in base currency rounded up."""
        return self.revision >= 9

    @property
    def threshold_gates_collateral(self) -> bool:
        """Before v3.6: a collateral whose own threshold is 0 counts for nothing, in e-mode or not."""
        return self.revision < 10


V3_0 = PoolRules(1, emode_bitmaps=False)
V3_6 = PoolRules(10, emode_bitmaps=True)


def percent_mul(value: int, percentage: int) -> int:
    """PercentageMath.percentMul: value * percentage / 1e4, rounded half up."""
    return (value * percentage + HALF_PERCENTAGE_FACTOR) // PERCENTAGE_FACTOR


def wad_div(a: int, b: int) -> int:
    """WadRayMath.wadDiv: a * 1e18 / b, rounded half up."""
    return (a * WAD + b // 2) // b


def mul_div_ceil(a: int, b: int, c: int) -> int:
    """MathUtils.mulDivCeil: a * b / c, rounded up."""
    return -(-(a * b) // c)


@dataclass(frozen=True, slots=True)
class ReserveBalance:
    """One reserve of one account, as the pool sees it."""

    symbol: str
    price: int  # oracle price, base currency units
    decimals: int
    liquidation_threshold_bps: int  # the one that weighs: the e-mode one when it applies
    collateral: int = 0  # aToken balance, raw units; counted only if used as collateral
    debt: int = 0  # variable + stable debt, raw units
    used_as_collateral: bool = True
    # The reserve's own threshold, which gates before v3.6; None: the same as liquidation_threshold_bps.
    base_liquidation_threshold_bps: int | None = None


@dataclass(frozen=True, slots=True)
class AccountData:
    """What Pool.getUserAccountData's relevant fields return."""

    total_collateral_base: int
    total_debt_base: int
    current_liquidation_threshold_bps: int
    health_factor_wad: int


def counts_as_collateral(r: ReserveBalance, rules: PoolRules = V3_0) -> bool:
    """Whether the Pool adds this reserve's balance to the account's collateral."""
    if not (r.collateral and r.used_as_collateral):
        return False
    base = r.liquidation_threshold_bps if r.base_liquidation_threshold_bps is None else r.base_liquidation_threshold_bps
    return base != 0 or not rules.threshold_gates_collateral


def account_data(reserves: Sequence[ReserveBalance], rules: PoolRules = V3_0) -> AccountData:
    """GenericLogic.calculateUserAccountData for `reserves` under `rules`, to the wei."""
    total_collateral = 0
    total_debt = 0
    weighted_threshold = 0
    for r in reserves:
        unit = 10**r.decimals
        if counts_as_collateral(r, rules):
            value = r.collateral * r.price // unit
            total_collateral += value
            weighted_threshold += value * r.liquidation_threshold_bps
        if r.debt:
            total_debt += (
                mul_div_ceil(r.debt, r.price, unit) if rules.unfloored_health_factor else r.price * r.debt // unit
            )
    avg_threshold = weighted_threshold // total_collateral if total_collateral else 0
    if total_debt == 0:
        hf = MAX_UINT256
    elif rules.unfloored_health_factor:
        hf = wad_div(weighted_threshold, total_debt) // PERCENTAGE_FACTOR
    else:
        hf = wad_div(percent_mul(total_collateral, avg_threshold), total_debt)
    return AccountData(total_collateral, total_debt, avg_threshold, hf)


def is_liquidatable(reserves: Sequence[ReserveBalance], rules: PoolRules = V3_0) -> bool:
    """True when the pool would accept a liquidationCall (HF < 1)."""
    return account_data(reserves, rules).health_factor_wad < HEALTH_FACTOR_LIQUIDATION_THRESHOLD


def with_prices(reserves: Sequence[ReserveBalance], prices: dict[int, int]) -> list[ReserveBalance]:
    """`reserves` with the rows at the given indexes repriced."""
    return [replace(r, price=prices[i]) if i in prices else r for i, r in enumerate(reserves)]


def liquidation_price(reserves: Sequence[ReserveBalance], symbol: str, rules: PoolRules = V3_0) -> int | None:
    """The lowest oracle price of `symbol` at which HF >= 1, the other prices held.

    One unit below it the account is liquidatable. None when the account has no debt or `symbol` is
    not a collateral of it that weighs (threshold 0); 0 when no price of `symbol` can make it liquidatable.
    """
    index = next((i for i, r in enumerate(reserves) if r.symbol == symbol), None)
    if index is None:
        return None
    target = reserves[index]
    if not (counts_as_collateral(target, rules) and target.liquidation_threshold_bps):
        return None
    if account_data(reserves, rules).total_debt_base == 0:
        return None

    # A search rather than a closed form: the floored average threshold, the rounding of each value and
    # an asset that is both collateral and debt make the closed form off by a few units at the boundary.
    def healthy(price: int) -> bool:
        return account_data(with_prices(reserves, {index: price}), rules).health_factor_wad >= WAD

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
