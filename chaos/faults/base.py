"""What every fault shares: the record of one injected fault, and the measures taken of it.

A fault function gets the run (its world, its bot, its settings) and a seeded random generator, and returns
the `Injected` record the checks judge: when the fault began and ended, the chain's head when it ended (a
fresh decision must have read at least that block), the window during which the data the bot could read was
bad, and evidence that the fault was really in force (read back from the chain, the exchange or the proxy).
"""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chaos.proxy import FaultProxy, Record

if TYPE_CHECKING:
    from chaos.runner import Run

DATA_GRACE_S = 0.3  # an order accepted this soon after bad data appeared was decided before it could be seen
BAD_CHAIN_GRACE_S = 1.0  # past the stale-block limit, a decision in flight may still finish
HTML_503 = "<html><h1>503 Service Temporarily Unavailable</h1></html>"  # what a load balancer answers


@dataclass
class Injected:
    """One fault as it happened (times are epoch seconds)."""

    cls: str
    t_start: float = 0.0
    t_end: float = 0.0
    head_at_end: int = 0
    bad_from: float | None = None  # data the bot could read was bad from here to bad_to
    bad_to: float | None = None
    evidence: list[str] = field(default_factory=list)
    hit: int | None = None  # the bot's requests that met the fault, or 1 for a kill point reached; None: unseen
    gap_s: float | None = None  # seconds from t_end to the next fresh decision; None: none came
    restart_s: float | None = None  # kills: from the restart to the new process's recovery read (start-up)
    restarted_by_runner: bool = False
    # Faults that look at the exchange's book mid-run (with no bot running): what was left resting wrongly.
    orphans: list[Mapping[str, Any]] = field(default_factory=list)
    unprotected_contracts: int = 0


FaultFn = Callable[["Run", random.Random], Awaitable[Injected]]


def outage_s(rng: random.Random, stale_block_s: float) -> float:
    """Half the outages short (2-5 s), half longer than the bot's stale-block limit (so its guard must act)."""
    if rng.random() < 0.5:
        return rng.uniform(2.0, 5.0)
    return stale_block_s + rng.uniform(2.0, 5.0)


async def end(run: Run, f: Injected) -> Injected:
    """Mark the fault cleared now, at the chain's current head."""
    f.t_end = time.time()
    f.head_at_end = await run.world.chain.head()
    return f


def count_hits(proxy: FaultProxy, f: Injected, name: str) -> None:
    """`hit`: the bot's requests the proxy fault `name` answered in the fault's window."""
    f.hit = sum(1 for r in proxy.records if r.fault == name and f.t_start <= r.t_start <= f.t_end)
    what = "node" if proxy.name == "rpc" else "exchange"
    f.evidence.append(f"{f.hit} requests to the {what} met the fault")


def count_requests(proxy: FaultProxy, f: Injected, what: str, keep: Callable[[Record], bool]) -> None:
    """`hit`: the bot's requests in the fault's window that `keep` picks (it met the fault through them)."""
    f.hit = sum(1 for r in proxy.records if f.t_start <= r.t_start <= f.t_end and keep(r))
    f.evidence.append(f"{f.hit} {what}")


def stale_window(run: Run, f: Injected, hold: float) -> None:
    """Past the bot's stale-block limit, the newest block it could have read is stale: trading on it is bad data."""
    limit = run.config.stale_block_s
    if hold > limit + BAD_CHAIN_GRACE_S:
        f.bad_from, f.bad_to = f.t_start + limit + BAD_CHAIN_GRACE_S, f.t_end
    f.evidence.append(f"held {hold:.1f} s (stale-block limit {limit:.0f} s)")


def follow_up(proxy: FaultProxy, sent: Record) -> str:
    """What the bot did about an order whose answer it never read: looked it up by client id, or sent it again."""
    later = [r for r in proxy.records if r.client_id == sent.client_id and r.t_start > sent.t_start]
    looked = sum(1 for r in later if r.method == "GET")
    resent = sum(1 for r in later if r.method == "POST")
    return f"then {sent.client_id} was looked up {looked}x, sent again {resent}x"
