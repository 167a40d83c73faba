"""The inverse perpetual instrument: contract size, tick, lot, fees, and the venue's unit of amounts.

Which venues exist and their built-in specs live with the venues (bot.venues.ccxt.registry); the
domain names no venue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, Literal

AmountUnit = Literal["contracts", "usd"]
# ccxt's unified symbol of the BTC inverse perpetual: the one instrument the bot hedges with, on every venue.
BTC_INVERSE_SYMBOL = "BTC/USD:BTC"


class InstrumentError(ValueError):
    """An instrument spec that cannot be traded as an inverse BTC perpetual."""


@dataclass(frozen=True, slots=True)
class Instrument:
    """One inverse (coin-margined) perpetual: quoted in USD, settled and margined in BTC.

    Every instrument here is one (the market reader refuses anything else), so it carries no
    `is_inverse` or settlement currency to branch on: its PnL is always `domain.inverse`'s, in BTC.
    """

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


def instrument_from_dict(saved: dict[str, Any]) -> Instrument:
    """The instrument a saved state (`dataclasses.asdict`) describes.

    Keys of fields since removed are ignored, so states saved by 0.1 (with `settle_currency` and
    `is_inverse`) still load.
    """
    known = {f.name for f in fields(Instrument)}
    return Instrument(**{k: v for k, v in saved.items() if k in known})


def __getattr__(name: str) -> Any:
    # builtin_instrument and instrument_from_ccxt_market moved to bot.venues.ccxt (0.2): the pure domain
    # names no venue. bot.compat forwards the old names for one release, so only a caller still on an
    # old name makes the venue code load.
    from bot import compat

    return compat.moved_name(__name__, name)
