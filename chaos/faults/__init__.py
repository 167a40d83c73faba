"""The fault classes: each injects one fault for real, holds it, clears it, and says when it was in force
(chaos.faults.base). One module per group: kills, node, exchange, data."""

from __future__ import annotations

from chaos.faults import data, exchange, kills, node
from chaos.faults.base import FaultFn, Injected

__all__ = ["FAULTS", "FaultFn", "Injected"]

FAULTS: dict[str, FaultFn] = {
    **{f"kill:{p}": kills.kill_fault(p) for p in kills.POINTS},
    **{f"rpc:{n}": node.proxy_fault(n) for n in ("dead", "503", "blackhole")},
    "rpc:sigstop": node.paused,
    "rpc:anvil-restart": node.restarted,
    "rpc:chain-frozen": node.frozen,
    **{f"exchange:{n}": exchange.proxy_fault(n) for n in exchange.PROXY_FAULTS},
    "exchange:down-at-sigterm": exchange.down_at_sigterm,
    **{f"data:oracle-{n}": data.oracle_fault(n) for n in ("zero", "negative", "x10", "frozen")},
    "data:mark+50%": data.mark_jump(+1),
    "data:mark-50%": data.mark_jump(-1),
    "data:diverge": data.drift("mark"),
    "data:mark-frozen": data.drift("oracle"),
}
