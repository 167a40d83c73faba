"""The exact requests ccxt must build for each action on each venue (the tables test_ccxt_requests checks)."""

from __future__ import annotations

from typing import Any

# venue -> action -> (method, path, params)
EXPECTED_ORDERS: dict[str, dict[str, tuple[str, str, dict[str, Any]]]] = {
    "binancecoinm": {
        "market": (
            "POST",
            "/dapi/v1/order",
            {
                "symbol": "BTCUSD_PERP",
                "side": "SELL",
                "type": "MARKET",
                "quantity": "3",
                "newClientOrderId": "hbEmarket",
                "newOrderRespType": "RESULT",
            },
        ),
        "limit": (
            "POST",
            "/dapi/v1/order",
            {
                "symbol": "BTCUSD_PERP",
                "side": "SELL",
                "type": "LIMIT",
                "quantity": "3",
                "price": "60123.4",
                "timeInForce": "GTC",
                "newClientOrderId": "hbElimit",
                "newOrderRespType": "RESULT",
            },
        ),
        "stop": (
            "POST",
            "/dapi/v1/algoOrder",
            {
                "algoType": "CONDITIONAL",
                "symbol": "BTCUSD_PERP",
                "side": "BUY",
                "type": "STOP_MARKET",
                "quantity": "3",
                "triggerPrice": "66000.1",
                "workingType": "MARK_PRICE",
                "reduceOnly": "true",
                "clientAlgoId": "hbSstop",
                "newOrderRespType": "RESULT",
            },
        ),
        "conditional": (
            "POST",
            "/dapi/v1/algoOrder",
            {
                "algoType": "CONDITIONAL",
                "symbol": "BTCUSD_PERP",
                "side": "SELL",
                "type": "STOP_MARKET",
                "quantity": "2",
                "triggerPrice": "55000",
                "workingType": "MARK_PRICE",
                "clientAlgoId": "hbCentry",
                "newOrderRespType": "RESULT",
            },
        ),
    },
    "bybit": {
        "market": (
            "POST",
            "/v5/order/create",
            {
                "category": "inverse",
                "symbol": "BTCUSD",
                "side": "Sell",
                "orderType": "Market",
                "qty": "3",
                "orderLinkId": "hbEmarket",
            },
        ),
        "limit": (
            "POST",
            "/v5/order/create",
            {
                "category": "inverse",
                "symbol": "BTCUSD",
                "side": "Sell",
                "orderType": "Limit",
                "qty": "3",
                "price": "60123.5",
                "timeInForce": "GTC",
                "orderLinkId": "hbElimit",
            },
        ),
        "stop": (
            "POST",
            "/v5/order/create",
            {
                "category": "inverse",
                "symbol": "BTCUSD",
                "side": "Buy",
                "orderType": "Market",
                "qty": "3",
                "triggerPrice": "66000",
                "triggerDirection": 1,
                "triggerBy": "MarkPrice",
                "reduceOnly": True,
                "orderLinkId": "hbSstop",
            },
        ),
        "conditional": (
            "POST",
            "/v5/order/create",
            {
                "category": "inverse",
                "symbol": "BTCUSD",
                "side": "Sell",
                "orderType": "Market",
                "qty": "2",
                "triggerPrice": "55000",
                "triggerDirection": 2,
                "triggerBy": "MarkPrice",
                "orderLinkId": "hbCentry",
            },
        ),
    },
    "okx": {
        "market": (
            "POST",
            "/api/v5/trade/batch-orders",
            {
                "instId": "BTC-USD-SWAP",
                "side": "sell",
                "ordType": "market",
                "sz": "3",
                "tdMode": "isolated",
                "clOrdId": "hbEmarket",
            },
        ),
        "limit": (
            "POST",
            "/api/v5/trade/batch-orders",
            {
                "instId": "BTC-USD-SWAP",
                "side": "sell",
                "ordType": "limit",
                "sz": "3",
                "px": "60123.4",
                "tdMode": "isolated",
                "clOrdId": "hbElimit",
            },
        ),
        "stop": (
            "POST",
            "/api/v5/trade/order-algo",
            {
                "instId": "BTC-USD-SWAP",
                "side": "buy",
                "ordType": "trigger",
                "sz": "3",
                "tdMode": "isolated",
                "triggerPx": "66000.1",
                "orderPx": "-1",
                "triggerPxType": "mark",
                "reduceOnly": True,
                "algoClOrdId": "hbSstop",
            },
        ),
        "conditional": (
            "POST",
            "/api/v5/trade/order-algo",
            {
                "instId": "BTC-USD-SWAP",
                "side": "sell",
                "ordType": "trigger",
                "sz": "2",
                "tdMode": "isolated",
                "triggerPx": "55000",
                "orderPx": "-1",
                "triggerPxType": "mark",
                "algoClOrdId": "hbCentry",
            },
        ),
    },
    "deribit": {
        # Deribit amounts are USD: 3 contracts of 10 USD.
        "market": (
            "GET",
            "/api/v2/private/sell",
            {"instrument_name": "BTC-PERPETUAL", "amount": "30", "type": "market", "label": "hbEmarket"},
        ),
        "limit": (
            "GET",
            "/api/v2/private/sell",
            {
                "instrument_name": "BTC-PERPETUAL",
                "amount": "30",
                "type": "limit",
                "price": "60123.5",
                "time_in_force": "good_til_cancelled",
                "label": "hbElimit",
            },
        ),
        "stop": (
            "GET",
            "/api/v2/private/buy",
            {
                "instrument_name": "BTC-PERPETUAL",
                "amount": "30",
                "type": "stop_market",
                "trigger_price": "66000",
                "trigger": "mark_price",
                "reduce_only": "true",
                "label": "hbSstop",
            },
        ),
        "conditional": (
            "GET",
            "/api/v2/private/sell",
            {
                "instrument_name": "BTC-PERPETUAL",
                "amount": "20",
                "type": "stop_market",
                "trigger_price": "55000",
                "trigger": "mark_price",
                "label": "hbCentry",
            },
        ),
    },
}

