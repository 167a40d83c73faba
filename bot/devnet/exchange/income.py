"""GET /dapi/v1/income: the account's funding payments as Binance COIN-M's income history.

Only FUNDING_FEE rows are served (fees and realised PnL are in /userTrades); a query for another
income type gets an empty list, as Binance answers a type with no rows. Rows are oldest first within
[startTime, endTime], at most `limit` (Binance: default 100, max 1000), which is what ccxt's
binancecoinm `fetch_funding_history` sends and parses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.devnet.exchange import dialect, routes
from bot.devnet.exchange.routes import BinanceError, Params, _symbol

if TYPE_CHECKING:
    from bot.devnet.exchange.server import ExchangeServer

FUNDING_FEE = "FUNDING_FEE"


def _int(params: Params, name: str, default: int) -> int:
    raw = params.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(str(raw))
    except ValueError:
        raise BinanceError(-1100, f"Illegal characters found in parameter '{name}'.") from None


@routes.endpoint(signed=True)
def income(server: ExchangeServer, params: Params) -> list[dict[str, Any]]:
    _symbol(server, params, required=False)
    if params.get("incomeType", FUNDING_FEE) != FUNDING_FEE:
        return []
    start = _int(params, "startTime", 0)
    end = _int(params, "endTime", server.now_ms())
    limit = _int(params, "limit", 100)
    if not 1 <= limit <= 1000:
        raise BinanceError(-1130, "Data sent for parameter 'limit' is not valid.")
    symbol = server.engine.instrument.venue_symbol
    rows = []
    # The payment's place in the engine's history is its transaction id: stable across reads and restarts.
    for tran_id, payment in enumerate(server.engine.funding_payments(), start=1):
        if start <= payment.ts_ms <= end:
            rows.append(
                {
                    "symbol": symbol,
                    "incomeType": FUNDING_FEE,
                    "income": dialect.num(payment.amount_btc),
                    "asset": "BTC",
                    "info": FUNDING_FEE,
                    "time": payment.ts_ms,
                    "tranId": str(tran_id),
                    "tradeId": "",
                }
            )
    return rows[:limit]
