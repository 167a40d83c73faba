"""The local Binance COIN-M exchange: an aiohttp server speaking /dapi to the unmodified ccxt client.

The account and matching are the paper engine (bot.paper). This module holds the server's life cycle,
the candle replay, the devnet's admin routes and the one route table; the handlers live in public.py,
account.py and orders.py and get the account's state (state.py), never the server.

    server = ExchangeServer(port=0, balance_btc=1.0)
    url = await server.start()          # http://127.0.0.1:<port>
    server.set_mark(60_000.0)           # or POST /_devnet/mark_price {"symbol":"BTCUSD_PERP","price":60000}
    await server.stop()
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from aiohttp import web

from bot.clock import wall_ms
from bot.devnet.exchange import account, orders, public
from bot.devnet.exchange.candles import Candle, load_candles
from bot.devnet.exchange.http import STATE_KEY, error
from bot.devnet.exchange.state import ExchangeState
from bot.paper import EngineSettings, PaperEngine
from bot.venues.ccxt.registry import builtin_instrument

# Documented devnet credentials: they guard nothing but a local paper account.
DEFAULT_API_KEY = "hedgebot-devnet-key"
DEFAULT_API_SECRET = "hedgebot-devnet-secret"


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
        self.replay_interval_s = replay_interval_s
        self.candles: list[Candle] = load_candles(price_data) if price_data else []
        # Market orders fill at the mark plus or minus the half-spread: spread_bps is the full width.
        settings = EngineSettings(slippage_bps=0.0, spread_bps=2 * half_spread_bps, leverage=leverage)
        engine = PaperEngine(builtin_instrument("binancecoinm"), settings, balance_btc, clock())
        self.state = ExchangeState(engine, api_key=api_key, api_secret=api_secret, clock=clock, state_path=state_path)
        self._runner: web.AppRunner | None = None
        self._replay: asyncio.Task[None] | None = None
        if state_path is not None and state_path.exists():
            self.state.load()
        elif self.candles:
            self.set_mark(self.candles[0].open)
        else:
            self.set_mark(mark_price)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def engine(self) -> PaperEngine:
        """The paper engine behind the account (a restart from a state file replaces it)."""
        return self.state.engine

    def set_mark(self, price: float) -> int:
        """Move the mark (and last) to `price`, paying funding that fell due; the fills it caused."""
        return self.state.set_mark(price)

    # ------------------------------------------------------------- life cycle

    def app(self) -> web.Application:
        app = web.Application()
        app[STATE_KEY] = self.state
        app.add_routes(ROUTES)
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
        self.state.save()

    async def _replay_candles(self) -> None:
        """Walk the mark through each candle (open, the nearer extreme, the other, close), one per interval."""
        for candle in self.candles:
            for price in candle.path():
                async with self.state.lock:
                    self.state.set_mark(price)
            await asyncio.sleep(self.replay_interval_s)


# ------------------------------------------------------------------ admin (outside /dapi, unsigned)


async def admin_mark_price(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    body = await request.json()
    if body.get("symbol", state.engine.instrument.venue_symbol) != state.engine.instrument.venue_symbol:
        return error(-1121, "Invalid symbol.")
    async with state.lock:
        fills = state.set_mark(float(body["price"]))
    return web.json_response(
        {"symbol": state.engine.instrument.venue_symbol, "markPrice": state.engine.mark, "fills": fills}
    )


async def admin_state(request: web.Request) -> web.Response:
    state = request.app[STATE_KEY]
    e = state.engine
    async with state.lock:
        pos = e.position()
        body = {
            "mark": e.mark,
            "wallet_btc": e.wallet_btc,
            "equity_btc": e.equity_btc(),
            "contracts": pos.contracts,
            "entry_price": pos.entry_price,
            "unrealized_pnl_btc": pos.unrealized_pnl_btc,
            "open_orders": len(e.open_orders()),
            "leverage": e.leverage,
            "margin_mode": e.margin_mode,
        }
    return web.json_response(body)


async def admin_orders(request: web.Request) -> web.Response:
    """Every order request answered (the order log), every order known with its status now, and the position."""
    state = request.app[STATE_KEY]
    e = state.engine
    async with state.lock:
        known = (e.order(cid) for cid in state.order_times)
        body = {
            "log": state.order_log,
            "orders": [
                {
                    "client_id": o.client_id,
                    "created_ms": state.order_times[o.client_id],
                    "side": o.side.value,
                    "type": o.type.value,
                    "status": o.status.value,
                    "contracts": o.contracts,
                    "filled_contracts": o.filled_contracts,
                    "price": o.price,
                    "trigger_price": o.trigger_price,
                    "reduce_only": o.reduce_only,
                }
                for o in known
                if o is not None
            ],
            "contracts": e.position().contracts,
            "mark": e.mark,
            "liquidations": e.liquidations,
        }
    return web.json_response(body)


# ------------------------------------------------------------------ the route table

V1 = "/dapi/v1"
ROUTES = [
    web.get(f"{V1}/ping", public.ping),
    web.get(f"{V1}/time", public.server_time),
    web.get(f"{V1}/exchangeInfo", public.exchange_info),
    web.get(f"{V1}/premiumIndex", public.premium_index),
    web.get(f"{V1}/ticker/24hr", public.ticker_24hr),
    web.get(f"{V1}/ticker/bookTicker", public.book_ticker),
    web.get(f"{V1}/klines", public.klines),
    web.get(f"{V1}/markPriceKlines", public.mark_price_klines),
    web.get(f"{V1}/fundingRate", public.funding_rate),
    web.get(f"{V1}/account", account.account),
    web.get(f"{V1}/balance", account.balance),
    web.get(f"{V1}/positionRisk", account.position_risk),
    web.get("/dapi/v2/leverageBracket", account.leverage_bracket),
    web.post(f"{V1}/leverage", account.set_leverage),
    web.post(f"{V1}/marginType", account.set_margin_type),
    web.get(f"{V1}/userTrades", account.user_trades),
    web.get(f"{V1}/income", account.income),
    web.post(f"{V1}/order", orders.new_order),
    web.get(f"{V1}/order", orders.get_order),
    web.delete(f"{V1}/order", orders.cancel_order),
    web.put(f"{V1}/order", orders.amend_order),
    web.get(f"{V1}/openOrders", orders.open_orders),
    web.get(f"{V1}/allOrders", orders.all_orders),
    web.post(f"{V1}/algoOrder", orders.new_algo_order),
    web.get(f"{V1}/algoOrder", orders.get_algo_order),
    web.delete(f"{V1}/algoOrder", orders.cancel_algo_order),
    web.get(f"{V1}/openAlgoOrders", orders.open_algo_orders),
    web.post("/_devnet/mark_price", admin_mark_price),
    web.get("/_devnet/state", admin_state),
    web.get("/_devnet/orders", admin_orders),
]
