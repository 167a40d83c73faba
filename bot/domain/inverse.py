"""Inverse (coin-margined) contract math.

A contract is worth `contract_size_usd` USD and settles in BTC. Positions are signed contract counts:
negative is short. All PnL here is in BTC; convert with a price only at the edge of a report.
"""

from __future__ import annotations

import math


def usd_notional(contracts: float, contract_size_usd: float) -> float:
    """USD face value of `contracts` (sign kept)."""
    return contracts * contract_size_usd


def btc_notional(contracts: float, contract_size_usd: float, price: float) -> float:
    """BTC value of `contracts` at `price` (sign kept)."""
    return contracts * contract_size_usd / price


def contracts_for_usd(notional_usd: float, contract_size_usd: float) -> float:
    """Contracts (unrounded) whose face value is `notional_usd`."""
    return notional_usd / contract_size_usd


def pnl_btc(contracts: float, contract_size_usd: float, entry_price: float, price: float) -> float:
    """BTC PnL of a signed position from `entry_price` to `price`.

    A short of N contracts (contracts = -N) earns N*S*(1/P - 1/E).
    """
    return contracts * contract_size_usd * (1.0 / entry_price - 1.0 / price)


def pnl_usd(contracts: float, contract_size_usd: float, entry_price: float, price: float) -> float:
    """USD value at `price` of the BTC PnL."""
    return pnl_btc(contracts, contract_size_usd, entry_price, price) * price


def harmonic_entry(contracts_a: float, entry_a: float, contracts_b: float, entry_b: float) -> float:
    """Average entry after adding `contracts_b` at `entry_b` to `contracts_a` at `entry_a` (same side).

    Inverse contracts average harmonically: the BTC value of the position is additive, not its price.
    """
    total = abs(contracts_a) + abs(contracts_b)
    if total == 0:
        raise ValueError("harmonic_entry of an empty position")
    return total / (abs(contracts_a) / entry_a + abs(contracts_b) / entry_b)


def initial_margin_btc(contracts: float, contract_size_usd: float, price: float, leverage: float) -> float:
    """BTC needed to open `contracts` at `price` with `leverage`."""
    if leverage <= 0:
        raise ValueError(f"leverage must be positive, got {leverage}")
    return abs(contracts) * contract_size_usd / price / leverage


def maintenance_margin_btc(contracts: float, contract_size_usd: float, price: float, rate: float) -> float:
    """BTC the position must keep at `price` before it is liquidated."""
    return abs(contracts) * contract_size_usd / price * rate


def liquidation_price(
    contracts: float, contract_size_usd: float, entry_price: float, margin_btc: float, maintenance_rate: float
) -> float:
    """Mark price at which an isolated inverse position with `margin_btc` is liquidated.

    Solves margin + PnL(P) = maintenance(P). A short whose margin covers its whole BTC notional at
    entry cannot be liquidated by a rise (returns +inf); a long is liquidated at a positive price.
    """
    if contracts == 0:
        return math.nan
    face = abs(contracts) * contract_size_usd
    if contracts < 0:
        denominator = face / entry_price - margin_btc
        if denominator <= 0:
            return math.inf
        return face * (1.0 - maintenance_rate) / denominator
    return face * (1.0 + maintenance_rate) / (margin_btc + face / entry_price)


def margin_for_liquidation_price(
    contracts: float, contract_size_usd: float, entry_price: float, liq_price: float, maintenance_rate: float
) -> float:
    """The isolated margin (BTC) that puts the liquidation price at `liq_price` (inverse of the above)."""
    face = abs(contracts) * contract_size_usd
    if contracts < 0:
        return face / entry_price - face * (1.0 - maintenance_rate) / liq_price
    return face * (1.0 + maintenance_rate) / liq_price - face / entry_price


# Funding rates are quoted per 8 h whatever a venue's own interval (`funding_rate_8h` everywhere).
EIGHT_HOURS_MS = 8 * 3_600_000


def funding_btc(contracts: float, contract_size_usd: float, mark_price: float, rate: float) -> float:
    """BTC credited to the account by one funding payment at `rate`.

    A positive rate means longs pay shorts, so a short (contracts < 0) receives it.
    """
    return -contracts * contract_size_usd / mark_price * rate


def net_delta_usd(equity_btc: float, price: float, contracts: float, contract_size_usd: float) -> float:
    """USD delta of a futures account: its BTC equity is long BTC, the contracts add their face value.

    For a short of N USD against M BTC of equity this is M*P - N. `equity_btc` is the marked-to-market
    equity (wallet plus unrealised PnL); that is what makes the identity exact at any price.
    """
    return equity_btc * price + contracts * contract_size_usd
