"""`hedgebot devnet liquidator`: a liquidation bot beside the devnet, calling liquidationCall as soon as HF < 1."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from bot.devnet.chain.market import load_devnet
from bot.devnet.liquidator import LiquidationAttempt, Liquidator


def describe(a: LiquidationAttempt) -> str:
    """One line for a person."""
    if a.success:
        return (
            f"LIQUIDATED {a.borrower} (HF {a.health_factor_seen:.4f} at block {a.block_seen}): repaid "
            f"{a.debt_repaid:,.2f} {a.debt_symbol}, seized {a.collateral_seized:,.6f} {a.collateral_symbol}, "
            f"penalty {a.penalty_usd:,.2f} USD, tx {a.tx_hash}"
        )
    return (
        f"REVERTED {a.borrower} (HF {a.health_factor_seen:.4f} at block {a.block_seen}, mined in "
        f"{a.block_number}): {a.reason}, tx {a.tx_hash}"
    )


def _run(args: argparse.Namespace) -> int:
    info = load_devnet(args.devnet)
    borrowers = args.account or [info["accounts"]["borrower"]["address"]]

    def on_attempt(a: LiquidationAttempt) -> None:
        if args.json:
            print(json.dumps({**asdict(a), "penalty_usd": a.penalty_usd}), flush=True)
        else:
            print(describe(a), flush=True)

    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    liquidator = Liquidator(info, borrowers, attempt_below=args.below, on_attempt=on_attempt)
    if not args.json:
        print(f"watching {', '.join(liquidator.borrowers)} from {liquidator.account}: liquidationCall when HF < "
              f"{args.below:g} (Ctrl-C stops)", flush=True)  # fmt: skip
    liquidator.run(stop)
    return 0


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "liquidator", help="run a liquidation bot on the devnet: liquidationCall as soon as a watched HF is below 1"
    )
    p.add_argument("--devnet", type=Path, default=Path("devnet.json"), help="devnet.json written by `devnet up`")
    p.add_argument("--account", action="append", help="a borrower to watch (repeatable; default: the demo borrower)")
    p.add_argument("--below", type=float, default=1.0, help="liquidate under this health factor (default 1.0)")
    p.add_argument("--json", action="store_true", help="print each attempt as one JSON line")
    p.set_defaults(func=_run)
