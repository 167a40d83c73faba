"""A pure, synchronous matching engine for one inverse (coin-margined) BTC perpetual account.

It is the core of dry-run mode (`bot.venues.paper.PaperVenue`), of the replay (`bot.backtest.run`) and of the
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
    engine.funding_payments(since_ms=0) -> list[FundingPayment]   # each payment applied, BTC credited
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

Where it lives: `bot.paper.account` (state, margin, fills booked, funding), `bot.paper.book` (order entry
and execution), `bot.paper.market` (price paths, triggers, liquidation); this module is the whole engine
and its saved state. Each layer subclasses the one before, so the hot paths read plain attributes.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

from bot.domain.instruments import instrument_from_dict
from bot.domain.orders import Fill, FundingPayment, Side
from bot.paper.market import PaperMarket
from bot.paper.orders import EngineSettings, OrderRecord

STATE_VERSION = 1


class PaperEngine(PaperMarket):
    """One inverse perpetual account and its order book matching. See the module docstring for the API."""

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
            "funding_payments": [asdict(p) for p in self._funding_payments],
            "funding_series": {"times_ms": self._funding_times, "rates": self._funding_rates},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PaperEngine:
        """The engine `to_dict` described, exactly as it was."""
        if d.get("version") != STATE_VERSION:
            raise ValueError(f"paper state version {d.get('version')!r} is not {STATE_VERSION}")
        engine = cls(
            instrument_from_dict(d["instrument"]), EngineSettings(**d["settings"]), d["wallet_btc"], d["now_ms"]
        )
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
        # Absent from states saved before payments were kept: those start with an empty history.
        engine._funding_payments = [
            FundingPayment(int(p["ts_ms"]), float(p["amount_btc"]), float(p["rate_8h"]), int(p["contracts"]))
            for p in d.get("funding_payments", [])
        ]
        series = d.get("funding_series") or {}
        engine.set_funding_series(series.get("times_ms", []), series.get("rates", []))
        return engine


def _num(value: float) -> float | None:
    return None if value != value else value
