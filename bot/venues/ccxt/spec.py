"""What one venue module declares: everything venue-specific hedgebot knows, as one value.

A venue module (binancecoinm.py, bybit.py, okx.py, deribit.py) builds one `VenueSpec` and the registry
lists it; the client builder, the venue, the market reader, the settings and the offline commands all
read the venue's quirks from here, never from an `if exchange_id == ...`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.domain.instruments import Instrument
from bot.venues.ccxt.funding import FetchFunding, ParseFunding, fetch_funding_history
from bot.venues.ccxt.params import VenueParams


def sandbox(exchange: Any) -> None:
    """Switch a ccxt client to the test environment ccxt knows for its venue (its sandbox URLs or headers)."""
    exchange.set_sandbox_mode(True)


@dataclass(frozen=True, slots=True)
class VenueSpec:
    """One venue: its ids, built-in instrument, order params, funding reading and client set-up."""

    id: str  # the ccxt exchange id, which is also HEDGEBOT_EXCHANGE__ID
    name: str  # for people: "Binance COIN-M"
    # Its BTC inverse perpetual as built in: used offline (plan, backtest) and for the defaults a market
    # leaves out (fees, maintenance margin); live runs read contract size, tick and lot from the markets.
    instrument: Instrument
    params: VenueParams
    parse_funding: ParseFunding
    fetch_funding: FetchFunding = fetch_funding_history
    # Merged into the ccxt client's options (which markets to load, what not to ask for).
    client_options: Mapping[str, Any] = field(default_factory=dict)
    use_testnet: Callable[[Any], None] = sandbox  # switch the client to the venue's testnet or demo
    # Sends the client to another base URL (the local devnet server); None: the venue has no such server.
    point_at: Callable[[Any, str], None] | None = None
    needs_password: bool = False  # the API key comes with a passphrase (HEDGEBOT_EXCHANGE__PASSWORD)
