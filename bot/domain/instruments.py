"""Inverse perpetual instrument specs: the built-in table and the reader for ccxt markets."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

AmountUnit = Literal["contracts", "usd"]
# ccxt's unified symbol of the BTC inverse perpetual: the one instrument the bot hedges with, on every venue.
BTC_INVERSE_SYMBOL = "BTC/USD:BTC"


class InstrumentError(ValueError):
    """An instrument spec that cannot be traded as an inverse BTC perpetual."""


@dataclass(frozen=True, slots=True)
class Instrument:
    """One inverse (coin-margined) perpetual: quoted in USD, settled and margined in BTC."""

    exchange: str  # ccxt exchange id
    symbol: str  # ccxt unified symbol
    venue_symbol: str  # the exchange's own id
    contract_size_usd: float
    tick_size: float
    lot_contracts: float = 1.0  # the smallest step of an order, in contracts
    min_contracts: float = 1.0
    max_leverage: float = 125.0
    maker_fee: float = 0.0001
    taker_fee: float = 0.0005
    maintenance_margin_rate: float = 0.004
    settle_currency: str = "BTC"
    is_inverse: bool = True
    # Deribit takes order amounts in USD (multiples of the contract size), the others in contracts.
    amount_unit: AmountUnit = "contracts"

    def round_contracts(self, contracts: float) -> int:
        """Whole lots of contracts nearest to `contracts`, never negative."""
        if contracts <= 0:
            return 0
        lots = math.floor(contracts / self.lot_contracts + 0.5)
        return int(lots * self.lot_contracts)

    def round_price(self, price: float) -> float:
        """The price on the instrument's tick grid nearest to `price`."""
        ticks = round(price / self.tick_size)
        # Re-derive decimals from the tick so 0.1-tick prices do not print as 60000.100000000006.
        decimals = max(0, -math.floor(math.log10(self.tick_size))) if self.tick_size < 1 else 0
        return round(ticks * self.tick_size, decimals)

    def venue_amount(self, contracts: int) -> float:
        """What the exchange's order endpoint takes as amount for `contracts` contracts."""
        return contracts * self.contract_size_usd if self.amount_unit == "usd" else float(contracts)

    def contracts_from_venue_amount(self, amount: float) -> int:
        """Contracts for an amount as the exchange reports it."""
        raw = amount / self.contract_size_usd if self.amount_unit == "usd" else amount
        return round(raw)


# Built-in specs, used offline (plan, backtest). Live runs read them from the loaded ccxt markets.
# BitMEX is left out: it closed in 2026 and ccxt dropped it.
BUILTIN: Mapping[str, Instrument] = {
    "binancecoinm": Instrument(
        exchange="binancecoinm",
        symbol=BTC_INVERSE_SYMBOL,
        venue_symbol="BTCUSD_PERP",
        contract_size_usd=100.0,
        tick_size=0.1,
        max_leverage=125.0,
        maker_fee=0.0001,
        taker_fee=0.0005,
        maintenance_margin_rate=0.004,
    ),
    "bybit": Instrument(
        exchange="bybit",
        symbol=BTC_INVERSE_SYMBOL,
        venue_symbol="BTCUSD",
        contract_size_usd=1.0,
        tick_size=0.5,
        max_leverage=100.0,
        maker_fee=0.0002,
        taker_fee=0.00055,
        maintenance_margin_rate=0.005,
    ),
    "okx": Instrument(
        exchange="okx",
        symbol=BTC_INVERSE_SYMBOL,
        venue_symbol="BTC-USD-SWAP",
        contract_size_usd=100.0,
        tick_size=0.1,
        max_leverage=125.0,
        maker_fee=0.0002,
        taker_fee=0.0005,
        maintenance_margin_rate=0.004,
    ),
    "deribit": Instrument(
        exchange="deribit",
        symbol=BTC_INVERSE_SYMBOL,
        venue_symbol="BTC-PERPETUAL",
        contract_size_usd=10.0,
        tick_size=0.5,
        max_leverage=50.0,
        maker_fee=0.0,
        taker_fee=0.0005,
        maintenance_margin_rate=0.0,
        amount_unit="usd",
    ),
}


def builtin_instrument(exchange: str) -> Instrument:
    """The built-in spec of `exchange`'s BTC inverse perpetual."""
    try:
        return BUILTIN[exchange]
    except KeyError:
        known = ", ".join(sorted(BUILTIN))
        raise InstrumentError(f"unknown exchange {exchange!r}: known inverse BTC perpetuals are {known}") from None


def instrument_from_ccxt_market(exchange: str, market: Mapping[str, Any]) -> Instrument:
    """The instrument described by one entry of ccxt's `exchange.markets`.

    Contract size, precision and limits come from the market, never from the built-in table; only the
    fee and maintenance defaults fall back to it when the market does not say.
    """
    if not market.get("inverse"):
        raise InstrumentError(f"{exchange} {market.get('symbol')}: not an inverse contract")
    if market.get("settle") != "BTC":
        raise InstrumentError(f"{exchange} {market.get('symbol')}: settles in {market.get('settle')}, not BTC")
    size = market.get("contractSize")
    if not size or float(size) <= 0:
        raise InstrumentError(f"{exchange} {market.get('symbol')}: market has no contractSize")
    precision = market.get("precision") or {}
    tick = precision.get("price")
    if not tick:
        raise InstrumentError(f"{exchange} {market.get('symbol')}: market has no price precision")
    limits = market.get("limits") or {}
    amount_min = (limits.get("amount") or {}).get("min")
    lev_max = (limits.get("leverage") or {}).get("max")
    base = BUILTIN.get(exchange)
    amount_unit: AmountUnit = "usd" if exchange == "deribit" else "contracts"
    amount_step = float(precision.get("amount") or 1.0)
    lot = amount_step / float(size) if amount_unit == "usd" else amount_step
    min_contracts = float(amount_min) if amount_min else lot
    if amount_unit == "usd" and amount_min:
        min_contracts = float(amount_min) / float(size)
    spec = Instrument(
        exchange=exchange,
        symbol=str(market["symbol"]),
        venue_symbol=str(market["id"]),
        contract_size_usd=float(size),
        tick_size=float(tick),
        lot_contracts=max(lot, 1.0),
        min_contracts=max(min_contracts, 1.0),
        max_leverage=float(lev_max) if lev_max else (base.max_leverage if base else 20.0),
        maker_fee=float(market["maker"]) if market.get("maker") is not None else (base.maker_fee if base else 0.0002),
        taker_fee=float(market["taker"]) if market.get("taker") is not None else (base.taker_fee if base else 0.0005),
        maintenance_margin_rate=base.maintenance_margin_rate if base else 0.005,
        amount_unit=amount_unit,
    )
    return spec
