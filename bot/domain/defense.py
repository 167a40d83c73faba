"""Defending a loan on chain: the action a guardian wallet takes and how much it spends (pure).

Aave V3 lets anyone repay a borrower's debt (`Pool.repay(asset, amount, 2, onBehalfOf)`) or supply
collateral for them (`Pool.supply(asset, amount, onBehalfOf, 0)`), so a separate guardian wallet
holding a reserve can raise a health factor without the borrower's key. A futures short cannot.

Two levels, as in the rest of the core:
- the decision step works in USD floats (`plan_defense`, from a `LendingView` and a `GuardianView`),
  which is all the backtest has and is exact enough to decide *whether* and *roughly how much*;
- the guardian, just before it signs, computes the *exact* amount from the chain's integers
  (`repay_to_reach`, `supply_to_reach`) with the Pool's own account math (`aave_math`), and spends
  that, never more than the action allows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Literal

from bot.domain.lending.aave_math import WAD, AccountData, ReserveBalance, account_data
from bot.domain.snapshot import LendingView

DefenseKind = Literal["repay", "supply"]
DEFENSE_KINDS: tuple[DefenseKind, ...] = ("repay", "supply")

# Interest keeps accruing between the block the amount is computed on and the block the transaction
# lands in: 5 ppm of the debts covers 13 minutes at a 20 % borrow rate. The HF lands that much beyond
# the target at most (1.35 -> 1.350007), which is "at the target" for any purpose.
DEFAULT_MARGIN_PPM = 5
# The Pool converts an amount to scaled units with rayDiv (half up) and back with rayMul: the balance
# after a repay or a supply can be one unit off the plain difference, so one unit more is spent.
POOL_ROUNDING_UNITS = 1
# The USD plan is a cap for the exact amount computed at signing; this much headroom keeps the cap
# from falling a few units short of the exact need when the state moved by a block in between.
PLAN_HEADROOM = 0.002

AccountMath = Callable[[Sequence[ReserveBalance]], AccountData]


@dataclass(frozen=True, slots=True, kw_only=True)
class DefenseAction:
    """One on-chain defense: repay debt or supply collateral for the borrower, to reach a target HF.

    `amount` is in the token's smallest unit and is the most the guardian may spend on it: at signing
    it computes the exact amount the chain then needs and spends that, up to `amount`.
    """

    kind: DefenseKind
    asset_symbol: str
    asset_address: str
    amount: int
    target_health_factor: float
    reason: str
    amount_usd: float = 0.0  # `amount` at the oracle price the plan saw


@dataclass(frozen=True, slots=True, kw_only=True)
class DefensePolicy:
    """The defense settings as plain values: when to defend, to what, with what, how much a day."""

    action: DefenseKind = "repay"
    asset: str | None = None  # None: the largest debt (repay) or the hedged collateral (supply)
    trigger_health_factor: float = 1.15
    target_health_factor: float = 1.35
    max_usd_per_day: float = 10_000.0


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardianView:
    """What the decision step and the status know of the guardian at one block."""

    enabled: bool  # a key is set and the guardian can act (gas, reserve, no transaction in flight)
    problem: str | None = None  # why it cannot act, for a person
    address: str = ""
    asset_symbol: str = ""
    asset_address: str = ""
    decimals: int = 18
    reserve: int = 0  # the guardian's balance of the asset, smallest unit
    price_usd: float = 0.0  # the Aave oracle's price of the asset
    liquidation_threshold: float = 0.0  # of the asset as collateral (fraction), for `supply`
    spent_today_usd: float = 0.0  # defenses sent in the last 24 h
    in_flight: bool = False  # a defense transaction is sent and not yet confirmed

    @property
    def reserve_usd(self) -> float:
        return float(self.reserve / 10**self.decimals * self.price_usd)


@dataclass(frozen=True, slots=True, kw_only=True)
class DefenseStatus:
    """The guardian's lines of `hedgebot status`."""

    enabled: bool
    problem: str | None
    address: str
    action: DefenseKind
    asset_symbol: str
    reserve: float  # tokens
    reserve_usd: float
    spent_today_usd: float
    max_usd_per_day: float
    trigger_health_factor: float
    target_health_factor: float
    next_defense_price_usd: float  # the hedged collateral's price at which the next defense fires
    next_defense_usd: float  # what that defense would spend
    reserve_covers_next: bool


