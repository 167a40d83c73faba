"""`hedgebot devnet ...`: the embedded local setup (anvil + real Aave V3, the local exchange server).

Each part registers its own subcommands: list its `register(devnet_subparsers)` in DEVNET_PARTS.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from bot.commands import devnet_chain, devnet_env, devnet_exchange, devnet_guardian, devnet_liquidator

DEVNET_PARTS: list[Callable[[argparse._SubParsersAction[Any]], None]] = [
    devnet_chain.register,
    devnet_exchange.register,
    devnet_env.register,
    devnet_guardian.register,
    devnet_liquidator.register,
]


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("devnet", help="local devnet: anvil with real Aave V3, and a local exchange server")
    dsub = p.add_subparsers(dest="devnet_command", required=True, metavar="SUBCOMMAND")
    for part in DEVNET_PARTS:
        part(dsub)
