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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

WAD = 10**18
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


def account_data(
    reserves: Sequence[ReserveBalance], rules: PoolRules = V3_0, prices: Sequence[int] | None = None
) -> AccountData:
    """GenericLogic.calculateUserAccountData for `reserves` under `rules`, to the wei.

    `prices`, in the order of `reserves`, stand in for their oracle prices (the searches below move them).
    """
    total_collateral = 0
    total_debt = 0
    weighted_threshold = 0
    ceil_debt = rules.unfloored_health_factor
    gate = rules.threshold_gates_collateral
    for i, r in enumerate(reserves):
        price = r.price if prices is None else prices[i]
        unit = 10**r.decimals
        if r.collateral and r.used_as_collateral:  # counts_as_collateral, inlined: the searches run this a lot
            base = (
                r.liquidation_threshold_bps
                if r.base_liquidation_threshold_bps is None
                else r.base_liquidation_threshold_bps
            )
            if base or not gate:
                value = r.collateral * price // unit
                total_collateral += value
                weighted_threshold += value * r.liquidation_threshold_bps
        if r.debt:
            total_debt += -(-(r.debt * price) // unit) if ceil_debt else price * r.debt // unit
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


def _weighing(reserves: Sequence[ReserveBalance], rules: PoolRules) -> list[ReserveBalance]:
    """The rows that enter the account's figures: counted collateral or debt (the searches skip the rest)."""
    return [r for r in reserves if r.debt or counts_as_collateral(r, rules)]


def _first_crossed(crossed: Callable[[int], bool], lo: int, hi: int, guess: float, step: int = 1) -> int:
    """The smallest x in (lo, hi] at which `crossed` holds, given it fails at lo, holds at hi and does not
    turn back. It starts at `guess` (the float formula's answer, which the integer rounding moves by a few
    units from v3.5, by up to a basis point of threshold before) with `step`, widens its steps until
    the crossing is bracketed, then halves the bracket: a handful of evaluations instead of forty."""
    x = min(max(int(guess), lo + 1), hi)
    if crossed(x):
        hi = x
        while hi - lo > 1 and (x := max(lo + 1, hi - step)) < hi:
            if not crossed(x):
                lo = x
                break
            hi, step = x, step * 4
    else:
        lo = x
        while hi - lo > 1 and (x := min(hi - 1, lo + step)) > lo:
            if crossed(x):
                hi = x
                break
            lo, step = x, step * 4
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if crossed(mid):
            hi = mid
        else:
            lo = mid
    return hi


def _first_step(guess: float, rules: PoolRules) -> int:
    """How far the float guess may be off: a few units from v3.5; before, the weighted threshold's floor to
    whole basis points, about 1e-4 of the answer."""
    return 1 if rules.unfloored_health_factor else max(1, int(abs(guess) * 1e-4))


def liquidation_price(reserves: Sequence[ReserveBalance], symbol: str, rules: PoolRules = V3_0) -> int | None:
    """The lowest oracle price of `symbol` at which HF >= 1, the other prices held.

    One unit below it the account is liquidatable. None when the account has no debt or `symbol` is
    not a collateral of it that weighs (threshold 0); 0 when no price of `symbol` can make it liquidatable.
    """
    rows = _weighing(reserves, rules)
    index = next((i for i, r in enumerate(rows) if r.symbol == symbol), None)
    if index is None:
        return None
    target = rows[index]
    if not (counts_as_collateral(target, rules) and target.liquidation_threshold_bps):
        return None
    if account_data(rows, rules).total_debt_base == 0:
        return None
    moved = [r.price for r in rows]

    # A search rather than a closed form: the floored average threshold, the rounding of each value and
    # an asset that is both collateral and debt make the closed form off by a few units at the boundary.
    def healthy(price: int) -> bool:
        moved[index] = price
        return account_data(rows, rules, moved).health_factor_wad >= WAD

    if healthy(0):
        return 0
    hi = max(target.price, 1)
    while not healthy(hi):
        hi *= 2
        if hi > 10**40:
            return None
    # The float formula: HF = (W + a p) / (D + b p) = 1, with W, D the other reserves' weighted
    # collateral and debt, a and b the target's per unit of its price.
    weighted = debt = 0.0
    for i, r in enumerate(rows):
        if i != index:
            unit = 10**r.decimals
            if counts_as_collateral(r, rules):
                weighted += r.collateral * r.price / unit * r.liquidation_threshold_bps / PERCENTAGE_FACTOR
            debt += r.debt * r.price / unit
    unit = 10**target.decimals
    a = target.collateral / unit * target.liquidation_threshold_bps / PERCENTAGE_FACTOR
    b = target.debt / unit
    guess = (debt - weighted) / (a - b) if a > b else hi
    return _first_crossed(healthy, 0, hi, guess, _first_step(guess, rules))


FALL_UNIT = 10**6  # the market-wide fall's resolution: one part per million


def market_wide_fall(
    reserves: Sequence[ReserveBalance], betas: Sequence[float], rules: PoolRules = V3_0
) -> float | None:
    """The smallest fall of the market at which the account becomes liquidatable (HF < 1), to 1e-6.

    The market falls by `fall` when every reserve's price is multiplied by 1 - beta * fall (`betas`
    in the order of `reserves`: 1 moves with the market, 0 holds, as a stablecoin does; a price never
    goes below 0). 0.0 when it is liquidatable already; None without debt or when no fall gets it
    there: its collateral and debt move together (an e-mode loop), or the debt moves more.
    """
    weighing = [(r, beta) for r, beta in zip(reserves, betas, strict=True) if r.debt or counts_as_collateral(r, rules)]
    rows = [r for r, _ in weighing]
    if account_data(rows, rules).total_debt_base == 0:
        return None

    def liquidatable(fall_units: int) -> bool:
        prices = [r.price * max(0, FALL_UNIT - round(beta * fall_units)) // FALL_UNIT for r, beta in weighing]
        return account_data(rows, rules, prices).health_factor_wad < WAD

    if liquidatable(0):
        return 0.0
    if not liquidatable(FALL_UNIT):
        return None
    # The float formula: sum(w (1 - beta f)) = sum(d (1 - beta f)), linear in the fall f.
    weighted = debt = weighted_beta = debt_beta = 0.0
    for r, beta in weighing:
        unit = 10**r.decimals
        w = r.collateral * r.price / unit * r.liquidation_threshold_bps / PERCENTAGE_FACTOR
        w = w if counts_as_collateral(r, rules) else 0.0
        d = r.debt * r.price / unit
        weighted, debt = weighted + w, debt + d
        weighted_beta, debt_beta = weighted_beta + w * beta, debt_beta + d * beta
    slope = weighted_beta - debt_beta
    guess = (weighted - debt) / slope * FALL_UNIT if slope > 0 else FALL_UNIT / 2
    return _first_crossed(liquidatable, 0, FALL_UNIT, guess, _first_step(guess, rules)) / FALL_UNIT
