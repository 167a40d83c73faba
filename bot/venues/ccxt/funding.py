"""Funding payments from each venue's history, read through ccxt 4.5.90 and turned into FundingPayment values.

What each venue gives (checked in ccxt's sources):
- binancecoinm: `fetch_funding_history` -> GET /dapi/v1/income?incomeType=FUNDING_FEE. `amount` is the
  income row, already signed as credited; no rate and no position size in the row.
- bybit: `fetch_funding_history` -> GET /v5/execution/list?execType=Funding. `amount` is `execFee`, a fee
  (positive when paid, as for every Bybit fee), so the credit is its negation; `rate` is the funding rate
  (`feeRate`), `execQty` the position size in the venue's unit.
- okx: `fetch_funding_history` -> GET /api/v5/account/bills-archive?type=8. `amount` is the balance change
  (signed as credited); no rate, and the position's side is not in the bill.
- deribit: ccxt has no `fetch_funding_history`. Perpetual funding is realised in the transaction log:
  each `settlement` row of BTC-PERPETUAL carries `interest_pl` (the funding of the session, BTC) and the
  position. Funding realised inside a trade (closing between settlements) is not in those rows.
Where the venue does not say the rate or the position, 0.0 / 0 is stored (the journal's columns are NOT NULL).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.domain.instruments import Instrument
from bot.domain.orders import FundingPayment

PAGE = 100  # one page per read: the engine reads every heartbeat from the last payment seen


async def fetch_funding_raw(exchange: Any, exchange_id: str, symbol: str, instrument: Instrument, since_ms: int) -> Any:
    """The venue's raw funding history since `since_ms` (ccxt structures, or Deribit's log rows)."""
    if exchange_id == "deribit":
        response = await exchange.private_get_get_transaction_log(
            {
                "currency": "BTC",
                "start_timestamp": since_ms,
                "end_timestamp": exchange.milliseconds(),
                "query": "settlement",
                "count": PAGE,
            }
        )
        logs: list[dict[str, Any]] = ((response or {}).get("result") or {}).get("logs") or []
        return [row for row in logs if row.get("instrument_name") == instrument.venue_symbol]
    return await exchange.fetch_funding_history(symbol, since_ms, PAGE)


def payments_from_raw(exchange_id: str, instrument: Instrument, raws: list[Any], since_ms: int) -> list[FundingPayment]:
    """FundingPayment values of `raws` at or after `since_ms`, oldest first."""
    parse = _PARSERS[exchange_id]
    payments = [parse(instrument, raw) for raw in raws]
    return sorted((p for p in payments if p.ts_ms >= since_ms), key=lambda p: p.ts_ms)


def _f(value: Any) -> float:
    return float(value) if value not in (None, "") else 0.0


def _binance(instrument: Instrument, raw: Mapping[str, Any]) -> FundingPayment:
    # The income row has neither the rate nor the position it was paid on.
    return FundingPayment(int(raw.get("timestamp") or 0), _f(raw.get("amount")), 0.0, 0)


def _bybit(instrument: Instrument, raw: Mapping[str, Any]) -> FundingPayment:
    credited = -_f(raw.get("amount"))
    rate = _f(raw.get("rate"))
    size = instrument.contracts_from_venue_amount(abs(_f((raw.get("info") or {}).get("execQty"))))
    # The side of a funding execution is not documented as the position's: derive it from the money
    # instead. A position pays when the rate's sign matches its own (longs pay a positive rate).
    sign = -1 if (credited > 0) == (rate > 0) else 1
    return FundingPayment(int(raw.get("timestamp") or 0), credited, rate, sign * size if rate and credited else 0)


def _okx(instrument: Instrument, raw: Mapping[str, Any]) -> FundingPayment:
    # A funding bill says the balance change, not the rate nor the position's side.
    return FundingPayment(int(raw.get("timestamp") or 0), _f(raw.get("amount")), 0.0, 0)


def _deribit(instrument: Instrument, raw: Mapping[str, Any]) -> FundingPayment:
    size = instrument.contracts_from_venue_amount(abs(_f(raw.get("position"))))
    sign = -1 if raw.get("side") == "short" else 1
    # The settlement row has no rate (funding accrues continuously on Deribit).
    return FundingPayment(int(raw.get("timestamp") or 0), _f(raw.get("interest_pl")), 0.0, sign * size)


_PARSERS: dict[str, Callable[[Instrument, Mapping[str, Any]], FundingPayment]] = {
    "binancecoinm": _binance,
    "bybit": _bybit,
    "okx": _okx,
    "deribit": _deribit,
}
