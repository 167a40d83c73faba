"""The perpetual's mark price and funding rate through ccxt.

With credentials the mark comes from the positions read (weight 1 on Binance, and it carries the mark
on every venue ccxt unifies), and the funding rate from the funding endpoint at most once a minute
(Binance's premium index weighs 10). Without credentials (dry-run) both come from the public funding
endpoint, so dry-run reads real marks with no key.
"""

from __future__ import annotations

from typing import Any

from bot.clock import Clock, wall_ms
from bot.domain.instruments import BTC_INVERSE_SYMBOL
from bot.runtime.feeds import MarkReading
from bot.venues.priority import Priority, priority

FUNDING_REFRESH_MS = 60_000


class CcxtMarkFeed:
    def __init__(self, exchange: Any, symbol: str = BTC_INVERSE_SYMBOL, clock: Clock = wall_ms) -> None:
        self.exchange = exchange
        self.symbol = symbol
        self.clock = clock
        self._private = bool(getattr(exchange, "apiKey", None))
        self._funding: float | None = None
        self._funding_ms = -FUNDING_REFRESH_MS
        self.last: MarkReading | None = None  # the latest reading, for readers that may reuse a fresh one

    async def _public(self, now: int) -> MarkReading:
        data = await self.exchange.fetch_funding_rate(self.symbol)
        mark = data.get("markPrice")
        if mark is None:
            ticker = await self.exchange.fetch_ticker(self.symbol)
            mark = ticker.get("markPrice") or ticker.get("last")
        if mark is None:
            raise RuntimeError(f"{self.exchange.id} gave no mark price for {self.symbol}")
        rate = data.get("fundingRate")
        self._funding, self._funding_ms = (float(rate) if rate is not None else None), now
        # A server clock ahead of ours must not make a price look fresher than when it arrived.
        return MarkReading(float(mark), min(int(data.get("timestamp") or now), now), self._funding)

    async def read(self) -> MarkReading:
        with priority(Priority.MARK):  # budgeted above decisions: the mark keeps coming when they are held (C6)
            self.last = await self._read()
        return self.last

    async def fresh(self, max_age_ms: int) -> MarkReading:
        """The latest reading if it is at most `max_age_ms` old, else a new one."""
        if self.last is not None and self.clock() - self.last.ts_ms <= max_age_ms:
            return self.last
        return await self.read()

    async def _read(self) -> MarkReading:
        now = self.clock()
        if not self._private or now - self._funding_ms >= FUNDING_REFRESH_MS:
            return await self._public(now)
        positions = await self.exchange.fetch_positions([self.symbol])
        mark = next(
            (p.get("markPrice") for p in positions if p.get("symbol") == self.symbol and p.get("markPrice")), None
        )
        if mark is None:
            return await self._public(now)
        # A position's timestamp is when it last changed, not when its mark was computed: the read is live,
        # so the mark is as fresh as the response.
        return MarkReading(float(mark), now, self._funding)

    async def close(self) -> None:
        """The exchange client is owned by whoever built it."""
