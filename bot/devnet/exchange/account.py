"""The signed /dapi account routes: account, balance, positionRisk, leverage brackets, leverage and margin
type, userTrades and income (funding)."""

from __future__ import annotations

from typing import Any

from bot.devnet.exchange import dialect
from bot.devnet.exchange.http import (
    BinanceError,
    Params,
    check_symbol,
    endpoint,
    int_param,
    price_param,
    required_param,
)
from bot.devnet.exchange.state import ExchangeState
from bot.domain.orders import Side
from bot.paper.errors import MarginModeChangeRejected

signed = endpoint(signed=True)
FUNDING_FEE = "FUNDING_FEE"


@signed
def account(state: ExchangeState, params: Params) -> dict[str, Any]:
    return dialect.account(state.engine, state.now_ms())


@signed
def balance(state: ExchangeState, params: Params) -> list[dict[str, Any]]:
    return dialect.balance(state.engine, state.now_ms())


@signed
def position_risk(state: ExchangeState, params: Params) -> list[dict[str, Any]]:
    return [dialect.position_risk(state.engine, state.now_ms())]


@signed
def leverage_bracket(state: ExchangeState, params: Params) -> list[dict[str, Any]]:
    return dialect.leverage_brackets(state.engine.instrument)


@signed
def set_leverage(state: ExchangeState, params: Params) -> dict[str, Any]:
    check_symbol(state, params)
    leverage = int(price_param(params, "leverage"))
    engine = state.engine
    if not 1 <= leverage <= engine.instrument.max_leverage:
        raise BinanceError(-4028, f"Leverage {leverage} is not valid")
    engine.configure(float(leverage), engine.margin_mode)
    return {"leverage": leverage, "maxQty": "1000000", "symbol": engine.instrument.venue_symbol}


@signed
def set_margin_type(state: ExchangeState, params: Params) -> dict[str, Any]:
    check_symbol(state, params)
    wanted = {"ISOLATED": "isolated", "CROSSED": "cross"}.get(required_param(params, "marginType").upper())
    if wanted is None:
        raise BinanceError(-4044, "The margin type is invalid.")
    engine = state.engine
    if wanted == engine.margin_mode:
        raise BinanceError(-4046, "No need to change margin type.")
    try:
        engine.configure(engine.leverage, wanted)  # type: ignore[arg-type]
    except MarginModeChangeRejected:
        raise BinanceError(-4048, "Margin type cannot be changed if there exists position.") from None
    return {"code": 200, "msg": "success"}


@signed
def user_trades(state: ExchangeState, params: Params) -> list[dict[str, Any]]:
    engine = state.engine
    spec = engine.instrument
    since = int(params.get("startTime", "0"))
    out = []
    for i, fill in enumerate(engine.fills(since), start=1):
        order = engine.order(fill.client_id)
        out.append(
            {
                "symbol": spec.venue_symbol,
                "id": i,
                "orderId": int(order.venue_id) if order else 0,
                "pair": dialect.PAIR,
                "side": fill.side.value.upper(),
                "price": dialect.num(fill.price),
                "qty": str(fill.contracts),
                "realizedPnl": "0",
                "marginAsset": "BTC",
                "baseQty": dialect.num(fill.contracts * spec.contract_size_usd / fill.price),
                "commission": dialect.num(fill.fee_btc),
                "commissionAsset": "BTC",
                "time": fill.timestamp_ms,
                "positionSide": "BOTH",
                "buyer": fill.side is Side.BUY,
                "maker": False,
            }
        )
    return out[-int(params.get("limit", "500")) :]


@signed
def income(state: ExchangeState, params: Params) -> list[dict[str, Any]]:
    """The account's funding payments as Binance COIN-M's income history.

    Only FUNDING_FEE rows are served (fees and realised PnL are in /userTrades); a query for another
    income type gets an empty list, as Binance answers a type with no rows. Rows are oldest first within
    [startTime, endTime], at most `limit` (Binance: default 100, max 1000), which is what ccxt's
    binancecoinm `fetch_funding_history` sends and parses.
    """
    check_symbol(state, params, required=False)
    if params.get("incomeType", FUNDING_FEE) != FUNDING_FEE:
        return []
    start = int_param(params, "startTime", 0)
    end = int_param(params, "endTime", state.now_ms())
    limit = int_param(params, "limit", 100)
    if not 1 <= limit <= 1000:
        raise BinanceError(-1130, "Data sent for parameter 'limit' is not valid.")
    symbol = state.engine.instrument.venue_symbol
    rows = []
    # The payment's place in the engine's history is its transaction id: stable across reads and restarts.
    for tran_id, payment in enumerate(state.engine.funding_payments(), start=1):
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
