"""`hedgebot config check`: the effective settings, secrets masked, and the deep checks `run` also runs."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bot.config import Mode, load_settings
from bot.log import redact_text
from bot.ops.output import print_json, print_table


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("config", help="inspect the configuration")
    csub = p.add_subparsers(dest="config_command", required=True, metavar="SUBCOMMAND")
    check = csub.add_parser(
        "check",
        help="validate the settings as `run` does (addresses, strategy, levels, bind, and on the chain: the "
        "Aave market, the collateral, the guardian) and print them, secrets masked",
    )
    check.add_argument("--config", type=Path, help="TOML settings file")
    check.add_argument("--json", action="store_true", help="print JSON")
    check.add_argument("--offline", action="store_true", help="skip the on-chain checks (no RPC request is made)")
    check.add_argument(
        "--mode",
        choices=["dry-run", "testnet", "live"],
        help="check as for this mode (default HEDGEBOT_MODE): testnet and live also check the guardian's gas",
    )
    check.set_defaults(func=run_check)


def _flatten(prefix: str, obj: Any) -> list[tuple[str, Any]]:
    if isinstance(obj, dict):
        rows: list[tuple[str, Any]] = []
        for k, v in obj.items():
            rows.extend(_flatten(f"{prefix}.{k}" if prefix else k, v))
        return rows
    return [(prefix, obj)]


def run_check(args: argparse.Namespace) -> int:
    """Exit 0 when every check passed (warnings allowed), 2 for a wrong setting, 1 when no RPC URL answered."""
    from bot.validation import validate  # web3 and the strategies are only imported when checking

    settings = load_settings(args.config)
    mode: Mode = args.mode or settings.mode
    report = asyncio.run(validate(settings, mode, online=not args.offline))
    masked = settings.masked()
    if args.json:
        print_json({**masked, "checks": [{**f, "detail": redact_text(f["detail"])} for f in report.as_json()]})
    else:
        print_table(_flatten("", masked), title="effective settings (secrets masked):")
        ran = "offline only (--offline)" if args.offline else "offline and on-chain"
        print_table(
            [(f"{f.status:<8} {f.check}", redact_text(f.detail)) for f in report.findings],
            title=f"checks, {ran}:",
        )
    report.raise_for_errors()
    return 0
