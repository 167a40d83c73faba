"""The dry-run venue: the `Venue` interface over the pure paper engine, fed by a live price source.

Dry-run mode plugs this in where the ccxt venue would go; nothing else in the bot knows the difference.
Before each action it hands the engine the latest quote (funding due, stops crossed, fills), and after
each change it writes the engine's whole state to `state_path`, so a restarted dry-run resumes with the
same orders and fills (client ids make the replayed submits no-ops).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bot.domain.instruments import Instrument
from bot.domain.orders import AccountState, Fill, FundingPayment, Order, OrderRequest
from bot.errors import VenueError
from bot.paper.engine import PaperEngine
from bot.paper.orders import EngineSettings, MarginMode


@dataclass(frozen=True, slots=True)
class Quote:
    """Prices at one instant: the mark (stops, liquidation, funding) and the book (fills)."""

    now_ms: int
    mark: float
    bid: float | None = None
    ask: float | None = None
    last: float | None = None


class PriceFeed(Protocol):
    async def quote(self) -> Quote:
        """The latest prices of the instrument being paper traded."""


class PaperVenue:
    """A `Venue` whose exchange is a `PaperEngine` in this process."""

    def __init__(self, engine: PaperEngine, feed: PriceFeed | None = None, state_path: Path | None = None) -> None:
        self.engine = engine
        self._feed = feed
        self._state_path = state_path

    @classmethod
    def open(
        cls,
        instrument: Instrument,
        settings: EngineSettings,
        wallet_btc: float,
        feed: PriceFeed | None = None,
        state_path: Path | None = None,
        now_ms: int = 0,
    ) -> PaperVenue:
        """A venue resumed from `state_path` when it exists, else a fresh account with `wallet_btc`."""
        if state_path is not None and state_path.exists():
            try:
                engine = PaperEngine.from_dict(json.loads(state_path.read_text()))
            except (ValueError, KeyError, TypeError) as exc:
                raise VenueError(
                    f"paper state {state_path} is unreadable ({exc}); move it away to start afresh"
                ) from exc
        else:
            engine = PaperEngine(instrument, settings, wallet_btc=wallet_btc, now_ms=now_ms)
        return cls(engine, feed, state_path)

    @property
    def instrument(self) -> Instrument:
        return self.engine.instrument

    async def _refresh(self) -> None:
        if self._feed is None:
            return
        q = await self._feed.quote()
        self.engine.advance_time(q.now_ms)
        self.engine.update_market(mark=q.mark, last=q.last if q.last is not None else q.mark, bid=q.bid, ask=q.ask)

    def save(self) -> None:
        """Write the engine state atomically (a crash mid-write leaves the previous state)."""
        if self._state_path is None:
            return
        tmp = self._state_path.with_suffix(self._state_path.suffix + ".tmp")
        tmp.write_text(json.dumps(self.engine.to_dict()))
        os.replace(tmp, self._state_path)

    async def connect(self) -> Instrument:
        await self._refresh()
        return self.engine.instrument

    async def configure(self, leverage: float, margin_mode: str) -> None:
        if margin_mode not in ("cross", "isolated"):
            raise VenueError(f"margin mode {margin_mode!r}: use cross or isolated")
        mode: MarginMode = "cross" if margin_mode == "cross" else "isolated"
        self.engine.configure(leverage, mode)
        self.save()

    async def account(self) -> AccountState:
        await self._refresh()
        self.save()
        return self.engine.account()

    async def place(self, order: OrderRequest) -> Order:
        await self._refresh()
        try:
            return self.engine.submit(order)
        finally:
            self.save()

    async def cancel(self, client_id: str) -> None:
        self.engine.cancel(client_id)
        self.save()

    async def find(self, client_id: str) -> Order | None:
        return self.engine.order(client_id)

    async def fills(self, since_ms: int) -> list[Fill]:
        return self.engine.fills(since_ms)

    async def funding(self, since_ms: int) -> list[FundingPayment]:
        return self.engine.funding_payments(since_ms)

    async def close(self) -> None:
        self.save()
