"""`hedgebot run`: the bot. Dry-run unless told otherwise; live needs two opt-ins."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path
from typing import Any

from bot.config import load_settings
from bot.errors import HedgebotError
from bot.log import redact_text, unbreakable
from bot.ops.kill import KILLED_EXIT_CODE, hold_while_killed

CONFIG_EXIT_CODE = 2


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("run", help="run the bot: watch the position, hedge it (dry-run by default)")
    p.add_argument("--config", type=Path, help="TOML settings file")
    p.add_argument("--mode", choices=["dry-run", "testnet", "live"], help="overrides HEDGEBOT_MODE (default dry-run)")
    p.add_argument(
        "--cancel-stops-on-exit",
        action="store_true",
        help="on SIGINT/SIGTERM also cancel the protective stops (by default they are left in place)",
    )
    p.add_argument(
        "--hold",
        action="store_true",
        help="for supervisors that restart whatever exits (Docker's restart policies): when the bot stops for "
        "something a restart cannot fix, a kill in force or a bad configuration, stay up instead of exiting; "
        "once the kill is cleared (hedgebot kill --clear) exit 0, so the supervisor starts a bot that trades",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # A reader that goes away (`hedgebot run | head`) must not stop, or half-stop, a bot that holds a hedge.
    sys.stdout, sys.stderr = unbreakable(sys.stdout), unbreakable(sys.stderr)
    db_path: Path | None = None
    try:
        settings = load_settings(args.config)
        db_path = settings.db_path
        from bot.app import prepare, run_bot  # the run-time stack (web3, ccxt) is only imported when the bot runs

        mode = prepare(settings, args.mode)
        code = asyncio.run(run_bot(settings, mode, keep_stops_on_exit=not args.cancel_stops_on_exit))
    except HedgebotError as exc:
        if not args.hold or exc.exit_code not in (CONFIG_EXIT_CODE, KILLED_EXIT_CODE):
            raise
        print(f"hedgebot: error: {redact_text(str(exc))}", file=sys.stderr)
        code = exc.exit_code
    if not args.hold or code not in (CONFIG_EXIT_CODE, KILLED_EXIT_CODE):
        return code
    return asyncio.run(_hold(code, db_path if code == KILLED_EXIT_CODE else None))


async def _hold(code: int, db_path: Path | None) -> int:
    """Stay up after exit `code`: until the kill at `db_path` is cleared (then 0), or until a signal (then `code`)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if db_path is None:
        print("hedgebot: holding (--hold): fix the configuration, then restart the bot", file=sys.stderr)
        await stop.wait()
        return code
    print(
        f"hedgebot: holding (--hold) while the kill is in force; clear it with `hedgebot kill --clear --db "
        f"{db_path}` and the bot exits 0 to be restarted",
        file=sys.stderr,
        flush=True,
    )
    if await hold_while_killed(db_path, stop):
        print("hedgebot: the kill was cleared: exiting 0 so the supervisor restarts the bot", file=sys.stderr)
        return 0
    return code
