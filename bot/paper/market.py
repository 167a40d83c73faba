"""The paper market: prices move along a path, and what the path crosses fires in the order it meets it.

`PaperMarket` adds to the order book (`bot.paper.book`) the price updates: resting limits fill when the
last price reaches them, stops trigger on the mark, the position is liquidated when the mark reaches its
liquidation price. `move` and `move_bar` are the replay's fast paths: a price band with no trigger inside
lets most bars cost a few compares.
"""

from __future__ import annotations

import math

from bot.domain import inverse
from bot.domain.orders import OrderType, Side
from bot.paper.book import PaperBook
from bot.paper.orders import OrderRecord

_INF = math.inf


class PaperMarket(PaperBook):
    """The order book plus the market it trades in: price paths, triggers, liquidation."""

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

    def quiet_band(self) -> tuple[float, float]:
        """(lo, hi): no resting order triggers and the position is not liquidated while the mark and the last
        price stay strictly between them (what `move` and `move_bar` fast-path on; a replay skips bars by it)."""
        if self._dirty and self.mark == self.mark:
            self._refresh_band()
        return self._band_lo, self._band_hi

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

    # ----------------------------------------------------------------- liquidation

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
        # The liquidation is an order of the exchange's own, as on Binance: a venue can look it up by id.
        self._seq += 1
        rec = OrderRecord(
            f"autoclose-{self.liquidations}",
            str(self._seq),
            Side.BUY if self.contracts < 0 else Side.SELL,
            OrderType.MARKET,
            contracts,
            None,
            None,
            True,
            self.now_ms,
        )
        self._orders[rec.client_id] = rec
        self._by_venue_id[rec.venue_id] = rec
        self._fill(rec, contracts, price, 0.0)
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


def _fraction(p0: float, p1: float, level: float, continuous: bool) -> float:
    """How far along p0 -> p1 the level is met (0 when the move is a jump or flat)."""
    if not continuous:
        return 1.0
    if p1 == p0:
        return 0.0
    t = (level - p0) / (p1 - p0)
    return 0.0 if t < 0.0 else t
