"""A local Binance COIN-M exchange (/dapi over aiohttp) around the paper engine, for the unmodified ccxt client.

server.py serves it (life cycle, candle replay, admin routes and the one route table). The handlers are
in public.py, account.py and orders.py; they share http.py (parameters, signature check, error answers),
get the account from state.py and render Binance's JSON with dialect.py. auth.py checks signatures and
candles.py reads the replay's price file.
"""

from bot.devnet.exchange.server import DEFAULT_API_KEY, DEFAULT_API_SECRET, ExchangeServer

__all__ = ["DEFAULT_API_KEY", "DEFAULT_API_SECRET", "ExchangeServer"]