# --- exact amounts, in the chain's integers --------------------------------------------------------


def health_factor_wad(health_factor: float) -> int:
    """`health_factor` as the Pool's WAD integer, from its decimal text (1.35 -> 1_350_000_000_000_000_000)."""
    return int(Decimal(repr(health_factor)) * WAD)


def _grow(amount: int, margin_ppm: int) -> int:
    return amount + -(-amount * margin_ppm // 1_000_000) if amount else 0


def _index(reserves: Sequence[ReserveBalance], asset: str) -> int:
    for i, r in enumerate(reserves):
        if r.symbol.lower() == asset.lower():
            return i
    raise ValueError(f"{asset} is not among the account's reserves")


def _smallest(reaches: Callable[[int], bool], hi: int) -> int:
    """The smallest x in [1, hi] with reaches(x), given reaches(hi) and that reaches is monotone."""
    lo = 0  # reaches(lo) is false
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if reaches(mid):
            hi = mid
        else:
            lo = mid
    return hi


def repay_to_reach(
    reserves: Sequence[ReserveBalance],
    asset: str,
    target_health_factor_wad: int,
    *,
    account_math: AccountMath = account_data,
    margin_ppm: int = DEFAULT_MARGIN_PPM,
) -> int | None:
    """The smallest repayment of `asset` (smallest unit) after which the Pool's HF is at least the target.

    `reserves` are the account's rows as `aave_math` reads them (`symbol` is whatever key the caller
    uses, usually the asset's address); `account_math` is the Pool's math for its version (pass
    `functools.partial(account_data, rules=...)` for a v3.5+ Pool). Every debt is first grown by
    `margin_ppm` for the interest that accrues until the transaction lands, and one unit is added for
    the Pool's scaled-balance rounding. 0 when the account is already at the target; None when even
    repaying all of `asset` would not reach it (other debts remain).
    """
    index = _index(reserves, asset)
    grown = [replace(r, debt=_grow(r.debt, margin_ppm)) for r in reserves]

    def hf_after(repaid: int) -> int:
        rows = list(grown)
        rows[index] = replace(grown[index], debt=max(grown[index].debt - repaid, 0))
        return account_math(rows).health_factor_wad

    if hf_after(0) >= target_health_factor_wad:
        return 0
    whole = grown[index].debt
    if whole == 0 or hf_after(whole) < target_health_factor_wad:
        return None
    needed = _smallest(lambda x: hf_after(x) >= target_health_factor_wad, whole)
    # Repaying more than the debt is harmless (the Pool takes what is owed): no cap below `needed`.
    return needed + POOL_ROUNDING_UNITS


def supply_to_reach(
    reserves: Sequence[ReserveBalance],
    asset: str,
    target_health_factor_wad: int,
    *,
    account_math: AccountMath = account_data,
    margin_ppm: int = DEFAULT_MARGIN_PPM,
) -> int | None:
    """The smallest supply of `asset` on the borrower's behalf after which the Pool's HF is at least the target.

    `reserves` must hold a row for `asset`, with its price, decimals and the liquidation threshold it
    takes for this account (0 collateral if the borrower has none: a first supply is enabled as
    collateral). Debts are grown by `margin_ppm` and one unit added for rounding, as in
    `repay_to_reach`. 0 when already at the target; None when supplying it cannot help (the borrower
    holds it with collateral use switched off, or its threshold is 0).
    """
    index = _index(reserves, asset)
    row = reserves[index]
    if (row.collateral and not row.used_as_collateral) or row.liquidation_threshold_bps == 0:
        return None
    grown = [replace(r, debt=_grow(r.debt, margin_ppm)) for r in reserves]
    grown[index] = replace(grown[index], used_as_collateral=True)

    def hf_after(supplied: int) -> int:
        rows = list(grown)
        rows[index] = replace(grown[index], collateral=grown[index].collateral + supplied)
        return account_math(rows).health_factor_wad

    if hf_after(0) >= target_health_factor_wad:
        return 0
    hi = max(10**row.decimals, 1)
    while hf_after(hi) < target_health_factor_wad:
        hi *= 2
        if hi > 10**60:
            return None
    return _smallest(lambda x: hf_after(x) >= target_health_factor_wad, hi) + POOL_ROUNDING_UNITS


@dataclass(frozen=True, slots=True)
class Spend:
    """What a defense spends at signing: the exact need, and what is spent after the caps."""

    exact: int | None  # the smallest amount reaching the target; 0: at it already; None: out of reach
    amount: int  # min(exact, every cap); the caps alone when the target is out of reach
    capped: bool  # the amount falls short of the exact need: the target will not be reached


def exact_spend(
    kind: DefenseKind,
    reserves: Sequence[ReserveBalance],
    asset: str,
    target_health_factor: float,
    caps: Sequence[int],
    *,
    chain_health_factor_wad: int | None = None,
    account_math: AccountMath = account_data,
    margin_ppm: int = DEFAULT_MARGIN_PPM,
) -> Spend:
    """The amount of `asset` a `kind` defense spends now to reach the target, within `caps`.

    When the chain's HF (`chain_health_factor_wad`) differs from the replica's (a Pool whose version the
    replica was not told), the target is scaled by replica/chain, so that the chain's HF reaches it.
    """
    target = health_factor_wad(target_health_factor)
    replica = account_math(reserves).health_factor_wad
    if chain_health_factor_wad and replica != chain_health_factor_wad:
        target = -(-target * replica // chain_health_factor_wad)
    reach = repay_to_reach if kind == "repay" else supply_to_reach
    exact = reach(reserves, asset, target, account_math=account_math, margin_ppm=margin_ppm)
    limit = min(caps) if caps else 0
    if exact is None:
        return Spend(None, max(limit, 0), True)
    amount = max(min(exact, limit), 0)
    return Spend(exact, amount, amount < exact)


def price_at_health_factor(
    reserves: Sequence[ReserveBalance],
    collateral: str,
    target_wad: int,
    *,
    account_math: AccountMath = account_data,
) -> int | None:
    """The lowest oracle price of `collateral` at which the HF is still at least the given one, others held.

    `aave_math.liquidation_price` at any HF, e.g. the trigger: one unit below it the defense fires.
    None without debt or when no price reaches it.
    """
    index = _index(reserves, collateral)

    def at_least(price: int) -> bool:
        rows = list(reserves)
        rows[index] = replace(reserves[index], price=price)
        return account_math(rows).health_factor_wad >= target_wad

    if account_math(reserves).total_debt_base == 0:
        return None
    if at_least(0):
        return 0
    hi = max(reserves[index].price, 1)
    while not at_least(hi):
        hi *= 2
        if hi > 10**40:
            return None
    return _smallest(at_least, hi)


# --- the decision step's view, in USD floats --------------------------------------------------------


def _weighted_collateral_usd(lending: LendingView) -> float:
    """sum(collateral value x liquidation threshold), recovered from the HF: HF x debt."""
    return lending.health_factor * lending.debt_usd


def repay_usd_to_reach(lending: LendingView, target_health_factor: float) -> float:
    """USD of debt to repay so that HF reaches `target_health_factor`; 0 when it is there already."""
    if lending.debt_usd <= 0 or lending.health_factor >= target_health_factor:
        return 0.0
    return lending.debt_usd - _weighted_collateral_usd(lending) / target_health_factor


def supply_usd_to_reach(lending: LendingView, target_health_factor: float, liquidation_threshold: float) -> float:
    """USD of collateral (weighing `liquidation_threshold`) to supply so that HF reaches the target."""
    if lending.debt_usd <= 0 or lending.health_factor >= target_health_factor:
        return 0.0
    if liquidation_threshold <= 0:
        return math.inf
    return (target_health_factor * lending.debt_usd - _weighted_collateral_usd(lending)) / liquidation_threshold


def defense_trigger_price(lending: LendingView, trigger_health_factor: float) -> float:
    """The hedged collateral's price at which HF falls to the trigger, the other prices held.

    NaN without debt or without the hedged collateral; 0 when the other collaterals alone hold it there.
    """
    weight = lending.collateral_amount * lending.liquidation_threshold
    if lending.debt_usd <= 0 or weight <= 0:
        return math.nan
    others = _weighted_collateral_usd(lending) - lending.collateral_usd * lending.liquidation_threshold
    return max((trigger_health_factor * lending.debt_usd - others) / weight, 0.0)


def next_defense_usd(policy: DefensePolicy, debt_usd: float, liquidation_threshold: float = 0.0) -> float:
    """What the next defense spends when it fires: from the trigger to the target, at today's debt."""
    trigger, target = policy.trigger_health_factor, policy.target_health_factor
    if debt_usd <= 0:
        return 0.0
    if policy.action == "repay":
        return debt_usd * (1.0 - trigger / target)
    return math.inf if liquidation_threshold <= 0 else (target - trigger) * debt_usd / liquidation_threshold


def plan_defense(lending: LendingView, policy: DefensePolicy, guardian: GuardianView) -> DefenseAction | None:
    """The defense to send now, capped by the reserve and the daily limit; None when none is due or possible.

    Due when the HF is below the trigger; the amount reaches the target (with a little headroom: the
    guardian spends the exact amount at signing, up to this one).
    """
    if not guardian.enabled or guardian.in_flight or guardian.price_usd <= 0:
        return None
    if not lending.health_factor < policy.trigger_health_factor:
        return None
    target = policy.target_health_factor
    if policy.action == "repay":
        wanted_usd = repay_usd_to_reach(lending, target)
    else:
        wanted_usd = supply_usd_to_reach(lending, target, guardian.liquidation_threshold)
    if not wanted_usd > 0 or not math.isfinite(wanted_usd):
        return None
    wanted_usd *= 1.0 + PLAN_HEADROOM
    left_today = max(0.0, policy.max_usd_per_day - guardian.spent_today_usd)
    usd = min(wanted_usd, left_today, guardian.reserve_usd)
    amount = min(math.floor(usd / guardian.price_usd * 10**guardian.decimals), guardian.reserve)
    if amount <= 0:
        return None
    reason = (
        f"HF {lending.health_factor:.3f} < trigger {policy.trigger_health_factor:.2f}: {policy.action} "
        f"{usd:,.2f} USD of {guardian.asset_symbol} to reach HF {target:.2f}"
    )
    if usd < wanted_usd:
        limit = "the daily limit" if left_today <= guardian.reserve_usd else "the reserve"
        reason += f" (capped by {limit}: {wanted_usd:,.2f} USD wanted)"
    return DefenseAction(
        kind=policy.action,
        asset_symbol=guardian.asset_symbol,
        asset_address=guardian.asset_address,
        amount=amount,
        target_health_factor=target,
        reason=reason,
        amount_usd=amount / 10**guardian.decimals * guardian.price_usd,
    )


def defense_status(lending: LendingView | None, policy: DefensePolicy, guardian: GuardianView) -> DefenseStatus:
    """The guardian's status lines: reserve, spent today, where and how big the next defense is."""
    debt = lending.debt_usd if lending else 0.0
    next_usd = next_defense_usd(policy, debt, guardian.liquidation_threshold)
    return DefenseStatus(
        enabled=guardian.enabled,
        problem=guardian.problem,
        address=guardian.address,
        action=policy.action,
        asset_symbol=guardian.asset_symbol,
        reserve=guardian.reserve / 10**guardian.decimals,
        reserve_usd=guardian.reserve_usd,
        spent_today_usd=guardian.spent_today_usd,
        max_usd_per_day=policy.max_usd_per_day,
        trigger_health_factor=policy.trigger_health_factor,
        target_health_factor=policy.target_health_factor,
        next_defense_price_usd=defense_trigger_price(lending, policy.trigger_health_factor) if lending else math.nan,
        next_defense_usd=next_usd,
        reserve_covers_next=guardian.reserve_usd >= next_usd,
    )
