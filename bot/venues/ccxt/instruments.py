"""The instrument a ccxt market describes. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.domain.instruments import Instrument, InstrumentError
from bot.venues.ccxt.registry import venue_spec


def instrument_from_ccxt_market(exchange: str, market: Mapping[str, Any]) -> Instrument:
    """The instrument described by one entry of ccxt's `exchange.markets`.

    Contract size, precision and limits come from the market, never from the built-in spec; only the
    fee, leverage and maintenance defaults fall back to it when the market does not say, and the unit
    of amounts (contracts, or Deribit's USD) is the venue's.
    """
    builtin = venue_spec(exchange).instrument
    name = f"{exchange} {market.get('symbol')}"
    if not market.get("inverse"):
        raise InstrumentError(f"{name}: not an inverse contract")
    if market.get("settle") != "BTC":
        raise InstrumentError(f"{name}: settles in {market.get('settle')}, not BTC")
    size = market.get("contractSize")
    if not size or float(size) <= 0:
        raise InstrumentError(f"{name}: market has no contractSize")
    precision = market.get("precision") or {}
    tick = precision.get("price")
    if not tick:
        raise InstrumentError(f"{name}: market has no price precision")
    limits = market.get("limits") or {}
    amount_min = (limits.get("amount") or {}).get("min")
    lev_max = (limits.get("leverage") or {}).get("max")
    in_usd = builtin.amount_unit == "usd"
    # ccxt states amount precision and minimum in the venue's unit: USD on Deribit, contracts elsewhere.
    amount_step = float(precision.get("amount") or 1.0)
    lot = amount_step / float(size) if in_usd else amount_step
    min_contracts = float(amount_min) if amount_min else lot
    if in_usd and amount_min:
        min_contracts = float(amount_min) / float(size)
    return Instrument(
        exchange=exchange,
        symbol=str(market["symbol"]),
        venue_symbol=str(market["id"]),
        contract_size_usd=float(size),
        tick_size=float(tick),
        lot_contracts=max(lot, 1.0),
        min_contracts=max(min_contracts, 1.0),
        max_leverage=float(lev_max) if lev_max else builtin.max_leverage,
        maker_fee=float(market["maker"]) if market.get("maker") is not None else builtin.maker_fee,
        taker_fee=float(market["taker"]) if market.get("taker") is not None else builtin.taker_fee,
        maintenance_margin_rate=builtin.maintenance_margin_rate,
        amount_unit=builtin.amount_unit,
    )
