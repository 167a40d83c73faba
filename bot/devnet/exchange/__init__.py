"""A local Binance COIN-M exchange (/dapi over aiohttp) around the paper engine, for the unmodified ccxt client."""

from bot.devnet.exchange.server import DEFAULT_API_KEY, DEFAULT_API_SECRET, ExchangeServer

__all__ = ["DEFAULT_API_KEY", "DEFAULT_API_SECRET", "ExchangeServer"]
