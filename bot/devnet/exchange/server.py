"""The local Binance COIN-M exchange: an aiohttp server speaking /dapi to the unmodified ccxt client.

The account and matching are the paper engine (bot.paper); this module is HTTP, auth and state only.

    server = ExchangeServer(port=0, balance_btc=1.0)
    url = await server.start()          # http://127.0.0.1:<port>
    server.set_mark(60_000.0)           # or POST /_devnet/mark_price {"symbol":"BTCUSD_PERP","price":60000}
    await server.stop()
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from bot.clock import wall_ms
from bot.devnet.exchange import trade
from bot.devnet.exchange.candles import Candle, load_candles
from bot.devnet.exchange.routes import SERVER_KEY
from bot.domain.instruments import builtin_instrument
from bot.paper import EngineSettings, PaperEngine

# Documented devnet credentials: they guard nothing but a local paper account.
DEFAULT_API_KEY = "hedgebot-devnet-key"
DEFAULT_API_SECRET = "hedgebot-devnet-secret"
SYMBOL_ID = "BTCUSD_PERP"


class ExchangeServer:
    """One funded BTC-margined account on BTCUSD_PERP, served over Binance's /dapi REST dialect."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8081,
        api_key: str = DEFAULT_API_KEY,
        api_secret: str = DEFAULT_API_SECRET,
        balance_btc: float = 1.0,
        mark_price: float = 60_000.0,
        half_spread_bps: float = 1.0,
        leverage: float = 20.0,
        state_path: Path | None = None,
        price_data: Path | None = None,
        replay_interval_s: float = 1.0,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        self.host, self.port = host, port
        self.api_key, self.api_secret = api_key, api_secret
        self.clock = clock
        self.state_path = state_path
        self.replay_interval_s = replay_interval_s
        self.candles: list[Candle] = load_candles(price_data) if price_data else []
        # Market orders fill at the mark plus or minus the half-spread: spread_bps is the full width.
        settings = EngineSettings(slippage_bps=0.0, spread_bps=2 * half_spread_bps, leverage=leverage)
        self.engine = PaperEngine(builtin_instrument("binancecoinm"), settings, balance_btc, clock())
        self.order_times: dict[str, int] = {}  # client id -> creation time (ms); the engine keeps no clock
        self.working_types: dict[str, str] = {}  # algo client id -> workingType as sent
        self.history: list[tuple[int, float]] = []  # (ms, mark) samples, for klines
        self.lock = asyncio.Lock()  # one request at a time touches the engine
        self._runner: web.AppRunner | None = None
        self._replay: asyncio.Task[None] | None = None
        if state_path is not None and state_path.exists():
            self._load()
        elif self.candles:
            self.set_mark(self.candles[0].open)
        else:
            self.set_mark(mark_price)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def now_ms(self) -> int:
        return self.clock()

    def set_mark(self, price: float) -> int:
        """Move the mark (and last) to `price`, paying funding that fell due; the fills it caused."""
        now = self.now_ms()
        self.engine.advance_time(now)
        fills = self.engine.move(price)
        self.history.append((now, price))
        del self.history[:-10_000]
        self.save()
        return fills

    # ------------------------------------------------------------- persistence

    def save(self) -> None:
        if self.state_path is None:
            return
        state = {
            "engine": self.engine.to_dict(),
            "order_times": self.order_times,
            "working_types": self.working_types,
        }
        with sqlite3.connect(self.state_path) as db:
            db.execute("CREATE TABLE IF NOT EXISTS state (id INTEGER PRIMARY KEY CHECK (id = 1), json TEXT NOT NULL)")
            db.execute("INSERT OR REPLACE INTO state (id, json) VALUES (1, ?)", (json.dumps(state),))

    def _load(self) -> None:
        assert self.state_path is not None
        with sqlite3.connect(self.state_path) as db:
            row = db.execute("SELECT json FROM state WHERE id = 1").fetchone()
        if row is None:
            return
        state = json.loads(row[0])
        self.engine = PaperEngine.from_dict(state["engine"])
        self.order_times = {k: int(v) for k, v in state["order_times"].items()}
        self.working_types = dict(state["working_types"])

    # ------------------------------------------------------------- life cycle

    def app(self) -> web.Application:
        app = web.Application()
        app[SERVER_KEY] = self
        trade.add_routes(app)
        return app

    async def start(self) -> str:
        """Serve; the base URL (with the real port when port=0)."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:  # the OS chose a free port: read it back from the runner's listening socket
            for address in self._runner.addresses:
                self.port = int(address[1])
        if self.candles:
            self._replay = asyncio.create_task(self._replay_candles())
        return self.url

    async def stop(self) -> None:
        if self._replay is not None:
            self._replay.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        self.save()

    async def _replay_candles(self) -> None:
        """Walk the mark through each candle (open, the nearer extreme, the other, close), one per interval."""
        for candle in self.candles:
            for price in candle.path():
                async with self.lock:
                    self.set_mark(price)
            await asyncio.sleep(self.replay_interval_s)
