"""What a defense needs from the chain, read through the Aave monitor: the account's exact rows, the
guardian's balances, the spent reserve's facts.

The monitor's `AccountHealth` carries the account's collaterals and debts with the thresholds that
apply to it (e-mode included); here they become `aave_math` rows again, keyed by asset address, so the
exact amount comes from the same integer math the Pool runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bot.chain.calls import erc20_balance_of, liquidation_threshold_bps, pool_configuration
from bot.domain.lending.aave_math import ReserveBalance
from bot.domain.lending.account import AccountHealth
from bot.monitors.aave import HealthSnapshot, Market, Reserve
from bot.monitors.multicall import address_word, encode_call, words
from bot.monitors.rpc import RpcPool


@dataclass(frozen=True, slots=True)
class SpendFacts:
    """The guardian's side of a defense at one block."""

    reserve: int  # the guardian's balance of the asset, smallest unit
    gas_wei: int  # the guardian's ether
    liquidation_threshold_bps: int  # the asset's, as a collateral (outside e-mode)
    borrower_balance: int  # the borrower's aToken balance of the asset
    borrower_uses_as_collateral: bool


def reserve_by_symbol(market: Market, symbol: str) -> Reserve | None:
    return next((r for r in market.reserves if r.symbol.lower() == symbol.lower()), None)


def reserve_by_address(market: Market, address: str) -> Reserve | None:
    return next((r for r in market.reserves if r.asset.lower() == address.lower()), None)


def price_usd(snap: HealthSnapshot, asset: str) -> float:
    """The Aave oracle's USD price of `asset` in the snapshot; 0 when it has none."""
    return next((p.price_usd for p in snap.prices if p.address.lower() == asset.lower()), 0.0)


def account_rows(market: Market, snap: HealthSnapshot, health: AccountHealth) -> list[ReserveBalance]:
    """The account's `aave_math` rows (symbol = asset address), one per reserve of the market."""
    rows: dict[str, ReserveBalance] = {}
    for r in market.reserves:
        # The snapshot's USD floats hold the oracle's 8-decimal integers exactly (well under 2**53).
        price = round(price_usd(snap, r.asset) * market.base_unit)
        rows[r.asset] = ReserveBalance(r.asset, price, r.decimals, 0, used_as_collateral=False)
    for c in health.collaterals:
        rows[c.address] = replace(
            rows[c.address],
            price=c.price_raw,
            liquidation_threshold_bps=round(c.liquidation_threshold * 10_000),
            collateral=c.amount_raw,
            used_as_collateral=True,
        )
    for d in health.debts:
        rows[d.address] = replace(rows[d.address], debt=d.amount_raw)
    return list(rows.values())


def _word(value: Any) -> int:
    raw = str(value).removeprefix("0x")
    return int(raw, 16) if raw else 0


async def spend_facts(rpc: RpcPool, market: Market, guardian: str, borrower: str, asset: str) -> SpendFacts:
    """The guardian's reserve and gas, the asset's threshold, the borrower's balance of it: one request."""
    user_reserve = encode_call("getUserReserveData(address,address)", address_word(asset), address_word(borrower))
    answers = await rpc.batch(
        [
            ("eth_call", [{"to": asset, "data": "0x" + erc20_balance_of(guardian).hex()}, "latest"]),
            ("eth_getBalance", [guardian, "latest"]),
            ("eth_call", [{"to": market.pool, "data": "0x" + pool_configuration(asset).hex()}, "latest"]),
            ("eth_call", [{"to": market.data_provider, "data": "0x" + user_reserve.hex()}, "latest"]),
        ]
    )
    config = bytes.fromhex(str(answers[2]).removeprefix("0x"))
    user = words(bytes.fromhex(str(answers[3]).removeprefix("0x")))
    return SpendFacts(
        reserve=_word(answers[0]),
        gas_wei=_word(answers[1]),
        liquidation_threshold_bps=liquidation_threshold_bps(config),
        borrower_balance=user[0] if user else 0,
        borrower_uses_as_collateral=bool(user[8]) if len(user) > 8 else False,
    )


def with_spend_row(rows: list[ReserveBalance], asset: str, facts: SpendFacts) -> list[ReserveBalance]:
    """`rows` with the supplied asset's row as a supply sees it: its balance, and whether it would count.

    A balance kept off collateral stays off (supplying more does not switch it on); a first supply is
    switched on (the Pool does so for a reserve with a threshold). Outside e-mode thresholds: a borrower
    in e-mode supplying one of its category's assets gets a little more than the target.
    """
    out = []
    for r in rows:
        if r.symbol.lower() == asset.lower() and not r.used_as_collateral:
            r = replace(
                r,
                collateral=facts.borrower_balance,
                liquidation_threshold_bps=facts.liquidation_threshold_bps,
                used_as_collateral=facts.borrower_balance == 0 or facts.borrower_uses_as_collateral,
            )
        out.append(r)
    return out
