"""`hedgebot demo`: the main job on the embedded local setup (what `make demo` runs)."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.backtest.data import SHARED_DATA_DIR, format_time, parse_time_ms
from bot.backtest.download import download_command
from bot.errors import UsageError
from bot.log import configure


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "demo",
        help="replay the May 2021 crash through anvil + Aave V3 + a liquidator + the local exchange, in two lanes: "
        "without the guardian and with it",
    )
    p.add_argument("--data", type=Path, default=SHARED_DATA_DIR, help="the shared market data folder")
    p.add_argument("--start", default="2021-05-12", help="first day of the replay (UTC)")
    p.add_argument("--end", default="2021-05-24", help="day after the last (UTC)")
    p.add_argument("--step-hours", type=int, default=4, help="hours of the real path per step (default 4)")
    p.add_argument("--strategy", default="dynamic", help="strategy to run (default dynamic)")
    p.add_argument("--balance-btc", type=float, default=0.1, help="hedge capital on the exchange (BTC)")
    p.add_argument(
        "--reserve-usdc", type=float, default=10_000.0, help="the guardian lane's reserve (USDC, default 10,000)"
    )
    p.add_argument("--verbose", action="store_true", help="show the bot's own log lines")
    p.set_defaults(func=run)


# Binance spot's hourly candles, as ../shared/data has them: `data download` names its files the same way.
DEMO_FILES = ("binance_BTCUSDT_1h.csv.gz", "binance_ETHUSDT_1h.csv.gz")
WARMUP_DAYS = 8  # the demo warms its features on the 8 days before the window (bot/devnet/demo.py)


def run(args: argparse.Namespace) -> int:
    missing = [name for name in DEMO_FILES if not (args.data / name).is_file()]
    if missing:
        since = format_time(parse_time_ms(args.start) - WARMUP_DAYS * 86_400_000)[:10]
        folder = "data"
        fetch = download_command(["BTC/USDT", "ETH/USDT"], since, args.end, folder, exchange="binance")
        raise UsageError(
            f"{args.data} has no {' or '.join(missing)} (the demo reads the shared data folder beside the"
            f" repository by default). Download the same candles from Binance's public API, then point the demo"
            f" at them:\n  {fetch}\n  hedgebot demo --data {folder}"
        )
    if args.step_hours < 1 or args.balance_btc <= 0 or args.reserve_usdc <= 0:
        raise UsageError("--step-hours must be at least 1, --balance-btc and --reserve-usdc positive")
    configure("console", "info" if args.verbose else "error")
    from bot.devnet.demo import run_demo, summary  # the run-time stack is only imported when the demo runs

    print(
        "starting anvil with a real Aave V3 market, two borrowers at HF 1.5, a liquidator, two local Binance COIN-M"
        " servers and two bots (one without a guardian, one with) ...",
        flush=True,
    )
    outcome = asyncio.run(
        run_demo(
            args.data,
            start=args.start,
            end=args.end,
            step_hours=args.step_hours,
            strategy=args.strategy,
            balance_btc=args.balance_btc,
            reserve_usdc=args.reserve_usdc,
        )
    )
    print()
    print("\n".join(summary(outcome, args.strategy)))
    return 0
