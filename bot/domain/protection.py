"""Where a short's protective stop may sit: strictly above the mark, below the short's own liquidation price.

The liquidation price is the venue's, for its margin mode. In isolated margin a position is backed only
by the margin allocated to it, the initial margin at its leverage (a 10x short is liquidated about 10 %
above its entry, whatever else the wallet holds); in cross margin the whole wallet backs it. A stop at or
beyond that price never fires: the exchange closes the short first, at a worse price and with a fee.

Pure: values in, values out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from bot.domain import inverse
from bot.domain.instruments import Instrument
from bot.domain.snapshot import HedgeView

MarginMode = Literal["isolated", "cross"]
MARGIN_MODES: tuple[MarginMode, ...] = ("isolated", "cross")


@dataclass(frozen=True, slots=True)
class ShortPosition:
    """A short as the venue's liquidation engine sees it: its size, average entry and the BTC behind it."""

    contracts: int  # short contracts, >= 0
    entry_price: float
    margin_btc: float  # isolated: the margin allocated to the position; cross: the wallet
    wallet_btc: float  # the account's wallet (cross margin backs the position with all of it)

    def liquidation_price(self, instrument: Instrument) -> float:
        """The mark at which the venue liquidates this short (inf when flat or fully backed)."""
        if self.contracts <= 0:
            return math.inf
        return inverse.liquidation_price(
            -self.contracts,
            instrument.contract_size_usd,
            self.entry_price,
            self.margin_btc,
            instrument.maintenance_margin_rate,
        )

    def resized(
        self, contracts: int, price: float, leverage: float, margin_mode: MarginMode, instrument: Instrument
    ) -> ShortPosition:
        """The short after trading to `contracts` at `price` with `leverage` (the venue's own bookkeeping).

        Growing averages the entry harmonically and, in isolated margin, adds the new part's initial margin;
        reducing keeps the entry, releases isolated margin pro rata and moves the closed part's PnL into the
        wallet. In cross margin the wallet backs the short (the initial margin only when the wallet is empty
        and nothing is held: an offline plan, before the margin is posted).
        """
        size = instrument.contract_size_usd
        if contracts <= 0:
            return ShortPosition(0, 0.0, 0.0, self.wallet_btc)
        wallet = self.wallet_btc
        if contracts <= self.contracts:
            entry = self.entry_price
            isolated = self.margin_btc * contracts / self.contracts
            wallet += inverse.pnl_btc(-(self.contracts - contracts), size, entry, price)
        else:
            added = contracts - self.contracts
            entry = (
                price if self.contracts == 0 else inverse.harmonic_entry(self.contracts, self.entry_price, added, price)
            )
            isolated = (self.margin_btc if self.contracts else 0.0) + inverse.initial_margin_btc(
                added, size, price, leverage
            )
        if margin_mode == "isolated":
            margin = isolated
        elif self.contracts == 0 and wallet <= 0:
            margin = inverse.initial_margin_btc(contracts, size, entry, leverage)
        else:
            margin = wallet
        return ShortPosition(contracts, entry, margin, wallet)


def held_short(
    hedge: HedgeView, price: float, leverage: float, margin_mode: MarginMode, instrument: Instrument
) -> ShortPosition:
    """The short the account holds now, with the margin the venue counts behind it.

    Isolated: the venue's own liquidation price, when it reports one, says how much margin the position has
    (it may have been opened at another leverage or topped up); without one, the position is taken to hold
    the initial margin at `leverage`. Cross: the wallet backs it, however far below the initial margin it
    has fallen (margin taken out, losses realised).
    """
    size = instrument.contract_size_usd
    short = hedge.short_contracts
    if short == 0 or hedge.entry_price <= 0:
        return ShortPosition(0, 0.0, 0.0, hedge.equity_btc)
    entry = hedge.entry_price
    wallet = hedge.equity_btc - inverse.pnl_btc(-short, size, entry, price)
    if margin_mode == "cross":
        margin = wallet
    else:
        reported = hedge.liquidation_price
        if reported is not None and math.isfinite(reported) and reported > 0:
            margin = inverse.margin_for_liquidation_price(
                -short, size, entry, reported, instrument.maintenance_margin_rate
            )
        else:
            margin = inverse.initial_margin_btc(short, size, entry, leverage)
    return ShortPosition(short, entry, margin, wallet)


def stop_ceiling(liquidation_price: float, buffer: float) -> float:
    """The highest protective stop allowed below `liquidation_price`: `buffer` (a fraction) below it.

    The buffer is room for the stop's market fill: a stop triggers on the mark and fills at the book, so
    one placed at the liquidation price itself loses the race to the venue's liquidation engine.
    """
    return liquidation_price * (1.0 - buffer)
