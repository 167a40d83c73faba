"""`hedgebot devnet env`: the HEDGEBOT_* settings that point dry-run and testnet at a running devnet, as `export`
lines to source or as a .env file."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path
from typing import Any

from bot.devnet.chain.market import load_devnet
from bot.errors import UsageError
from bot.ops.output import print_json

COLLATERAL = "WETH"  # what the devnet's demo borrower supplies


def devnet_variables(info: dict[str, Any]) -> dict[str, str]:
    """The settings, by variable name, for the chain, the demo borrower and (when it runs) the local exchange."""
    variables = {
        "HEDGEBOT_CHAIN__RPC_URLS": json.dumps([info["rpc_url"]]),
        "HEDGEBOT_CHAIN__POOL_ADDRESSES_PROVIDER": info["pool_addresses_provider"],
        "HEDGEBOT_CHAIN__ACCOUNTS": json.dumps([info["accounts"]["borrower"]["address"]]),
        "HEDGEBOT_CHAIN__COLLATERAL_ASSET": COLLATERAL,
    }
    if info.get("exchange_url"):
        variables |= {
            "HEDGEBOT_EXCHANGE__ID": "binancecoinm",
            "HEDGEBOT_EXCHANGE__API_URL": info["exchange_url"],
            "HEDGEBOT_EXCHANGE__API_KEY": info["exchange_api_key"],
            "HEDGEBOT_EXCHANGE__API_SECRET": info["exchange_api_secret"],
        }
    return variables


def _comment(path: Path, info: dict[str, Any]) -> str:
    lines = [f"# hedgebot on the devnet of {path}: `hedgebot run` (dry-run) or `hedgebot run --mode testnet`"]
    if not info.get("exchange_url"):
        lines.append(
            "# no local exchange in it (devnet up --no-exchange): the exchange settings are left as they are,"
            " and dry-run reads the real exchange's public mark price"
        )
    return "\n".join(lines)


def run_env(args: argparse.Namespace) -> int:
    info = load_devnet(args.devnet)
    variables = devnet_variables(info)
    if args.write is not None:
        if args.write.exists() and not args.force:
            raise UsageError(f"{args.write} exists: pass --force to replace it, or --write another file")
        body = "".join(f"{name}={shlex.quote(value)}\n" for name, value in variables.items())
        args.write.write_text(_comment(args.devnet, info) + "\n" + body)
        print(f"wrote {args.write} ({len(variables)} settings); hedgebot reads ./.env from the directory it runs in")
    elif args.json:
        print_json(variables)
    else:
        print(_comment(args.devnet, info))
        for name, value in variables.items():
            print(f"export {name}={shlex.quote(value)}")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "env",
        help="print the HEDGEBOT_* exports (or write a .env) that point hedgebot at a running devnet",
        description='Print export lines for the devnet `hedgebot devnet up` wrote: eval "$(hedgebot devnet env)".',
    )
    p.add_argument("--devnet", type=Path, default=Path("devnet.json"), help="devnet.json written by `devnet up`")
    p.add_argument("--write", type=Path, metavar="FILE", help="write the settings to FILE (e.g. .env) instead")
    p.add_argument("--force", action="store_true", help="with --write: replace an existing file")
    p.add_argument("--json", action="store_true", help="print the settings as one JSON object")
    p.set_defaults(func=run_env)