EXPECTED_OPEN_QUERIES = {
    "binancecoinm": [
        ("/dapi/v1/openOrders", {"symbol": "BTCUSD_PERP"}),
        ("/dapi/v1/openAlgoOrders", {"symbol": "BTCUSD_PERP"}),
    ],
    "bybit": [
        ("/v5/order/realtime", {"category": "inverse", "symbol": "BTCUSD"}),
        ("/v5/order/realtime", {"category": "inverse", "symbol": "BTCUSD", "orderFilter": "StopOrder"}),
    ],
    "okx": [
        ("/api/v5/trade/orders-pending", {"instId": "BTC-USD-SWAP"}),
        ("/api/v5/trade/orders-algo-pending", {"instId": "BTC-USD-SWAP", "ordType": "trigger"}),
    ],
    "deribit": [("/api/v2/private/get_open_orders_by_instrument", {"instrument_name": "BTC-PERPETUAL"})],
}

EXPECTED_CANCELS = {  # (plain, conditional)
    "binancecoinm": (
        ("DELETE", "/dapi/v1/order", {"symbol": "BTCUSD_PERP", "orderId": "123"}),
        ("DELETE", "/dapi/v1/algoOrder", {"symbol": "BTCUSD_PERP", "algoId": "123"}),
    ),
    "bybit": (
        ("POST", "/v5/order/cancel", {"category": "inverse", "symbol": "BTCUSD", "orderId": "123"}),
        ("POST", "/v5/order/cancel", {"category": "inverse", "symbol": "BTCUSD", "orderId": "123"}),
    ),
    "okx": (
        ("POST", "/api/v5/trade/cancel-order", {"instId": "BTC-USD-SWAP", "ordId": "123"}),
        ("POST", "/api/v5/trade/cancel-algos", {"instId": "BTC-USD-SWAP", "algoId": "123"}),
    ),
    "deribit": (
        ("GET", "/api/v2/private/cancel", {"order_id": "123"}),
        ("GET", "/api/v2/private/cancel", {"order_id": "123"}),
    ),
}
