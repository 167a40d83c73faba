"""`hedgebot run`: the bot. Dry-run unless told otherwise; live needs two opt-ins."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.config import load_settings


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("run", help="run the bot: watch the position, hedge it (dry-run by default)")
    p.add_argument("--config", type=Path, help="TOML settings file")
    p.add_argument("--mode", choices=["dry-run", "testnet", "live"], help="overrides HEDGEBOT_MODE (default dry-run)")
    p.add_argument(
        "--cancel-stops-on-exit",
        action="store_true",
        help="on SIGINT/SIGTERM also cancel the protective stops (by default they are left in place)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    from bot.app import prepare, run_bot  # the run-time stack (web3, ccxt) is only imported when the bot runs

    mode = prepare(settings, args.mode)
    return asyncio.run(run_bot(settings, mode, keep_stops_on_exit=not args.cancel_stops_on_exit))
