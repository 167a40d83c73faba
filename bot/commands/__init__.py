"""One module per CLI command; each has `register(subparsers)` and sets `func` on its parser.

To add a command: write bot/commands/<name>.py with a `register` function and list it here.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from bot.commands import (
    backtest_cmd,
    config_cmd,
    demo_cmd,
    devnet_cmd,
    health_cmd,
    journal_cmd,
    plan_cmd,
    run_cmd,
    status_cmd,
    strategies_cmd,
)

Registrar = Callable[["argparse._SubParsersAction[Any]"], None]

COMMANDS: list[Registrar] = [
    config_cmd.register,
    strategies_cmd.register,
    plan_cmd.register,
    backtest_cmd.register,
    devnet_cmd.register,
    health_cmd.register,
    journal_cmd.register,
    status_cmd.register,
    run_cmd.register,
    demo_cmd.register,
]
