"""A pure, synchronous matching engine for one inverse (coin-margined) BTC perpetual account.

It is the core of dry-run mode (`bot.venues.paper.PaperVenue`), of the replay (`bot.replay`) and of the
local exchange server, which all drive it from outside. It never reads a clock, logs or does I/O:
time and prices are values handed in.

API (everything a driver needs):

    engine = PaperEngine(instrument, EngineSettings(...), wallet_btc=0.5, now_ms=t0)
    # the market
    engine.update_market(mark=..., last=..., bid=..., ask=..., continuous=True) -> int   # fills made
    engine.move(price, continuous=True) -> int        # mark = last = price, bid/ask from spread_bps
    engine.advance_time(now_ms) -> float               # funding (BTC credited) paid at each boundary crossed
    engine.set_funding_series(times_ms, rates)         # else settings.fixed_funding_rate
    engine.apply_funding(rate) -> float                # one funding payment now, at the mark
    # orders (OrderRequest / Order from bot.venues.base; client ids make submits idempotent)
    engine.submit(request) -> Order                    # raises a PaperRejected (an OrderRejected)
    engine.cancel(client_id) -> Order | None           # None when unknown; no-op when already done
    engine.amend(client_id, contracts, price) -> Order | None   # an open limit, in place (PUT order)
    engine.cancel_all() -> list[Order]
    engine.order(client_id) / engine.order_by_venue_id(venue_id) -> Order | None
    engine.open_orders() -> tuple[Order, ...]
    # the account
    engine.position() -> Position; engine.account() -> AccountState
    engine.fills(since_ms=0) -> list[Fill]; engine.fill_count
    engine.equity_btc(), available_btc(), maintenance_btc(), liquidation_price()
    engine.deposit(btc), engine.withdraw(btc), engine.configure(leverage, margin_mode)
    engine.fees_btc, funding_btc, realized_pnl_btc, liquidations, liquidation_fees_btc (running totals)
    # persistence
    engine.to_dict() -> dict (JSON-able); PaperEngine.from_dict(d) -> PaperEngine

Semantics, as on Binance COIN-M:
- Market orders fill at the ask (buy) or bid (sell), worsened by `slippage_bps`, paying the taker fee.
- Limit orders that cross the book on arrival fill at once as taker; otherwise they rest and fill at
  their price, paying the maker fee, when the last price reaches them.
- Stop-market orders trigger on the MARK price and then fill as market orders. A reduce-only stop is
  checked when it triggers: cut to the position, or expired (canceled) when there is nothing to reduce.
- Funding: at each boundary, `inverse.funding_btc` at the mark (a positive rate: longs pay shorts).
- Margin: cross (the whole wallet backs the position) or isolated (the initial margin of the opening
  fills). Liquidation when the mark reaches `inverse.liquidation_price`: the position is closed at that
  price and what margin is left, up to the maintenance margin, is taken as the clearance fee.
- Path: `update_market` moves from the previous prices to the new ones. With `continuous=True` the price
  passed every level in between, so triggers fire at their own level, in the order the path meets them;
  with `continuous=False` (a gap, a restart) everything crossed fires at the new price.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from bot.domain import inverse
from bot.domain.fast_init import positional_constructor
from bot.domain.instruments import Instrument
from bot.paper.errors import (
    InsufficientMargin,
    MarginModeChangeRejected,
    NoMarketPrice,
    PrecisionError,
    ReduceOnlyRejected,
    WouldTriggerImmediately,
)
from bot.paper.orders import EngineSettings, MarginMode, OrderRecord
from bot.venues.base import (
    AccountState,
    Fill,
    Order,
    OrderRequest,
    OrderStatus,
    OrderType,
    Position,
    Side,
)

STATE_VERSION = 1
_INF = math.inf
# Every field, positionally, built fast (bot.domain.fast_init): a replay reads the account on every reconcile.
_make_fill: Callable[[str, Side, int, float, float, int], Fill] = positional_constructor(Fill)
_make_position: Callable[[int, float, float, float | None, float | None], Position] = positional_constructor(Position)
_make_account: Callable[[float, Position, tuple[Order, ...], float], AccountState] = positional_constructor(
    AccountState
)


class PaperEngine:
    """One inverse perpetual account and its order book matching. See the module docstring for the API."""

    def __init__(
        self, instrument: Instrument, settings: EngineSettings | None = None, wallet_btc: float = 0.0, now_ms: int = 0
    ) -> None:
        self.instrument = instrument
        self.settings = settings or EngineSettings()
        s = self.settings
        self.maker_fee = instrument.maker_fee if s.maker_fee is None else s.maker_fee
        self.taker_fee = instrument.taker_fee if s.taker_fee is None else s.taker_fee
        self.liquidation_fee_rate = (
            instrument.maintenance_margin_rate if s.liquidation_fee_rate is None else s.liquidation_fee_rate
        )
        self._size = instrument.contract_size_usd
        self._mmr = instrument.maintenance_margin_rate
        self._slip = s.slippage_bps / 10_000
        self._half_spread = s.spread_bps / 20_000
        self.leverage = s.leverage
        self.margin_mode: MarginMode = s.margin_mode
        self.wallet_btc = wallet_btc
        self.contracts = 0  # signed: negative is short
        self.entry_price = 0.0
        self.isolated_margin_btc = 0.0
        self.now_ms = now_ms
        self.mark = math.nan
        self.last = math.nan
        self.bid = math.nan
        self.ask = math.nan
        self.next_funding_ms = self._next_boundary(now_ms)
        self.fees_btc = 0.0
        self.funding_btc = 0.0
        self.realized_pnl_btc = 0.0
        self.liquidations = 0
        self.liquidation_fees_btc = 0.0  # clearance taken at liquidations, net of insurance cover
        self._orders: dict[str, OrderRecord] = {}
        self._by_venue_id: dict[str, OrderRecord] = {}
        self._open: list[OrderRecord] = []
        self._fills: list[Fill] = []
        self._seq = 0
        self._funding_times: list[int] = []
        self._funding_rates: list[float] = []
        # No trigger lies strictly inside (band_lo, band_hi): a move that stays inside costs two compares.
        self._band_lo = _INF
        self._band_hi = -_INF
        self._dirty = True

    # ----------------------------------------------------------------- the market

    def move(self, price: float, continuous: bool = True) -> int:
        """Mark and last to `price` (bid/ask `spread_bps` around it); the number of fills it caused."""
        if self._dirty and self.mark == self.mark:
            self._refresh_band()
        if self._band_lo < price < self._band_hi:
            self.mark = self.last = price
            h = self._half_spread
            self.bid = price * (1.0 - h)
            self.ask = price * (1.0 + h)
            return 0
        h = self._half_spread
        return self.update_market(
            mark=price, last=price, bid=price * (1.0 - h), ask=price * (1.0 + h), continuous=continuous
        )

    def move_bar(self, high: float, low: float, close: float) -> int:
        """`move(high)`, `move(low)`, `move(close)` in one call (a replay's bar); the number of fills."""
        if self._dirty and self.mark == self.mark:
            self._refresh_band()
        lo, hi = self._band_lo, self._band_hi
        if lo < high < hi and lo < low < hi and lo < close < hi:
            # All three inside the band: the state after them is the close's alone.
            self.mark = self.last = close
            h = self._half_spread
            self.bid = close * (1.0 - h)
            self.ask = close * (1.0 + h)
            return 0
        return self.move(high) + self.move(low) + self.move(close)

    def update_market(
        self,
        *,
        mark: float | None = None,
        last: float | None = None,
        bid: float | None = None,
        ask: float | None = None,
        continuous: bool = True,
    ) -> int:
        """Move the prices given (the others stay) and fire what the path crosses; the number of fills."""
        m0 = self.mark
        l0 = self.last
        m1 = m0 if mark is None else mark
        l1 = (m1 if l0 != l0 else l0) if last is None else last
        if m1 != m1:
            m1 = l1
        self.bid = bid if bid is not None else (l1 * (1.0 - self._half_spread) if l1 == l1 else self.bid)
        self.ask = ask if ask is not None else (l1 * (1.0 + self._half_spread) if l1 == l1 else self.ask)
        if m0 != m0 or l0 != l0:  # the first price ever: nothing was crossed on the way
            m0, l0, continuous = m1, l1, False
        fills = 0
        spread_up = self.ask / l1 if l1 == l1 and l1 > 0 else 1.0
        spread_dn = self.bid / l1 if l1 == l1 and l1 > 0 else 1.0
        while True:
            event = self._next_event(m0, m1, l0, l1, continuous)
            if event is None:
                break
            t, kind, order = event
            # Prices at the moment of the event, along the path.
            mark_t = m1 if not continuous else m0 + t * (m1 - m0)
            last_t = l1 if not continuous else l0 + t * (l1 - l0)
            self.mark, self.last = mark_t, last_t
            if kind == 0:
                self._liquidate(mark_t if continuous else m1)
            elif order is not None and order.type is OrderType.LIMIT:
                assert order.price is not None
                self._execute(order, order.price, self.maker_fee)
            elif order is not None:
                book = last_t * (spread_up if order.side is Side.BUY else spread_dn)
                self._trigger_stop(order, book)
            fills += 1
            m0, l0 = mark_t, last_t
        self.mark, self.last = m1, l1
        self._dirty = True
        return fills

    def _next_event(
        self, m0: float, m1: float, l0: float, l1: float, continuous: bool
    ) -> tuple[float, int, OrderRecord | None] | None:
        """The first thing the path from (m0, l0) to (m1, l1) meets: (fraction of the path, kind, order).

        Kind 0 is the liquidation, 1 an order. On a tie the liquidation comes first (the cautious read).
        """
        best: tuple[float, int, OrderRecord | None] | None = None
        liq = self.liquidation_price()
        if self.contracts != 0 and liq == liq:
            hit = m1 >= liq if self.contracts < 0 else m1 <= liq
            if hit:
                best = (_fraction(m0, m1, liq, continuous), 0, None)
        for o in self._open:
            if o.type is OrderType.STOP_MARKET:
                level = o.trigger_price
                assert level is not None
                hit = m1 >= level if o.side is Side.BUY else m1 <= level
                t = _fraction(m0, m1, level, continuous) if hit else _INF
            else:
                level = o.price
                assert level is not None
                hit = l1 <= level if o.side is Side.BUY else l1 >= level
                t = _fraction(l0, l1, level, continuous) if hit else _INF
            if hit and (best is None or t < best[0]):
                best = (t, 1, o)
        return best

    def _refresh_band(self) -> None:
        """The widest price interval around the current price that crosses no trigger (for `move`)."""
        price = self.mark
        lo, hi = -_INF, _INF
        levels: list[float] = []
        liq = self.liquidation_price()
        if self.contracts != 0 and liq == liq:
            levels.append(liq)
        for o in self._open:
            level = o.trigger_price if o.type is OrderType.STOP_MARKET else o.price
            if level is not None:
                levels.append(level)
        for level in levels:
            if level < price:
                lo = max(lo, level)
            else:
                hi = min(hi, level)
        self._band_lo, self._band_hi = lo, hi
        self._dirty = False

    # ----------------------------------------------------------------- time and funding

    def _next_boundary(self, now_ms: int) -> int:
        interval = self.settings.funding_interval_ms
        return (now_ms // interval + 1) * interval

    def set_funding_series(self, times_ms: Sequence[int], rates: Sequence[float]) -> None:
        """Rates per funding interval, each applying at and after its time (ascending times)."""
        if len(times_ms) != len(rates):
            raise ValueError("funding times and rates differ in length")
        self._funding_times = list(times_ms)
        self._funding_rates = list(rates)

    def funding_rate_at(self, now_ms: int) -> float:
        """The rate of the last series entry at or before `now_ms`; the fixed rate without one."""
        i = bisect.bisect_right(self._funding_times, now_ms) - 1
        return self._funding_rates[i] if i >= 0 else self.settings.fixed_funding_rate

    def funding_rate_until(self, now_ms: int) -> tuple[float, float]:
        """(`funding_rate_at(now_ms)`, the time from which the series gives another rate; inf if never)."""
        times = self._funding_times
        i = bisect.bisect_right(times, now_ms)
        rate = self._funding_rates[i - 1] if i > 0 else self.settings.fixed_funding_rate
        return rate, (times[i] if i < len(times) else _INF)

    def advance_time(self, now_ms: int) -> float:
        """Move the clock to `now_ms`, paying funding at each boundary crossed; the BTC credited."""
        if now_ms < self.next_funding_ms:
            if now_ms > self.now_ms:
                self.now_ms = now_ms
            return 0.0
        paid = 0.0
        if self.contracts == 0:
            self.next_funding_ms = self._next_boundary(now_ms)  # nothing to pay: skip idle intervals at once
        interval = self.settings.funding_interval_ms
        while self.next_funding_ms <= now_ms:
            self.now_ms = self.next_funding_ms
            paid += self.apply_funding(self.funding_rate_at(self.next_funding_ms))
            self.next_funding_ms += interval
        self.now_ms = now_ms
        return paid

    def apply_funding(self, rate: float) -> float:
        """One funding payment at `rate` on the position at the mark; the BTC credited (negative: paid)."""
        if self.contracts == 0 or self.mark != self.mark:
            return 0.0
        amount = inverse.funding_btc(self.contracts, self._size, self.mark, rate)
        self.wallet_btc += amount
        if self.margin_mode == "isolated":
            self.isolated_margin_btc += amount
        self.funding_btc += amount
        self._dirty = True
        return amount

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
                    " round it with Instrument.round_price"
                )

    def _check_reduce_only(self, client_id: str, side: Side) -> None:
        if self.contracts == 0 or (self.contracts > 0) == (side is Side.BUY):
            raise ReduceOnlyRejected(
                f"order {client_id}: reduce-only {side} would open or increase the position"
                f" ({self.contracts:+d} contracts)"
            )

    def _increase(self, side: Side, contracts: int) -> int:
        """Contracts by which an order of `side` would grow the absolute position."""
        signed = contracts if side is Side.BUY else -contracts
        if self.contracts == 0 or (self.contracts > 0) == (signed > 0):
            return contracts
        return max(0, contracts - abs(self.contracts))

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

    def order(self, client_id: str) -> Order | None:
        rec = self._orders.get(client_id)
        return None if rec is None else rec.view()

    def order_by_venue_id(self, venue_id: str) -> Order | None:
        rec = self._by_venue_id.get(venue_id)
        return None if rec is None else rec.view()

    def open_orders(self) -> tuple[Order, ...]:
        return tuple(o.view() for o in self._open)

    # ----------------------------------------------------------------- fills

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

    def _fill(self, rec: OrderRecord | None, contracts: int, price: float, fee_rate: float, cid: str = "") -> None:
        """Book a fill of `contracts` on `rec`'s side at `price`: position, entry, realised PnL, fee."""
        side = rec.side if rec is not None else (Side.BUY if self.contracts < 0 else Side.SELL)
        size = self._size
        signed = contracts if side is Side.BUY else -contracts
        old = self.contracts
        fee = contracts * size / price * fee_rate
        if old == 0 or (old > 0) == (signed > 0):
            self.entry_price = price if old == 0 else inverse.harmonic_entry(old, self.entry_price, signed, price)
            if self.margin_mode == "isolated":
                self.isolated_margin_btc += inverse.initial_margin_btc(contracts, size, price, self.leverage)
            self.contracts = old + signed
        else:
            closing = min(contracts, abs(old))
            realized = inverse.pnl_btc(closing if old > 0 else -closing, size, self.entry_price, price)
            self.wallet_btc += realized
            self.realized_pnl_btc += realized
            if self.margin_mode == "isolated":
                self.isolated_margin_btc *= 1.0 - closing / abs(old)
            self.contracts = old + signed
            opened = contracts - closing
            if self.contracts == 0:
                self.entry_price = 0.0
                self.isolated_margin_btc = 0.0
            elif opened > 0:  # flipped: the rest opens the other side at this price
                self.entry_price = price
                if self.margin_mode == "isolated":
                    self.isolated_margin_btc = inverse.initial_margin_btc(opened, size, price, self.leverage)
        self.wallet_btc -= fee
        self.fees_btc += fee
        if rec is not None:
            rec.record_fill(contracts, price)
        self._fills.append(_make_fill(rec.client_id if rec else cid, side, contracts, price, fee, self.now_ms))
        self._dirty = True

    def _liquidate(self, price: float) -> None:
        """Close the whole position at `price`; the margin left, up to the maintenance margin, is lost.

        Isolated: the account loses at most the position's margin; a deeper loss (a gap) is the insurance
        fund's. Cross: the wallet cannot go below zero.
        """
        self.liquidations += 1
        contracts = abs(self.contracts)
        maintenance = inverse.maintenance_margin_btc(contracts, self._size, price, self.liquidation_fee_rate)
        margin_before = self.isolated_margin_btc
        wallet_before = self.wallet_btc
        self._fill(None, contracts, price, 0.0, cid=f"autoclose-{self.liquidations}")
        after_fill = self.wallet_btc
        if self.margin_mode == "isolated":
            remaining = margin_before - (wallet_before - self.wallet_btc)
            if remaining < 0:
                self.wallet_btc -= remaining  # the insurance fund covers the loss beyond the margin
            self.wallet_btc -= max(0.0, min(maintenance, remaining))
        else:
            self.wallet_btc = max(0.0, self.wallet_btc - max(0.0, min(maintenance, self.wallet_btc)))
        self.liquidation_fees_btc += after_fill - self.wallet_btc
        self.cancel_all()

    # ----------------------------------------------------------------- the account

    def unrealized_pnl_btc(self) -> float:
        if self.contracts == 0 or self.mark != self.mark:
            return 0.0
        return inverse.pnl_btc(self.contracts, self._size, self.entry_price, self.mark)

    def equity_btc(self) -> float:
        """Wallet plus unrealised PnL at the mark."""
        contracts = self.contracts
        if contracts == 0 or self.mark != self.mark:
            return self.wallet_btc + 0.0
        # inverse.pnl_btc, inlined: the replay asks for the equity twice a bar.
        return self.wallet_btc + contracts * self._size * (1.0 / self.entry_price - 1.0 / self.mark)

    def maintenance_btc(self) -> float:
        if self.contracts == 0 or self.mark != self.mark:
            return 0.0
        return inverse.maintenance_margin_btc(self.contracts, self._size, self.mark, self._mmr)

    def _reserved_btc(self) -> float:
        """Initial margin held for resting limit orders that would grow the position."""
        total = 0.0
        for o in self._open:
            if o.type is OrderType.LIMIT and o.price and not o.reduce_only:
                grow = self._increase(o.side, o.remaining)
                total += inverse.initial_margin_btc(grow, self._size, o.price, self.leverage)
        return total

    def available_btc(self) -> float:
        """BTC free for new orders or a withdrawal."""
        if self.margin_mode == "isolated":
            return self.wallet_btc - self.isolated_margin_btc - self._reserved_btc()
        used = 0.0
        if self.contracts and self.mark == self.mark:
            used = inverse.initial_margin_btc(self.contracts, self._size, self.mark, self.leverage)
        return self.equity_btc() - used - self._reserved_btc()

    def liquidation_price(self) -> float:
        """Mark price at which the position is liquidated (NaN when flat, inf when it cannot be)."""
        if self.contracts == 0:
            return math.nan
        margin = self.isolated_margin_btc if self.margin_mode == "isolated" else self.wallet_btc
        if margin <= 0 and self.contracts > 0:
            return _INF  # a long with nothing behind it is liquidated at once
        return inverse.liquidation_price(self.contracts, self._size, self.entry_price, margin, self._mmr)

    def position(self) -> Position:
        if self.contracts == 0:
            return _make_position(0, 0.0, 0.0, None, self.leverage)
        liq = self.liquidation_price()
        return _make_position(
            self.contracts,
            self.entry_price,
            self.unrealized_pnl_btc(),
            liq if math.isfinite(liq) else None,
            self.leverage,
        )

    def account(self) -> AccountState:
        return _make_account(self.wallet_btc, self.position(), self.open_orders(), self.mark)

    def fills(self, since_ms: int = 0) -> list[Fill]:
        """Fills at or after `since_ms`, oldest first."""
        return [f for f in self._fills if f.timestamp_ms >= since_ms]

    @property
    def fill_count(self) -> int:
        return len(self._fills)

    def deposit(self, btc: float) -> None:
        if btc <= 0:
            raise ValueError(f"deposit must be positive, got {btc}")
        self.wallet_btc += btc
        self._dirty = True

    def withdraw(self, btc: float) -> None:
        """Take `btc` out of the wallet; InsufficientMargin if it is not free."""
        free = self.available_btc()
        if btc <= 0 or btc > free + 1e-12:
            raise InsufficientMargin(f"withdraw {btc:.8f} BTC: {max(0.0, free):.8f} BTC is free")
        self.wallet_btc -= btc
        self._dirty = True

    def configure(self, leverage: float, margin_mode: MarginMode) -> None:
        """Set leverage and margin mode; the mode only changes while flat with no open orders."""
        if not 0 < leverage <= self.instrument.max_leverage:
            raise MarginModeChangeRejected(f"leverage {leverage:g}x outside 0..{self.instrument.max_leverage:g}x")
        if margin_mode != self.margin_mode and (self.contracts or self._open):
            raise MarginModeChangeRejected("margin mode cannot change with a position or open orders")
        self.leverage = leverage
        self.margin_mode = margin_mode
        self._dirty = True

    # ----------------------------------------------------------------- persistence

    def to_dict(self) -> dict[str, Any]:
        """The whole state as plain JSON-able values (NaN prices as None)."""
        return {
            "version": STATE_VERSION,
            "instrument": asdict(self.instrument),
            "settings": self.settings.to_dict(),
            "leverage": self.leverage,
            "margin_mode": self.margin_mode,
            "wallet_btc": self.wallet_btc,
            "contracts": self.contracts,
            "entry_price": self.entry_price,
            "isolated_margin_btc": self.isolated_margin_btc,
            "now_ms": self.now_ms,
            "prices": {k: _num(getattr(self, k)) for k in ("mark", "last", "bid", "ask")},
            "next_funding_ms": self.next_funding_ms,
            "totals": {
                "fees_btc": self.fees_btc,
                "funding_btc": self.funding_btc,
                "realized_pnl_btc": self.realized_pnl_btc,
                "liquidations": self.liquidations,
                "liquidation_fees_btc": self.liquidation_fees_btc,
            },
            "seq": self._seq,
            "orders": [o.to_dict() for o in self._orders.values()],
            "open": [o.client_id for o in self._open],
            "fills": [asdict(f) for f in self._fills],
            "funding_series": {"times_ms": self._funding_times, "rates": self._funding_rates},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PaperEngine:
        """The engine `to_dict` described, exactly as it was."""
        if d.get("version") != STATE_VERSION:
            raise ValueError(f"paper state version {d.get('version')!r} is not {STATE_VERSION}")
        engine = cls(Instrument(**d["instrument"]), EngineSettings(**d["settings"]), d["wallet_btc"], d["now_ms"])
        engine.leverage = float(d["leverage"])
        engine.margin_mode = d["margin_mode"]
        engine.contracts = int(d["contracts"])
        engine.entry_price = float(d["entry_price"])
        engine.isolated_margin_btc = float(d["isolated_margin_btc"])
        for key in ("mark", "last", "bid", "ask"):
            value = d["prices"][key]
            setattr(engine, key, math.nan if value is None else float(value))
        engine.next_funding_ms = int(d["next_funding_ms"])
        totals = d["totals"]
        engine.fees_btc = totals["fees_btc"]
        engine.funding_btc = totals["funding_btc"]
        engine.realized_pnl_btc = totals["realized_pnl_btc"]
        engine.liquidations = int(totals["liquidations"])
        engine.liquidation_fees_btc = float(totals["liquidation_fees_btc"])
        engine._seq = int(d["seq"])
        for od in d["orders"]:
            rec = OrderRecord.from_dict(od)
            engine._orders[rec.client_id] = rec
            engine._by_venue_id[rec.venue_id] = rec
        engine._open = [engine._orders[cid] for cid in d["open"]]
        engine._fills = [
            Fill(f["client_id"], Side(f["side"]), f["contracts"], f["price"], f["fee_btc"], f["timestamp_ms"])
            for f in d["fills"]
        ]
        series = d.get("funding_series") or {}
        engine.set_funding_series(series.get("times_ms", []), series.get("rates", []))
        return engine


def _fraction(p0: float, p1: float, level: float, continuous: bool) -> float:
    """How far along p0 -> p1 the level is met (0 when the move is a jump or flat)."""
    if not continuous:
        return 1.0
    if p1 == p0:
        return 0.0
    t = (level - p0) / (p1 - p0)
    return 0.0 if t < 0.0 else t


def _num(value: float) -> float | None:
    return None if value != value else value
