"""The /dapi JSON shapes, rendered from the paper engine's state. Pure: values in, dicts out.

Field names and string-typed numbers follow Binance COIN-M's documented responses, which is what the
unmodified ccxt binancecoinm client parses.
"""

from __future__ import annotations

import math
from typing import Any

from bot.domain import inverse
from bot.domain.instruments import Instrument
from bot.domain.orders import Order, OrderStatus, OrderType
from bot.paper import PaperEngine

PAIR = "BTCUSD"
_PLAIN_STATUS = {
    OrderStatus.OPEN: "NEW",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELED: "CANCELED",
    OrderStatus.REJECTED: "REJECTED",
}
_ALGO_STATUS = {
    OrderStatus.OPEN: "NEW",
    OrderStatus.FILLED: "FINISHED",
    OrderStatus.CANCELED: "CANCELED",
    OrderStatus.REJECTED: "REJECTED",
}


def num(value: float | None, decimals: int = 8) -> str:
    """A number as Binance writes it: a string, '0' for none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "0"
    return f"{value:.{decimals}f}".rstrip("0").rstrip(".") if decimals else str(int(value))


def exchange_info(spec: Instrument, now_ms: int) -> dict[str, Any]:
    decimals = max(0, -math.floor(math.log10(spec.tick_size)))
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
        ],
        "exchangeFilters": [],
        "symbols": [
            {
                "symbol": spec.venue_symbol,
                "pair": PAIR,
                "contractType": "PERPETUAL",
                "deliveryDate": 4133404800000,
                "onboardDate": 1597042800000,
                "contractStatus": "TRADING",
                "contractSize": int(spec.contract_size_usd),
                "marginAsset": "BTC",
                "maintMarginPercent": num(spec.maintenance_margin_rate * 100, 4),
                "requiredMarginPercent": num(100 / spec.max_leverage, 4),
                "baseAsset": "BTC",
                "quoteAsset": "USD",
                "pricePrecision": decimals,
                "quantityPrecision": 0,
                "baseAssetPrecision": 8,
                "quotePrecision": 8,
                "equalQtyPrecision": 4,
                "triggerProtect": "0.0500",
                "underlyingType": "COIN",
                "underlyingSubType": [],
                "filters": [
                    {
                        "filterType": "PRICE_FILTER",
                        "minPrice": "1000",
                        "maxPrice": "4520958",
                        "tickSize": num(spec.tick_size, decimals),
                    },
                    {
                        "filterType": "LOT_SIZE",
                        "stepSize": num(spec.lot_contracts, 0),
                        "maxQty": "1000000",
                        "minQty": num(spec.min_contracts, 0),
                    },
                    {
                        "filterType": "MARKET_LOT_SIZE",
                        "stepSize": num(spec.lot_contracts, 0),
                        "maxQty": "60000",
                        "minQty": num(spec.min_contracts, 0),
                    },
                    {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                    {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 20},
                ],
                # ccxt checks an order's type against this list (Binance writes it in upper case).
                "orderTypes": [
                    "LIMIT",
                    "MARKET",
                    "STOP",
                    "STOP_MARKET",
                    "TAKE_PROFIT",
                    "TAKE_PROFIT_MARKET",
                    "TRAILING_STOP_MARKET",
                ],
                "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
                "liquidationFee": "0.010000",
                "marketTakeBound": "0.05",
            }
        ],
    }


def _cum_base(order: Order, spec: Instrument) -> float:
    if not order.filled_contracts or not order.average_price:
        return 0.0
    return abs(inverse.btc_notional(order.filled_contracts, spec.contract_size_usd, order.average_price))


def plain_order(order: Order, spec: Instrument, time_ms: int, update_ms: int) -> dict[str, Any]:
    """GET/POST/DELETE /dapi/v1/order."""
    otype = "LIMIT" if order.type is OrderType.LIMIT else "MARKET"
    status = _PLAIN_STATUS[order.status]
    if order.status is OrderStatus.OPEN and order.filled_contracts:
        status = "PARTIALLY_FILLED"
    if order.status is OrderStatus.CANCELED and order.reduce_only and order.type is OrderType.MARKET:
        status = "EXPIRED"
    return {
        "orderId": int(order.venue_id),
        "symbol": spec.venue_symbol,
        "pair": PAIR,
        "status": status,
        "clientOrderId": order.client_id,
        "price": num(order.price),
        "avgPrice": num(order.average_price),
        "origQty": str(order.contracts),
        "executedQty": str(order.filled_contracts),
        "cumQty": str(order.filled_contracts),
        "cumBase": num(_cum_base(order, spec)),
        "timeInForce": "GTC",
        "type": otype,
        "reduceOnly": order.reduce_only,
        "closePosition": False,
        "side": order.side.value.upper(),
        "positionSide": "BOTH",
        "stopPrice": "0",
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": otype,
        "time": time_ms,
        "updateTime": update_ms,
    }


def algo_order(order: Order, spec: Instrument, working_type: str, time_ms: int, update_ms: int) -> dict[str, Any]:
    """POST/GET/DELETE /dapi/v1/algoOrder and openAlgoOrders: a conditional STOP_MARKET."""
    return {
        "algoId": int(order.venue_id),
        "clientAlgoId": order.client_id,
        "algoType": "CONDITIONAL",
        "orderType": "STOP_MARKET",
        "symbol": spec.venue_symbol,
        "side": order.side.value.upper(),
        "positionSide": "BOTH",
        "timeInForce": "GTC",
        "quantity": str(order.contracts),
        "executedQty": str(order.filled_contracts),
        "avgPrice": num(order.average_price),
        "algoStatus": _ALGO_STATUS[order.status],
        "triggerPrice": num(order.trigger_price),
        "price": "0",
        "workingType": working_type,
        "priceProtect": False,
        "closePosition": False,
        "reduceOnly": order.reduce_only,
        "createTime": time_ms,
        "updateTime": update_ms,
        "triggerTime": update_ms if order.status is OrderStatus.FILLED else 0,
    }


def position_risk(engine: PaperEngine, now_ms: int) -> dict[str, Any]:
    spec = engine.instrument
    pos = engine.position()
    liq = engine.liquidation_price()
    mark = engine.mark
    notional = inverse.btc_notional(pos.contracts, spec.contract_size_usd, mark) if pos.contracts else 0.0
    isolated = engine.margin_mode == "isolated"
    return {
        "symbol": spec.venue_symbol,
        "positionAmt": str(pos.contracts),
        "entryPrice": num(pos.entry_price),
        "breakEvenPrice": num(pos.entry_price),
        "markPrice": num(mark),
        "unRealizedProfit": num(pos.unrealized_pnl_btc),
        "liquidationPrice": num(liq if pos.contracts and math.isfinite(liq) else 0.0),
        "leverage": num(engine.leverage, 0),
        "maxQty": "1000000",
        "marginType": "isolated" if isolated else "cross",
        "isolatedMargin": num(engine.isolated_margin_btc + pos.unrealized_pnl_btc if isolated else 0.0),
        "isolatedWallet": num(engine.isolated_margin_btc if isolated else 0.0),
        "isAutoAddMargin": "false",
        "positionSide": "BOTH",
        "notionalValue": num(notional),  # signed like the position: negative for a short
        "updateTime": now_ms,
    }


def asset_row(engine: PaperEngine, now_ms: int) -> dict[str, Any]:
    spec = engine.instrument
    pos = engine.position()
    initial = (
        inverse.initial_margin_btc(pos.contracts, spec.contract_size_usd, engine.mark, engine.leverage)
        if pos.contracts
        else 0.0
    )
    available = max(0.0, engine.available_btc())
    return {
        "asset": "BTC",
        "walletBalance": num(engine.wallet_btc),
        "unrealizedProfit": num(pos.unrealized_pnl_btc),
        "marginBalance": num(engine.equity_btc()),
        "maintMargin": num(engine.maintenance_btc()),
        "initialMargin": num(initial),
        "positionInitialMargin": num(initial),
        "openOrderInitialMargin": "0",
        "maxWithdrawAmount": num(available),
        "crossWalletBalance": num(engine.wallet_btc),
        "crossUnPnl": num(pos.unrealized_pnl_btc),
        "availableBalance": num(available),
        "updateTime": now_ms,  # ccxt reads the balance's timestamp from here; Binance never sends 0 once used
    }


def account(engine: PaperEngine, now_ms: int) -> dict[str, Any]:
    asset = asset_row(engine, now_ms)
    risk = position_risk(engine, now_ms)
    return {
        "assets": [asset],
        "positions": [
            {
                "symbol": risk["symbol"],
                "positionAmt": risk["positionAmt"],
                "initialMargin": asset["initialMargin"],
                "maintMargin": asset["maintMargin"],
                "unrealizedProfit": risk["unRealizedProfit"],
                "positionInitialMargin": asset["positionInitialMargin"],
                "openOrderInitialMargin": "0",
                "leverage": risk["leverage"],
                "isolated": risk["marginType"] == "isolated",
                "positionSide": "BOTH",
                "entryPrice": risk["entryPrice"],
                "breakEvenPrice": risk["breakEvenPrice"],
                "maxQty": "1000000",
                "notionalValue": risk["notionalValue"],
                "isolatedWallet": risk["isolatedWallet"],
                "updateTime": now_ms,
            }
        ],
        "canDeposit": True,
        "canTrade": True,
        "canWithdraw": True,
        "feeTier": 0,
        "updateTime": now_ms,
    }


def balance(engine: PaperEngine, now_ms: int) -> list[dict[str, Any]]:
    asset = asset_row(engine, now_ms)
    return [
        {
            "accountAlias": "devnet",
            "asset": "BTC",
            "balance": asset["walletBalance"],
            "withdrawAvailable": asset["maxWithdrawAmount"],
            "crossWalletBalance": asset["crossWalletBalance"],
            "crossUnPnl": asset["crossUnPnl"],
            "availableBalance": asset["availableBalance"],
            "updateTime": now_ms,
        }
    ]


def leverage_brackets(spec: Instrument) -> list[dict[str, Any]]:
    """One bracket: the instrument's maintenance rate up to its max leverage (v2/leverageBracket)."""
    return [
        {
            "symbol": spec.venue_symbol,
            "notionalCoef": 1.0,
            "brackets": [
                {
                    "bracket": 1,
                    "initialLeverage": int(spec.max_leverage),
                    "qtyCap": 1_000_000,
                    "qtyFloor": 0,
                    "maintMarginRatio": spec.maintenance_margin_rate,
                    "cum": 0.0,
                }
            ],
        }
    ]
