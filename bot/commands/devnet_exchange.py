"""`hedgebot devnet exchange`: the local Binance COIN-M server alone, until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path
from typing import Any

from bot.devnet.exchange.server import DEFAULT_API_KEY, DEFAULT_API_SECRET, ExchangeServer


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("exchange", help="run the local Binance COIN-M exchange server (/dapi for ccxt)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8081, help="TCP port (0: any free port)")
    p.add_argument("--price-data", type=Path, help="replay the mark from a timestamp,open,high,low,close file")
    p.add_argument("--replay-interval-s", type=float, default=1.0, help="seconds per replayed candle")
    p.add_argument("--api-key", default=DEFAULT_API_KEY, help="accepted API key (default: the devnet key)")
    p.add_argument("--api-secret", default=DEFAULT_API_SECRET, help="accepted API secret (default: devnet)")
    p.add_argument("--balance-btc", type=float, default=1.0, help="starting BTC of the one account")
    p.add_argument("--mark-price", type=float, default=60_000.0, help="starting mark without --price-data")
    p.add_argument("--half-spread-bps", type=float, default=1.0, help="market orders fill at mark ± this")
    p.add_argument("--state", type=Path, help="SQLite file the account persists to (reloaded on start)")
    p.set_defaults(func=run_exchange)


def run_exchange(args: argparse.Namespace) -> int:
    return asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    server = ExchangeServer(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        api_secret=args.api_secret,
        balance_btc=args.balance_btc,
        mark_price=args.mark_price,
        half_spread_bps=args.half_spread_bps,
        state_path=args.state,
        price_data=args.price_data,
        replay_interval_s=args.replay_interval_s,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    url = await server.start()
    print(f"READY {url}", flush=True)
    try:
        await stop.wait()
    finally:
        await server.stop()
    return 0
