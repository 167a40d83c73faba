"""The paper order book: order entry (checks, idempotent submits, amend, cancel) and order execution.

`PaperBook` adds to the account (`bot.paper.account`) what an order does when it arrives or fires: the
precision, reduce-only and margin checks Binance COIN-M makes, the taker fill of an order that crosses
the book, and the execution of a resting limit or a triggered stop (`bot.paper.market` finds those).
"""

from __future__ import annotations

from bot.domain import inverse
from bot.domain.orders import Order, OrderRequest, OrderStatus, OrderType, Side
from bot.paper.account import PaperAccount
from bot.paper.errors import (
    InsufficientMargin,
    NoMarketPrice,
    PrecisionError,
    ReduceOnlyRejected,
    WouldTriggerImmediately,
)
from bot.paper.orders import OrderRecord


class PaperBook(PaperAccount):
    """The account plus its orders: entry, checks, cancel, amend and execution."""

    # ----------------------------------------------------------------- orders

    def submit(self, request: OrderRequest) -> Order:
        """Accept `request` (filling what can fill now) or raise a PaperRejected; idempotent by client id."""
        known = self._orders.get(request.client_id)
        if known is not None:
            return known.view()
        self._check_precision(request)
        if self.mark != self.mark:
            raise NoMarketPrice(f"order {request.client_id}: the paper market has no price yet")
        if request.type is OrderType.STOP_MARKET:
            trigger = request.trigger_price
            assert trigger is not None
            if (request.side is Side.BUY and trigger <= self.mark) or (
                request.side is Side.SELL and trigger >= self.mark
            ):
                raise WouldTriggerImmediately(
                    f"order {request.client_id}: {request.side} stop at {trigger} would trigger now"
                    f" (mark {self.mark}); place it beyond the mark or send a market order"
                )
        else:
            if request.reduce_only:
                self._check_reduce_only(request.client_id, request.side)
            fill_price = self._book_fill_price(request)
            if fill_price is not None or request.type is OrderType.LIMIT:
                price = fill_price if fill_price is not None else request.price
                assert price is not None
                self._check_margin(request.client_id, request.side, request.contracts, price, request.reduce_only)
        self._seq += 1
        rec = OrderRecord(
            request.client_id,
            str(self._seq),
            request.side,
            request.type,
            request.contracts,
            request.price,
            request.trigger_price,
            request.reduce_only,
            self.now_ms,
        )
        self._orders[rec.client_id] = rec
        self._by_venue_id[rec.venue_id] = rec
        fill_price = None if request.type is OrderType.STOP_MARKET else self._book_fill_price(request)
        if fill_price is not None:
            self._execute(rec, fill_price, self.taker_fee)
        else:
            self._open.append(rec)
        self._dirty = True
        return rec.view()

    def _book_fill_price(self, request: OrderRequest) -> float | None:
        """The taker price `request` fills at now, or None if it rests (a limit that does not cross)."""
        buy = request.side is Side.BUY
        touch = self.ask if buy else self.bid
        if request.type is OrderType.MARKET:
            return touch * (1.0 + self._slip) if buy else touch * (1.0 - self._slip)
        if request.type is OrderType.LIMIT:
            assert request.price is not None
            crosses = touch <= request.price if buy else touch >= request.price
            return touch if crosses else None
        return None

    def _check_precision(self, request: OrderRequest) -> None:
        spec = self.instrument
        lots = request.contracts / spec.lot_contracts
        if abs(lots - round(lots)) > 1e-9 or request.contracts < spec.min_contracts:
            raise PrecisionError(
                f"order {request.client_id}: {request.contracts} contracts is off the lot of"
                f" {spec.lot_contracts:g} or under the minimum {spec.min_contracts:g}"
            )
        for name, price in (("price", request.price), ("trigger price", request.trigger_price)):
            if price is None:
                continue
            ticks = price / spec.tick_size
            if price <= 0 or abs(ticks - round(ticks)) > 1e-6:
                raise PrecisionError(
                    f"order {request.client_id}: {name} {price} is off the tick of {spec.tick_size:g};"
                    f" send a multiple of {spec.tick_size:g}"
                )

    def _check_reduce_only(self, client_id: str, side: Side) -> None:
        if self.contracts == 0 or (self.contracts > 0) == (side is Side.BUY):
            raise ReduceOnlyRejected(
                f"order {client_id}: reduce-only {side} would open or increase the position"
                f" ({self.contracts:+d} contracts)"
            )

    def _check_margin(self, client_id: str, side: Side, contracts: int, price: float, reduce_only: bool) -> None:
        grow = 0 if reduce_only else self._increase(side, contracts)
        if grow == 0:
            return
        need = inverse.initial_margin_btc(grow, self._size, price, self.leverage)
        need += contracts * self._size / price * self.taker_fee
        free = self.available_btc()
        if need > free + 1e-12:
            raise InsufficientMargin(
                f"order {client_id}: needs {need:.8f} BTC of margin at {self.leverage:g}x, {free:.8f} BTC free;"
                " deposit BTC, lower the size or raise the leverage"
            )

    def cancel(self, client_id: str) -> Order | None:
        """Cancel an open order; the order as it now stands, or None if the id is unknown."""
        rec = self._orders.get(client_id)
        if rec is None:
            return None
        if rec.status is OrderStatus.OPEN:
            rec.status = OrderStatus.CANCELED
            self._open.remove(rec)
            self._dirty = True
        return rec.view()

    def amend(self, client_id: str, contracts: int, price: float) -> Order | None:
        """Re-size and re-price an open limit order in place (Binance's PUT order); None if unknown.

        Checked like a new order (precision, margin); a price that now crosses the book fills at once as
        taker. Raises ValueError for an order that is not an open limit or a size under what has filled.
        """
        rec = self._orders.get(client_id)
        if rec is None:
            return None
        if rec.status is not OrderStatus.OPEN or rec.type is not OrderType.LIMIT:
            raise ValueError(f"order {client_id}: only an open limit order can be amended ({rec.status}, {rec.type})")
        if contracts <= rec.filled_contracts:
            raise ValueError(f"order {client_id}: {contracts} contracts is not above the {rec.filled_contracts} filled")
        probe = OrderRequest(client_id, rec.side, OrderType.LIMIT, contracts, price=price, reduce_only=rec.reduce_only)
        self._check_precision(probe)
        fill_price = self._book_fill_price(probe)
        self._open.remove(rec)  # its own reservation must not count against its new size
        try:
            self._check_margin(
                client_id, rec.side, contracts - rec.filled_contracts, fill_price or price, rec.reduce_only
            )
        finally:
            self._open.append(rec)
        rec.contracts, rec.price = contracts, price
        if fill_price is not None:
            self._execute(rec, fill_price, self.taker_fee)
        self._dirty = True
        return rec.view()

    def cancel_all(self) -> list[Order]:
        """Cancel every open order; the canceled orders."""
        return [v for v in (self.cancel(o.client_id) for o in list(self._open)) if v is not None]

    # ----------------------------------------------------------------- execution

    def _trigger_stop(self, rec: OrderRecord, book_price: float) -> None:
        """A stop's trigger was reached: fill it as a market order at `book_price`, or expire/reject it."""
        self._open.remove(rec)
        contracts = rec.remaining
        if rec.reduce_only:
            if self.contracts == 0 or (self.contracts > 0) == (rec.side is Side.BUY):
                rec.status = OrderStatus.CANCELED  # nothing left to reduce: Binance expires it
                return
            contracts = min(contracts, abs(self.contracts))
        price = book_price * (1.0 + self._slip) if rec.side is Side.BUY else book_price * (1.0 - self._slip)
        try:
            self._check_margin(rec.client_id, rec.side, contracts, price, rec.reduce_only)
        except InsufficientMargin:
            rec.status = OrderStatus.REJECTED
            return
        self._fill(rec, contracts, price, self.taker_fee)
        if rec.status is OrderStatus.OPEN:  # cut to the position: the rest expires
            rec.status = OrderStatus.CANCELED

    def _execute(self, rec: OrderRecord, price: float, fee_rate: float) -> None:
        contracts = rec.remaining
        if rec.reduce_only:
            contracts = min(contracts, abs(self.contracts))
            if contracts == 0 or (self.contracts > 0) == (rec.side is Side.BUY):
                rec.status = OrderStatus.CANCELED
                if rec in self._open:
                    self._open.remove(rec)
                return
        self._fill(rec, contracts, price, fee_rate)
        if rec.status is not OrderStatus.OPEN and rec in self._open:
            self._open.remove(rec)
        elif rec.status is OrderStatus.OPEN and rec.reduce_only:
            rec.status = OrderStatus.CANCELED  # reduce-only cut to the position
            if rec in self._open:
                self._open.remove(rec)
