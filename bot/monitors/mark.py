"""The perpetual's mark price and funding rate, from the exchange's public endpoints through ccxt.

Public endpoints need no key, so dry-run reads real marks from the configured exchange (or the local
devnet exchange) while trading on the paper venue.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bot.runtime.feeds import MarkReading


def _wall_ms() -> int:
    return int(time.time() * 1000)


class CcxtMarkFeed:
    """Reads mark and funding with one request where the venue allows (Binance's premiumIndex)."""

    def __init__(
        self,
        exchange: Any,
        symbol: str = "BTC/USD:BTC",
        clock: Callable[[], int] = _wall_ms,
        own_exchange: bool = False,
    ) -> None:
        self.exchange = exchange
        self.symbol = symbol
        self.clock = clock
        self._own = own_exchange  # close the client on close() only if this feed created it

    async def read(self) -> MarkReading:
        now = self.clock()
        data = await self.exchange.fetch_funding_rate(self.symbol)
        mark = data.get("markPrice")
        if mark is None:
            ticker = await self.exchange.fetch_ticker(self.symbol)
            mark = ticker.get("markPrice") or ticker.get("last")
        if mark is None:
            raise RuntimeError(f"{self.exchange.id} gave no mark price for {self.symbol}")
        ts = data.get("timestamp") or now
        rate = data.get("fundingRate")
        # A server clock ahead of ours must not make a price look fresher than it is received.
        return MarkReading(price=float(mark), ts_ms=min(int(ts), now), funding_rate_8h=float(rate) if rate else None)

    async def close(self) -> None:
        if self._own:
            await self.exchange.close()
