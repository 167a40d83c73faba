"""The venues hedgebot trades on: one line per venue module. Settings, commands and the client read it.

Adding a venue is one module beside this one (its `VenueSpec`: params table, built-in instrument,
funding reading, client set-up) and one line in `VENUES` below; docs/exchanges.md walks through it.
BitMEX is left out: it closed in 2026 and ccxt dropped it.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.domain.instruments import Instrument, InstrumentError
from bot.venues.ccxt import binancecoinm, bybit, deribit, okx
from bot.venues.ccxt.spec import VenueSpec

VENUES: Mapping[str, VenueSpec] = {
    spec.id: spec
    for spec in (
        binancecoinm.VENUE,
        bybit.VENUE,
        okx.VENUE,
        deribit.VENUE,
    )
}
VENUE_IDS: tuple[str, ...] = tuple(VENUES)  # the valid values of HEDGEBOT_EXCHANGE__ID
# The venues HEDGEBOT_EXCHANGE__API_URL can point at a local server of (bot/devnet/exchange speaks their dialect).
LOCAL_SERVER_IDS: tuple[str, ...] = tuple(spec.id for spec in VENUES.values() if spec.point_at is not None)


def venue_spec(exchange: str) -> VenueSpec:
    """The spec of venue `exchange` (a ccxt id), or InstrumentError naming the known ones."""
    try:
        return VENUES[exchange]
    except KeyError:
        known = ", ".join(VENUE_IDS)
        raise InstrumentError(f"unknown exchange {exchange!r}: known inverse BTC perpetuals are {known}") from None


def builtin_instrument(exchange: str) -> Instrument:
    """The built-in spec of `exchange`'s BTC inverse perpetual (offline use: plan, backtest, tests)."""
    return venue_spec(exchange).instrument
