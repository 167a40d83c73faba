"""SIGKILL at chosen points of the bot's life, then a restart on the same journal and exchange account.

The points hang on the exchange proxy, so each is exact: mid-decision (within 150 ms of a decision's account
read), send-journal (the exchange accepted an order, the bot never reads the answer), mid-reconcile (one order
action of a decision done, the next arriving), mid-recovery (killed between send and journal, then killed again
while the restarted bot resolves that order by client id), mid-shutdown (SIGTERM, then SIGKILL at its first
order action or a random instant) and random.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from chaos.checks import ACCOUNT_READ, first_account_read
from chaos.faults.base import FaultFn, Injected, end, follow_up
from chaos.proxy import ORDER_PATHS, FaultProxy, Record, Watch

if TYPE_CHECKING:
    from chaos.runner import Run

KILL_TRIGGER_TIMEOUT_S = 20.0
POINTS = ("mid-decision", "send-journal", "mid-reconcile", "mid-recovery", "mid-shutdown", "random")


class SecondAction:
    """True on the second order action (place or cancel) of one decision: the reconcile is half done."""

    def __init__(self) -> None:
        self.actions = 0

    def __call__(self, r: Record) -> bool:
        if r.method == "GET" and r.path == ACCOUNT_READ:
            self.actions = 0
        elif r.mutates_orders:
            self.actions += 1
        return self.actions == 2


def kill_fault(point: str) -> FaultFn:
    async def inject(run: Run, rng: random.Random) -> Injected:
        f = Injected(f"kill:{point}")
        proxy, bot = run.world.ex_proxy, run.bot
        assert proxy is not None
        watch = _arm(point, run, rng, f)
        if point == "mid-shutdown":
            bot.terminate()
            assert watch is not None
            try:  # SIGKILL at its first order action, or at a random instant of the shutdown
                await asyncio.wait_for(watch.fired.wait(), rng.uniform(0.1, 1.5))
            except TimeoutError:
                proxy.watches.remove(watch)
                f.evidence.append("killed before the shutdown sent an order action")
                bot.kill()
                watch = None
            f.hit = 1
        elif point == "random":
            await asyncio.sleep(rng.uniform(0.0, 3.0))
            bot.kill()
            f.hit = 1
        unread: Record | None = None  # an order the exchange accepted and the killed bot never heard back about
        if watch is not None:
            f.hit = int(await _wait_fired(proxy, watch, f, bot.kill))
            if point == "mid-decision":
                await asyncio.sleep(0.2)  # its delayed kill
            if point in ("send-journal", "mid-recovery") and f.hit:
                unread = watch.record
        f.t_start = time.time()
        await bot.wait(10)
        if point == "mid-recovery":
            # The process restarted on an unresolved intent is killed again while it resolves it by client id.
            again = proxy.watch(_recovery_request, lambda r: bot.kill(), "request")
            await bot.start()
            await _wait_fired(proxy, again, f, bot.kill, timeout_s=60.0)
            await bot.wait(10)
        restart = time.time()
        await bot.start()
        # The fault ends when the new process is back at the exchange: its start-up recovery read.
        deadline = time.time() + 60
        while (t := first_account_read(restart, proxy.records)) is None and time.time() < deadline:
            await asyncio.sleep(0.05)
        f.restart_s = (t or time.time()) - restart
        f.evidence.append(f"restarted; its recovery read the account {f.restart_s:.1f} s after the restart")
        await end(run, f)
        f.t_end = t if t is not None else restart
        if unread is not None:
            f.evidence.append(follow_up(proxy, unread))
        return f

    return inject


def _arm(point: str, run: Run, rng: random.Random, f: Injected) -> Watch | None:
    """The kill point's watch on the exchange proxy (None for the points that need none)."""
    proxy, bot = run.world.ex_proxy, run.bot
    assert proxy is not None
    if point in ("send-journal", "mid-recovery"):  # the exchange accepted the order; the bot never reads the answer
        return proxy.watch(
            lambda r: r.method == "POST" and r.mutates_orders and r.status == 200, lambda r: bot.kill(), "response"
        )
    if point == "mid-decision":  # a decision has begun: killed within 150 ms of its account read
        loop, delay = asyncio.get_running_loop(), rng.uniform(0.0, 0.15)

        def later(r: Record) -> None:
            loop.call_later(delay, bot.kill)

        return proxy.watch(lambda r: r.method == "GET" and r.path == ACCOUNT_READ, later, "request")
    if point == "mid-reconcile":  # one order action of a decision done, the next one arriving
        return proxy.watch(SecondAction(), lambda r: bot.kill(), "request")
    if point == "mid-shutdown":
        return proxy.watch(lambda r: r.mutates_orders, lambda r: bot.kill(), "request")
    return None


def _recovery_request(r: Record) -> bool:
    """A start-up recovery at work: an order looked up by client id, or the account read that follows."""
    return r.method == "GET" and ((r.path in ORDER_PATHS and bool(r.client_id)) or r.path == ACCOUNT_READ)


async def _wait_fired(
    proxy: FaultProxy, watch: Watch, f: Injected, kill: Callable[[], None], timeout_s: float = KILL_TRIGGER_TIMEOUT_S
) -> bool:
    """Wait for the kill point; when it is not reached in time, kill there and then. True if it was reached."""
    try:
        await asyncio.wait_for(watch.fired.wait(), timeout_s)
    except TimeoutError:
        proxy.watches.remove(watch)
        f.evidence.append(f"point not reached in {timeout_s:.0f} s: killed there and then")
        kill()
        return False
    assert watch.record is not None
    what = f"{watch.record.method} {watch.record.path}" + (
        f" {watch.record.client_id}" if watch.record.client_id else ""
    )
    f.evidence.append(f"killed at {what}")
    return True
