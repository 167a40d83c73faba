"""Argument parsing only: each command lives in bot/commands/ and is listed here."""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from collections.abc import Callable, Sequence
from typing import Any

from bot.commands import (
    backtest_cmd,
    config_cmd,
    data_cmd,
    demo_cmd,
    devnet_cmd,
    evaluate_cmd,
    health_cmd,
    journal_cmd,
    pause_cmd,
    plan_cmd,
    run_cmd,
    status_cmd,
    strategies_cmd,
    tune_cmd,
)
from bot.errors import HedgebotError
from bot.log import redact_text

COMMANDS: list[Callable[[argparse._SubParsersAction[Any]], None]] = [
    config_cmd.register,
    strategies_cmd.register,
    plan_cmd.register,
    backtest_cmd.register,
    evaluate_cmd.register,
    tune_cmd.register,
    data_cmd.register,
    devnet_cmd.register,
    health_cmd.register,
    journal_cmd.register,
    status_cmd.register,
    pause_cmd.register,
    run_cmd.register,
    demo_cmd.register,
]


def _version() -> str:
    """The installed package's version (its metadata, from pyproject.toml)."""
    try:
        return importlib.metadata.version("hedgebot")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


def build_parser() -> argparse.ArgumentParser:
    """The whole `hedgebot` command tree."""
    parser = argparse.ArgumentParser(
        prog="hedgebot", description="Hedge DeFi lending positions with inverse BTC perpetual shorts."
    )
    parser.add_argument("--version", action="version", version=f"hedgebot {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in COMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except HedgebotError as exc:
        print(f"hedgebot: error: {redact_text(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
