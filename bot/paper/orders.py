"""The paper engine's settings and its mutable order record (internal; callers see `bot.venues.base.Order`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bot.domain.inverse import EIGHT_HOURS_MS
from bot.domain.orders import Order, OrderStatus, OrderType, Side

MarginMode = Literal["cross", "isolated"]


@dataclass(frozen=True, slots=True)
class EngineSettings:
    """How the paper account trades. Fees of None take the instrument's (Binance COIN-M: 0.01 % / 0.05 %)."""

    maker_fee: float | None = None
    taker_fee: float | None = None
    slippage_bps: float = 2.0  # market and stop fills, beyond the bid/ask
    spread_bps: float = 0.0  # bid/ask around the price when only one price is given (`move`)
    leverage: float = 10.0
    margin_mode: MarginMode = "cross"
    # Funding is paid at every multiple of the interval since the epoch: 00:00, 08:00, 16:00 UTC for 8 h.
    funding_interval_ms: int = EIGHT_HOURS_MS
    fixed_funding_rate: float = 0.0001  # used when no rate series is set, or before the series starts
    liquidation_fee_rate: float | None = None  # None: the instrument's maintenance margin rate

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


class OrderRecord:
    """One order as the engine tracks it; mutable because fills and cancels change it."""

    __slots__ = (
        "average_price",
        "client_id",
        "contracts",
        "created_ms",
        "filled_contracts",
        "price",
        "reduce_only",
        "side",
        "status",
        "trigger_price",
        "type",
        "venue_id",
    )

    def __init__(
        self,
        client_id: str,
        venue_id: str,
        side: Side,
        type_: OrderType,
        contracts: int,
        price: float | None,
        trigger_price: float | None,
        reduce_only: bool,
        created_ms: int,
    ) -> None:
        self.client_id = client_id
        self.venue_id = venue_id
        self.side = side
        self.type = type_
        self.contracts = contracts
        self.price = price
        self.trigger_price = trigger_price
        self.reduce_only = reduce_only
        self.created_ms = created_ms
        self.filled_contracts = 0
        self.status = OrderStatus.OPEN
        self.average_price: float | None = None

    @property
    def remaining(self) -> int:
        return self.contracts - self.filled_contracts

    def record_fill(self, contracts: int, price: float) -> None:
        done = self.filled_contracts
        avg = self.average_price or price
        self.average_price = (avg * done + price * contracts) / (done + contracts)
        self.filled_contracts = done + contracts
        if self.filled_contracts >= self.contracts:
            self.status = OrderStatus.FILLED

    def view(self) -> Order:
        return Order(
            client_id=self.client_id,
            venue_id=self.venue_id,
            side=self.side,
            type=self.type,
            contracts=self.contracts,
            filled_contracts=self.filled_contracts,
            status=self.status,
            price=self.price,
            trigger_price=self.trigger_price,
            reduce_only=self.reduce_only,
            average_price=self.average_price,
        )

    def to_dict(self) -> dict[str, Any]:
        return {s: getattr(self, s) for s in self.__slots__}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> OrderRecord:
        rec = cls(
            d["client_id"],
            d["venue_id"],
            Side(d["side"]),
            OrderType(d["type"]),
            int(d["contracts"]),
            d["price"],
            d["trigger_price"],
            bool(d["reduce_only"]),
            int(d["created_ms"]),
        )
        rec.filled_contracts = int(d["filled_contracts"])
        rec.status = OrderStatus(d["status"])
        rec.average_price = d["average_price"]
        return rec
