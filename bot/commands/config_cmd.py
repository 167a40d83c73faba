"""`hedgebot config check`: the effective settings, secrets masked."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from bot.config import load_settings
from bot.ops.output import print_json, print_table


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("config", help="inspect the configuration")
    csub = p.add_subparsers(dest="config_command", required=True, metavar="SUBCOMMAND")
    check = csub.add_parser("check", help="validate and print the effective settings (secrets masked)")
    check.add_argument("--config", type=Path, help="TOML settings file")
    check.add_argument("--json", action="store_true", help="print JSON")
    check.set_defaults(func=run_check)


def _flatten(prefix: str, obj: Any) -> list[tuple[str, Any]]:
    if isinstance(obj, dict):
        rows: list[tuple[str, Any]] = []
        for k, v in obj.items():
            rows.extend(_flatten(f"{prefix}.{k}" if prefix else k, v))
        return rows
    return [(prefix, obj)]


def run_check(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    masked = settings.masked()
    if args.json:
        print_json(masked)
    else:
        print_table(_flatten("", masked), title="effective settings (secrets masked):")
    return 0
