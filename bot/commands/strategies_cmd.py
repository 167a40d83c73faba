"""`hedgebot strategies list|new`: what is available, and a plugin skeleton to start from."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from bot.errors import UsageError
from bot.ops.output import print_grid, print_json
from bot.plugins import loader as plugins
from bot.plugins.skeleton import write_skeleton


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("strategies", help="list strategies or create a plugin")
    ssub = p.add_subparsers(dest="strategies_command", required=True, metavar="SUBCOMMAND")
    lst = ssub.add_parser("list", help="built-in and installed strategies with their parameters")
    lst.add_argument("--json", action="store_true", help="print JSON")
    lst.set_defaults(func=run_list)
    new = ssub.add_parser("new", help="write a plugin package skeleton (pip-installable, with a test)")
    new.add_argument("name", help="strategy name, e.g. my-hedge")
    new.add_argument("--dir", type=Path, default=Path("."), help="where to create the package folder")
    new.set_defaults(func=run_new)


def run_list(args: argparse.Namespace) -> int:
    described = [cls.describe() for cls in plugins.available().values()]
    if args.json:
        print_json(described)
        return 0
    for d in described:
        flag = "  (opt-in: only when named)" if d["opt_in"] else ""
        print(f"{d['name']}  risk={d['risk_class']}  leverage cap={d['leverage_cap']:g}x{flag}")
        print(f"  {d['summary']}")
        print_grid(
            ["  param", "type", "default", "meaning"],
            [[f"  {p['name']}", p["type"], p["default"], p["description"]] for p in d["params"]],
        )
        print()
    return 0


def run_new(args: argparse.Namespace) -> int:
    name: str = args.name
    if not re.fullmatch(r"[a-z][a-z0-9-]{1,40}", name):
        raise UsageError(f"strategy name {name!r}: use lowercase letters, digits and dashes, starting with a letter")
    if name in plugins.available():
        raise UsageError(f"a strategy named {name!r} already exists")
    folder = write_skeleton(name, args.dir)
    print(f"created {folder}")
    print(f"install it with:  pip install -e {folder}")
    print("then it shows in: hedgebot strategies list")
    return 0
