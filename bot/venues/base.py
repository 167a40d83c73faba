"""The venue interface every execution back end implements: paper, ccxt, anything else.

Amounts here are always whole contracts (the venue converts to its own unit, e.g. Deribit's USD)
and positions are signed (negative is short). Every order carries a client id; `place` with an id the
venue already knows returns that order instead of sending another.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from bot.domain.instruments import Instrument


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"  # triggers on the mark price


class OrderStatus(StrEnum):
    OPEN = "open"  # resting (a limit, or an untriggered stop)
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"


def is_protective_stop(type_: OrderType, side: Side, reduce_only: bool) -> bool:
    """A reduce-only stop-market buy: what protects a short."""
    return type_ is OrderType.STOP_MARKET and side is Side.BUY and reduce_only


@dataclass(frozen=True, slots=True)
class OrderRequest:
    client_id: str
    side: Side
    type: OrderType
    contracts: int
    price: float | None = None  # limit price
    trigger_price: float | None = None  # stop trigger (mark)
    reduce_only: bool = False

    def __post_init__(self) -> None:
        if self.contracts <= 0:
            raise ValueError(f"order {self.client_id}: contracts must be positive, got {self.contracts}")
        if self.type is OrderType.LIMIT and self.price is None:
            raise ValueError(f"order {self.client_id}: a limit order needs a price")
        if self.type is OrderType.STOP_MARKET and self.trigger_price is None:
            raise ValueError(f"order {self.client_id}: a stop order needs a trigger price")


@dataclass(frozen=True, slots=True)
class Order:
    """An order as the venue knows it."""

    client_id: str
    venue_id: str
    side: Side
    type: OrderType
    contracts: int
    filled_contracts: int
    status: OrderStatus
    price: float | None = None
    trigger_price: float | None = None
    reduce_only: bool = False
    average_price: float | None = None


@dataclass(frozen=True, slots=True)
class Position:
    contracts: int  # signed: negative is short
    entry_price: float
    unrealized_pnl_btc: float
    liquidation_price: float | None = None
    leverage: float | None = None


FLAT_POSITION = Position(0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class AccountState:
    """Balance, position and every open order (plain and conditional) of the hedge instrument."""

    wallet_btc: float
    position: Position
    open_orders: tuple[Order, ...]
    mark_price: float

    @property
    def equity_btc(self) -> float:
        """Wallet plus unrealised PnL: the BTC that is long BTC."""
        return self.wallet_btc + self.position.unrealized_pnl_btc


@dataclass(frozen=True, slots=True)
class Fill:
    client_id: str
    side: Side
    contracts: int
    price: float
    fee_btc: float
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One funding payment on the hedge position, as the venue booked it."""

    ts_ms: int
    amount_btc: float  # credited to the account: positive when the short received it, negative when it paid
    rate_8h: float  # the funding rate applied (0.0 where the venue does not report it)
    contracts: int  # signed position it was paid on (0 where the venue does not report it)


class VenueError(Exception):
    """A venue refused or failed an action. `retryable` says whether the same request may be resent."""

    retryable = False


class RetryableVenueError(VenueError):
    """Network trouble, timeouts, rate limits: resend the same request (same client id) after a backoff."""

    retryable = True


class OrderRejected(VenueError):
    """Insufficient margin, bad precision, would trigger immediately, reduce-only conflict: re-plan."""


class AuthFailed(VenueError):
    """The venue rejected our credentials: stop trading and alert."""


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
