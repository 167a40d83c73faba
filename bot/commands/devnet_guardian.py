"""`hedgebot devnet guardian`: fund a guardian wallet on the devnet and print the setting that turns it on."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any

from bot.devnet.chain.market import load_devnet
from bot.devnet.guardian import fund_guardian
from bot.ops.output import print_json


def _run(args: argparse.Namespace) -> int:
    funded = fund_guardian(load_devnet(args.devnet), args.amount, args.asset.upper())
    if args.json:
        print_json(funded)
        return 0
    holds = f"{funded['balance']:,.2f} {funded['asset']}"
    print(f"# guardian {funded['address']} holds {holds} (anvil's public dev key #5: devnet only)")
    print(f"export HEDGEBOT_DEFENSE__PRIVATE_KEY={shlex.quote(funded['private_key'])}")
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("guardian", help="give a devnet guardian wallet a reserve and print its key setting")
    p.add_argument("--amount", type=float, default=50_000.0, help="reserve to mint to it (default 50,000)")
    p.add_argument("--asset", default="USDC", help="the reserve's asset (default USDC, the demo borrower's debt)")
    p.add_argument("--devnet", type=Path, default=Path("devnet.json"), help="devnet.json written by `devnet up`")
    p.add_argument("--json", action="store_true", help="print JSON (with the key)")
    p.set_defaults(func=_run)
