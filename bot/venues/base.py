"""The venue interface every execution back end implements: paper, ccxt, anything else.

Amounts here are always whole contracts (the venue converts to its own unit, e.g. Deribit's USD)
and positions are signed (negative is short). Every order carries a client id; `place` with an id the
venue already knows returns that order instead of sending another. A venue resends what may be resent
itself, once per call, under its own retry policy; a RetryableVenueError out of a call means those
retries are spent, and nothing above retries again.
"""

from __future__ import annotations

from typing import Protocol

from bot.domain.instruments import Instrument
from bot.domain.orders import AccountState, Fill, FundingPayment, Order, OrderRequest
from bot.errors import AuthFailed, OrderRejected, RetryableVenueError, VenueError


class Venue(Protocol):
    """What the engine needs from an execution back end."""

    @property
    def instrument(self) -> Instrument: ...

    async def connect(self) -> Instrument:
        """Load markets; return the instrument as the venue describes it."""

    async def configure(self, leverage: float, margin_mode: str) -> None:
        """Set leverage and margin mode where the venue has them."""

    async def account(self) -> AccountState:
        """Balance, position and open orders (plain and conditional) in one consistent read."""

    async def place(self, order: OrderRequest) -> Order:
        """Send `order`; if its client id is known, return the existing order instead."""

    async def cancel(self, client_id: str) -> None:
        """Cancel an open order by client id; a no-op if it is already gone."""

    async def find(self, client_id: str) -> Order | None:
        """The order with `client_id` in any state (open, filled, cancelled), or None if the venue never got it."""

    async def fills(self, since_ms: int) -> list[Fill]:
        """Our fills since `since_ms`."""

    async def funding(self, since_ms: int) -> list[FundingPayment]:
        """Funding payments on the instrument at or after `since_ms`, oldest first."""

    async def close(self) -> None:
        """Release connections."""


__all__ = ["AuthFailed", "OrderRejected", "RetryableVenueError", "Venue", "VenueError"]

_ORDER_TYPES_MOVED = frozenset({"Side", "OrderType", "OrderStatus", "FLAT_POSITION", "is_protective_stop"})


def __getattr__(name: str) -> object:
    # The order value types moved to bot.domain.orders; kept importable from here for one release (0.2).
    if name in _ORDER_TYPES_MOVED:
        import warnings

        from bot.domain import orders

        warnings.warn(f"bot.venues.base.{name} moved to bot.domain.orders", DeprecationWarning, stacklevel=2)
        return getattr(orders, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
