"""The paper account's state and its money: wallet, position, margin, the booking of fills, funding.

`PaperAccount` holds every field of the engine (the order book and the matching in `bot.paper.book` and
`bot.paper.market` build on it by subclassing, so the hot paths read plain attributes, no delegation).
Pure: time and prices are values handed in.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

from bot.domain import inverse
from bot.domain.instruments import Instrument
from bot.domain.orders import AccountState, Fill, FundingPayment, Order, OrderType, Position, Side
from bot.paper.errors import InsufficientMargin, MarginModeChangeRejected
from bot.paper.orders import EngineSettings, MarginMode, OrderRecord

_INF = math.inf


class PaperAccount:
    """One inverse perpetual account: its state, margin reads, fills booked, funding paid."""

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
        self._funding_payments: list[FundingPayment] = []  # what a venue's funding history would list
        self._seq = 0
        self._funding_times: list[int] = []
        self._funding_rates: list[float] = []
        # No trigger lies strictly inside (band_lo, band_hi): a move that stays inside costs two compares.
        self._band_lo = _INF
        self._band_hi = -_INF
        self._dirty = True

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
        self._funding_payments.append(FundingPayment(self.now_ms, amount, rate, self.contracts))
        self._dirty = True
        return amount

    def funding_payments(self, since_ms: int = 0) -> list[FundingPayment]:
        """Funding payments applied at or after `since_ms`, oldest first (amount: BTC credited)."""
        return [p for p in self._funding_payments if p.ts_ms >= since_ms]

    # ----------------------------------------------------------------- fills booked

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
        self._fills.append(
            Fill(
                client_id=rec.client_id if rec else cid,
                side=side,
                contracts=contracts,
                price=price,
                fee_btc=fee,
                timestamp_ms=self.now_ms,
            )
        )
        self._dirty = True

    # ----------------------------------------------------------------- the account

    def unrealized_pnl_btc(self) -> float:
        if self.contracts == 0 or self.mark != self.mark:
            return 0.0
        return inverse.pnl_btc(self.contracts, self._size, self.entry_price, self.mark)

    def equity_btc(self) -> float:
        """Wallet plus unrealised PnL at the mark."""
        return self.wallet_btc + self.unrealized_pnl_btc()

    def maintenance_btc(self) -> float:
        if self.contracts == 0 or self.mark != self.mark:
            return 0.0
        return inverse.maintenance_margin_btc(self.contracts, self._size, self.mark, self._mmr)

    def _increase(self, side: Side, contracts: int) -> int:
        """Contracts by which an order of `side` would grow the absolute position."""
        signed = contracts if side is Side.BUY else -contracts
        if self.contracts == 0 or (self.contracts > 0) == (signed > 0):
            return contracts
        return max(0, contracts - abs(self.contracts))

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
            return Position(contracts=0, entry_price=0.0, unrealized_pnl_btc=0.0, leverage=self.leverage)
        liq = self.liquidation_price()
        return Position(
            contracts=self.contracts,
            entry_price=self.entry_price,
            unrealized_pnl_btc=self.unrealized_pnl_btc(),
            liquidation_price=liq if math.isfinite(liq) else None,
            leverage=self.leverage,
        )

    def account(self) -> AccountState:
        return AccountState(
            wallet_btc=self.wallet_btc, position=self.position(), open_orders=self.open_orders(), mark_price=self.mark
        )

    def order(self, client_id: str) -> Order | None:
        rec = self._orders.get(client_id)
        return None if rec is None else rec.view()

    def order_by_venue_id(self, venue_id: str) -> Order | None:
        rec = self._by_venue_id.get(venue_id)
        return None if rec is None else rec.view()

    def open_orders(self) -> tuple[Order, ...]:
        return tuple(o.view() for o in self._open)

    def fills(self, since_ms: int = 0) -> list[Fill]:
        """Fills at or after `since_ms`, oldest first."""
        return [f for f in self._fills if f.timestamp_ms >= since_ms]

    @property
    def last_fill(self) -> Fill | None:
        """The latest fill, if any (without copying the list: a replay asks after every fill)."""
        return self._fills[-1] if self._fills else None

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
