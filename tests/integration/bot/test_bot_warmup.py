"""The bot's features at start: warmed on the exchange's minute bars, or cold when they cannot be read.

Real anvil + Aave V3, the local COIN-M server and the real ccxt client, in dry-run (public bars, as the
public mark). The local server lists no ETH perpetual, so the WETH borrower's bot warms the BTC side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from structlog.testing import capture_logs

from bot.app import assemble
from bot.clock import wall_ms
from bot.devnet.chain.market import set_price
from bot.devnet.exchange.candles import load_candles
from bot.devnet.exchange.server import ExchangeServer
from tests.integration.bot.conftest import bot_settings
from tests.integration.bot.test_bot_e2e import until

pytestmark = pytest.mark.integration
MINUTE = 60_000
BARS = 600


class Clock:
    def __init__(self) -> None:
        self.fixed: int | None = None

    def __call__(self) -> int:
        return self.fixed if self.fixed is not None else wall_ms()


@web.middleware
async def klines_down(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.path.endswith("/klines"):
        return web.json_response({"code": -1001, "msg": "Internal error; unable to process your request."}, status=500)
    return await handler(request)


class KlinesDown(ExchangeServer):
    """The local server with its klines failing, everything else served."""

    def app(self) -> web.Application:
        app = super().app()
        app.middlewares.append(klines_down)
        return app


@pytest.mark.parametrize("history", ["served", "failing"])
async def test_the_bot_starts_on_warm_features_or_cold_when_history_fails(
    devnet: dict[str, Any], tmp_path: Path, shared_data: Path, history: str
) -> None:
    clock = Clock()
    now = clock() // MINUTE * MINUTE
    clock.fixed = first_open = now - BARS * MINUTE
    candles = load_candles(shared_data / "binance_BTCUSDT_1m_20210420-20210520.csv.gz")[:BARS]
    scale = 60_000.0 / candles[-1].close  # the history ends at the devnet oracle's BTC price
    server = (KlinesDown if history == "failing" else ExchangeServer)(
        port=0, balance_btc=0.1, mark_price=candles[0].open * scale, clock=clock
    )
    for i, candle in enumerate(candles):
        for k, price in enumerate(candle.path()):
            clock.fixed = first_open + i * MINUTE + k * 10_000
            server.set_mark(price * scale)
    clock.fixed = None
    server.set_mark(60_000.0)
    await server.start()
    try:
        settings = bot_settings(devnet, server.url, tmp_path / "bot.sqlite").model_copy(update={"mode": "dry-run"})
        settings.exchange.api_key = settings.exchange.api_secret = None
        set_price(devnet, "WETH", 3_000)
        with capture_logs() as logs:
            async with assemble(settings, "dry-run") as bot:
                engine = bot.engine
                features = engine.features.features()
                task = asyncio.create_task(engine.run())
                await until(engine, lambda: engine.decisions >= 1 and engine.status.last_decision is not None)
                engine.stop_requested.set()
                assert await task == 0
    finally:
        await server.stop()
    assert features.samples == 0  # no ETH perpetual here: beta waits for live samples either way
    warnings = [e["event"] for e in logs if e["log_level"] == "warning" and "warm-up" in e["event"]]
    if history == "served":
        assert 0.2 < features.btc_vol_annual < 3.0 and features.swing_high == features.swing_high
        assert warnings == []
    else:
        # Cold, marked warming up: never a volatility measured on a few live bars (B17).
        assert features.warming_up and features.btc_vol_annual == 0.0
        assert warnings == ["feature warm-up failed: features start cold"]
