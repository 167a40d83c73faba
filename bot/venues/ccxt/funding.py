"""Funding payments from a venue's history, read through ccxt and turned into FundingPayment values.

The generic part: ccxt's unified `fetch_funding_history` (the default reader), the filter and order of
the payments, and the number reading every venue's row parser shares. What a venue's rows mean (which
sign, whether the rate or the position is there) is said in its own module (binancecoinm.py, ...).
Where a venue does not say the rate or the position, 0.0 / 0 is stored (the journal's columns are NOT NULL).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bot.domain.instruments import Instrument
from bot.domain.orders import FundingPayment

PAGE = 100  # one page per read: the engine reads every heartbeat from the last payment seen

# (ccxt client, unified symbol, instrument, since_ms) -> the venue's raw rows
FetchFunding = Callable[[Any, str, Instrument, int], Awaitable[list[Any]]]
# (instrument, one raw row) -> the payment it records
ParseFunding = Callable[[Instrument, Mapping[str, Any]], FundingPayment]


async def fetch_funding_history(exchange: Any, symbol: str, instrument: Instrument, since_ms: int) -> list[Any]:
    """ccxt's unified funding history of `symbol` since `since_ms`: one page of funding structures."""
    rows: list[Any] = await exchange.fetch_funding_history(symbol, since_ms, PAGE)
    return rows


def payments_from_raw(
    parse: ParseFunding, instrument: Instrument, raws: list[Any], since_ms: int
) -> list[FundingPayment]:
    """FundingPayment values of `raws` (read with `parse`) at or after `since_ms`, oldest first."""
    payments = [parse(instrument, raw) for raw in raws]
    return sorted((p for p in payments if p.ts_ms >= since_ms), key=lambda p: p.ts_ms)


def number(value: Any) -> float:
    """A number from a venue's row, 0.0 where the field is missing or empty."""
    return float(value) if value not in (None, "") else 0.0
