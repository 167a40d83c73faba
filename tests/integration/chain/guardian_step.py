"""One guardian step in a process of its own, for the kill tests: plan a defense on the latest block and run it.

    python guardian_step.py RPC_URL PROVIDER BORROWER KEY DB HOOK N

At every `HOOK` ("signed": hash journaled, not yet broadcast; "broadcast": a node accepted it) it prints
"HOOK <journal id> <tx hash>"; at the N-th it stops there, waiting to be killed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from bot.chain.tx import TxHooks
from bot.domain.defense import plan_defense
from bot.monitors.lending_feed import lending_view
from tests.integration.chain.guardians import close, make_guardian, started


async def main(rpc_url: str, provider: str, borrower: str, key: str, db: str, hook: str, stop_at: int) -> None:
    seen = 0

    async def at_hook(tx_id: int, tx_hash: str) -> None:
        nonlocal seen
        seen += 1
        print(f"{hook.upper()} {tx_id} {tx_hash}", flush=True)
        if seen == stop_at:
            await asyncio.Event().wait()  # until SIGKILL

    hooks = TxHooks(after_signed=at_hook) if hook == "signed" else TxHooks(after_broadcast=at_hook)
    devnet = {"rpc_url": rpc_url, "pool_addresses_provider": provider}
    guardian = make_guardian(devnet, borrower, key, hooks=hooks)
    journal = await started(guardian, Path(db))
    try:
        snap = await guardian.monitor.snapshot([borrower])
        action = plan_defense(lending_view(snap.accounts[0], "WETH"), guardian.policy, await guardian.view())
        assert action is not None
        result = await guardian.defend(action)
        print(f"DONE {result.status}", flush=True)
    finally:
        await close(guardian, journal)


if __name__ == "__main__":
    a = sys.argv[1:]
    asyncio.run(main(a[0], a[1], a[2], a[3], a[4], a[5], int(a[6])))
