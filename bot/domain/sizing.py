"""From a wanted net short in USD to whole contracts, counting the BTC margin as long BTC."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.instruments import Instrument
from bot.domain.inverse import initial_margin_btc, net_delta_usd


@dataclass(frozen=True, slots=True)
class Sizing:
    """The order that gives a net short of `hedge_usd` on an account holding `equity_btc`."""

    hedge_usd: float
    order_notional_usd: float  # whole contracts' face value
    contracts: int
    btc_equivalent: float
    required_margin_btc: float  # initial margin of the order at the plan's leverage
    net_delta_usd: float  # what the account's delta will be, after rounding


def size_hedge(hedge_usd: float, equity_btc: float, price: float, instrument: Instrument, leverage: float) -> Sizing:
    """Whole contracts whose short leaves the account `hedge_usd` net short.

    The account's BTC equity is long BTC, so the short must also cover its USD value: a 0.05 BTC
    margin at 60,000 adds 3,000 USD (30 Binance contracts) to the order.
    """
    contracts = hedge_contracts(hedge_usd, equity_btc, price, instrument)
    notional = contracts * instrument.contract_size_usd
    return Sizing(
        hedge_usd=hedge_usd,
        order_notional_usd=notional,
        contracts=contracts,
        btc_equivalent=notional / price,
        required_margin_btc=initial_margin_btc(contracts, instrument.contract_size_usd, price, leverage),
        net_delta_usd=net_delta_usd(equity_btc, price, -contracts, instrument.contract_size_usd),
    )


def hedge_contracts(hedge_usd: float, equity_btc: float, price: float, instrument: Instrument) -> int:
    """The whole contracts of `size_hedge`, alone (what a strategy's plan needs on every bar)."""
    if price <= 0:
        raise ValueError(f"price must be positive, got {price}")
    wanted = hedge_usd + equity_btc * price
    return instrument.round_contracts(wanted / instrument.contract_size_usd) if wanted > 0.0 else 0
