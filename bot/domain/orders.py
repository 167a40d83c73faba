"""The order value types: what is asked of a venue and what it reports back.

Amounts are always whole contracts and positions are signed (negative is short). Every order carries a
client id, so an order can be found again after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


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


# The client ids exchanges give the orders their liquidation engine sends (Binance: autoclose-..., and
# adl_autoclose for auto-deleveraging); the paper venue uses the same.
LIQUIDATION_CLIENT_ID_PREFIXES = ("autoclose", "adl_autoclose")


def is_liquidation(client_id: str) -> bool:
    """Whether an order (or fill) with `client_id` is the exchange liquidating the position."""
    return client_id.startswith(LIQUIDATION_CLIENT_ID_PREFIXES)


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
    venue_order_id: str = ""  # the venue's id of the order filled, where it reports one


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One funding payment on the hedge position, as the venue booked it."""

    ts_ms: int
    amount_btc: float  # credited to the account: positive when the short received it, negative when it paid
    rate_8h: float  # the funding rate applied (0.0 where the venue does not report it)
    contracts: int  # signed position it was paid on (0 where the venue does not report it)
