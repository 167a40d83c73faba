"""The fault classes: each injects one fault for real, holds it, clears it, and says when it was in force.

A fault function gets the run (its world, its bot, its settings) and a seeded random generator, and returns
the `Injected` record the checks judge: when the fault began and ended, the chain's head when it ended (a
fresh decision must have read at least that block), the window during which the data the bot could read was
bad, and evidence that the fault was really in force (read back from the chain, the exchange or the proxy).
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chaos.checks import ACCOUNT_READ, first_account_read
from chaos.proxy import (
    Answer,
    BlackHole,
    DropAfterAccept,
    FaultProxy,
    Malformed,
    Record,
    Slow,
    is_order_placement,
)
from chaos.world import FEED_SCALE

if TYPE_CHECKING:
    from chaos.runner import Run

KILL_TRIGGER_TIMEOUT_S = 20.0
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
    restarted_by_runner: bool = False


FaultFn = Callable[["Run", random.Random], Awaitable[Injected]]


def outage_s(rng: random.Random, stale_block_s: float) -> float:
    """Half the outages short (2-5 s), half longer than the bot's stale-block limit (so its guard must act)."""
    if rng.random() < 0.5:
        return rng.uniform(2.0, 5.0)
    return stale_block_s + rng.uniform(2.0, 5.0)


async def _end(run: Run, f: Injected) -> Injected:
    f.t_end = time.time()
    f.head_at_end = await run.world.chain.head()
    return f


def _count_hits(proxy: FaultProxy, f: Injected, name: str) -> None:
    f.hit = sum(1 for r in proxy.records if r.fault == name and f.t_start <= r.t_start <= f.t_end)
    what = "node" if proxy.name == "rpc" else "exchange"
    f.evidence.append(f"{f.hit} requests to the {what} met the fault")


def _count_requests(proxy: FaultProxy, f: Injected, what: str, keep: Callable[[Record], bool]) -> None:
    """`hit`: the bot's requests in the fault's window that `keep` picks (it met the fault through them)."""
    f.hit = sum(1 for r in proxy.records if f.t_start <= r.t_start <= f.t_end and keep(r))
    f.evidence.append(f"{f.hit} {what}")


# ------------------------------------------------------------------ SIGKILL at a point, then restart


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
        loop = asyncio.get_running_loop()
        watch = None
        if point == "send-journal":  # the exchange accepted the order; the bot never reads the answer
            watch = proxy.watch(
                lambda r: r.method == "POST" and r.mutates_orders and r.status == 200, lambda r: bot.kill(), "response"
            )
        elif point == "mid-decision":  # a decision has begun: killed within 150 ms of its account read
            delay = rng.uniform(0.0, 0.15)

            def later(r: Record) -> None:
                loop.call_later(delay, bot.kill)

            watch = proxy.watch(lambda r: r.method == "GET" and r.path == ACCOUNT_READ, later, "request")
        elif point == "mid-reconcile":  # one order action of a decision done, the next one arriving
            watch = proxy.watch(SecondAction(), lambda r: bot.kill(), "request")
        elif point == "mid-shutdown":  # SIGTERM, then SIGKILL at its first order action or a random instant
            bot.terminate()
            watch = proxy.watch(lambda r: r.mutates_orders, lambda r: bot.kill(), "request")
            try:
                await asyncio.wait_for(watch.fired.wait(), rng.uniform(0.1, 1.5))
            except TimeoutError:
                proxy.watches.remove(watch)
                f.evidence.append("killed before the shutdown sent an order action")
                bot.kill()
                watch = None
        else:  # random: any instant of a healthy bot's life
            await asyncio.sleep(rng.uniform(0.0, 3.0))
            bot.kill()
        if watch is not None:
            try:
                await asyncio.wait_for(watch.fired.wait(), KILL_TRIGGER_TIMEOUT_S)
                f.hit = 1
                assert watch.record is not None
                f.evidence.append(f"killed at {watch.record.method} {watch.record.path}")
                if point == "mid-decision":
                    await asyncio.sleep(0.2)
            except TimeoutError:
                proxy.watches.remove(watch)
                f.hit = 0
                f.evidence.append(f"point not reached in {KILL_TRIGGER_TIMEOUT_S:.0f} s: killed there and then")
                bot.kill()
        elif point in ("random", "mid-shutdown"):
            f.hit = 1
        f.t_start = time.time()
        await bot.wait(10)
        restart = time.time()
        await bot.start()
        # The fault ends when the new process is back at the exchange: its start-up recovery read.
        deadline = time.time() + 60
        while (t := first_account_read(restart, proxy.records)) is None and time.time() < deadline:
            await asyncio.sleep(0.05)
        f.evidence.append(f"restarted; recovery read {((t or time.time()) - restart):.1f} s after the restart")
        await _end(run, f)
        f.t_end = t if t is not None else restart
        return f

    return inject


# ------------------------------------------------------------------ the node


def _refused(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) != 0


def rpc_proxy_fault(name: str) -> FaultFn:
    async def inject(run: Run, rng: random.Random) -> Injected:
        f = Injected(f"rpc:{name}")
        proxy = run.world.rpc_proxy
        assert proxy is not None
        hold = outage_s(rng, run.config.stale_block_s)
        f.t_start = time.time()
        if name == "dead":
            await proxy.go_dead()
            f.evidence.append(f"node port refuses connections: {_refused(proxy.port)}")
        elif name == "503":
            proxy.fault = Answer(503, HTML_503, (("Content-Type", "text/html"),), name="503")
        else:
            proxy.fault = BlackHole()
        await asyncio.sleep(hold)
        if name == "dead":
            await proxy.revive()
        else:
            proxy.clear()
        await _end(run, f)
        if name != "dead":
            _count_hits(proxy, f, "503" if name == "503" else "blackhole")
        _stale_window(run, f, hold)
        return f

    return inject


def _stale_window(run: Run, f: Injected, hold: float) -> None:
    """Past the bot's stale-block limit, the newest block it could have read is stale: trading on it is bad data."""
    limit = run.config.stale_block_s
    if hold > limit + BAD_CHAIN_GRACE_S:
        f.bad_from, f.bad_to = f.t_start + limit + BAD_CHAIN_GRACE_S, f.t_end
    f.evidence.append(f"held {hold:.1f} s (stale-block limit {limit:.0f} s)")


async def node_paused(run: Run, rng: random.Random) -> Injected:
    f = Injected("rpc:sigstop")
    chain = run.world.chain
    hold = outage_s(rng, run.config.stale_block_s)
    f.t_start = time.time()
    chain.pause()
    with open(f"/proc/{chain.pid}/stat") as stat:
        f.evidence.append(f"anvil state {stat.read().split()[2]} (T: stopped)")
    await asyncio.sleep(hold)
    chain.resume()
    await _end(run, f)
    assert run.world.rpc_proxy is not None
    _count_requests(run.world.rpc_proxy, f, "requests to the paused node", lambda r: True)
    _stale_window(run, f, hold)
    return f


async def node_restarted(run: Run, rng: random.Random) -> Injected:
    f = Injected("rpc:anvil-restart")
    chain = run.world.chain
    before = await chain.head()
    down = rng.uniform(1.0, 4.0)
    f.t_start = time.time()
    await chain.restart(down)
    await _end(run, f)
    f.evidence.append(f"anvil down {down:.1f} s; head {before} before, {f.head_at_end} after (state reloaded)")
    assert run.world.rpc_proxy is not None
    _count_requests(run.world.rpc_proxy, f, "requests met a node that was down", lambda r: r.status == 502)
    _stale_window(run, f, f.t_end - f.t_start)
    return f


async def chain_frozen(run: Run, rng: random.Random) -> Injected:
    f = Injected("rpc:chain-frozen")
    chain = run.world.chain
    hold = outage_s(rng, run.config.stale_block_s)
    before = await chain.head()
    f.t_start = time.time()
    chain.frozen = True
    await asyncio.sleep(hold)
    frozen_at = await chain.head()
    chain.frozen = False
    await _end(run, f)
    f.evidence.append(f"head {before} -> {frozen_at} while frozen")
    assert run.world.rpc_proxy is not None
    _count_requests(
        run.world.rpc_proxy, f, "chain reads at the frozen head", lambda r: r.rpc_ok and r.rpc_block == frozen_at
    )
    _stale_window(run, f, hold)
    return f


# ------------------------------------------------------------------ the exchange


def _signed(request: object) -> bool:
    return "signature=" in str(getattr(request, "query_string", "")) or getattr(request, "method", "") != "GET"


EXCHANGE_ANSWERS: dict[str, Callable[[float], Answer]] = {
    "503": lambda s: Answer(503, HTML_503, (("Content-Type", "text/html"),), name="503"),
    "429": lambda s: Answer(
        429,
        '{"code":-1003,"msg":"Too many requests; current limit is 2400 requests per minute."}',
        (("Content-Type", "application/json"), ("Retry-After", str(max(1, round(s))))),
        name="429",
    ),
    "418": lambda s: Answer(
        418,
        '{"code":-1003,"msg":"Way too many requests; IP banned until ' + f'{int((time.time() + s) * 1000)}."}}',
        (("Content-Type", "application/json"), ("Retry-After", str(max(1, round(s))))),
        name="418",
    ),
    "-1021": lambda s: Answer(
        400,
        '{"code":-1021,"msg":"Timestamp for this request is outside of the recvWindow."}',
        (("Content-Type", "application/json"),),
        only=_signed,
        name="-1021",
    ),
    "-2019": lambda s: Answer(
        400,
        '{"code":-2019,"msg":"Margin is insufficient."}',
        (("Content-Type", "application/json"),),
        only=is_order_placement,
        name="-2019",
    ),
}


def exchange_fault(name: str) -> FaultFn:
    async def inject(run: Run, rng: random.Random) -> Injected:
        f = Injected(f"exchange:{name}")
        proxy, exchange = run.world.ex_proxy, run.world.exchange
        assert proxy is not None and exchange is not None
        hold = rng.uniform(3.0, 10.0)
        f.t_start = time.time()
        if name == "restart":
            await exchange.kill()
            await proxy.go_dead()
            f.evidence.append(f"exchange killed (SIGKILL), its port refuses connections: {_refused(proxy.port)}")
            await asyncio.sleep(hold)
            await exchange.start()
            await proxy.revive()
            await _end(run, f)
            f.evidence.append(f"down {hold:.1f} s, restarted on its saved account")
            return f
        if name in EXCHANGE_ANSWERS:
            proxy.fault = EXCHANGE_ANSWERS[name](hold)
        elif name == "bad-json":
            proxy.fault = Malformed()
        elif name == "slow":
            delay = rng.uniform(3.0, 12.0)
            proxy.fault = Slow(delay)
            f.evidence.append(f"answers held {delay:.1f} s each")
        else:  # drop-after-accept: held until an order was accepted and its answer dropped (or 20 s)
            proxy.fault = DropAfterAccept()
            deadline = time.time() + 20.0
            while time.time() < deadline and not any(
                r.fault == "drop-after-accept" and r.t_start >= f.t_start for r in proxy.records
            ):
                await asyncio.sleep(0.05)
            hold = 0.0
        await asyncio.sleep(hold)
        proxy.clear()
        await _end(run, f)
        _count_hits(proxy, f, proxy_name(name))
        return f

    return inject


def proxy_name(name: str) -> str:
    return {"bad-json": "malformed"}.get(name, name)


# ------------------------------------------------------------------ absurd data


def oracle_fault(name: str) -> FaultFn:
    async def inject(run: Run, rng: random.Random) -> Injected:
        f = Injected(f"data:oracle-{name}")
        chain, market = run.world.chain, run.world.market
        assert market is not None
        market.held.add("WETH")
        hold = rng.uniform(4.0, 10.0)
        if name == "frozen":
            # The feed stops updating: its last round backdated past the bot's oracle heartbeat (26 h by default).
            await chain.set_updated_at("WETH", int(time.time()) - 27 * 3600)
        else:
            answer = {"zero": 0, "negative": -FEED_SCALE, "x10": round(market.eth * 10 * FEED_SCALE)}[name]
            await chain.set_answer("WETH", answer)
        f.t_start = time.time()
        bad_block = await chain.head()
        answer_now, updated = await chain.read_answer("WETH")
        f.evidence.append(
            f"WETH feed on chain: answer {answer_now / FEED_SCALE:g} USD, updated {time.time() - updated:.0f} s ago"
        )
        f.bad_from = f.t_start + DATA_GRACE_S
        await asyncio.sleep(hold)
        await chain.set_price("WETH", market.eth)
        market.held.discard("WETH")
        await _end(run, f)
        f.bad_to = f.t_end
        assert run.world.rpc_proxy is not None
        _count_requests(
            run.world.rpc_proxy,
            f,
            "chain reads of the bad round",
            lambda r: r.rpc_ok and r.rpc_block is not None and bad_block <= r.rpc_block < f.head_at_end,
        )
        return f

    return inject


def mark_jump(sign: int) -> FaultFn:
    async def inject(run: Run, rng: random.Random) -> Injected:
        f = Injected(f"data:mark{'+' if sign > 0 else '-'}50%")
        exchange, market = run.world.exchange, run.world.market
        assert exchange is not None and market is not None
        market.held.add("mark")
        hold = rng.uniform(4.0, 10.0)
        await exchange.set_mark(market.btc * (1 + 0.5 * sign))
        f.t_start = time.time()
        f.evidence.append(f"exchange mark {(await exchange.orders())['mark']:,.1f} (oracle BTC {market.btc:,.1f})")
        f.bad_from = f.t_start + DATA_GRACE_S
        await asyncio.sleep(hold)
        await exchange.set_mark(market.btc)
        market.held.discard("mark")
        await _end(run, f)
        f.bad_to = f.t_end
        _count_mark_reads(run, f)
        return f

    return inject


def drift(moving: str) -> FaultFn:
    """The mark and the oracle's BTC part, 1 % a second for 8 s: the mark moving away from a still oracle
    ("diverging"), or the oracle moving away from a mark that stopped updating ("mark-frozen")."""

    async def inject(run: Run, rng: random.Random) -> Injected:
        f = Injected("data:diverge" if moving == "mark" else "data:mark-frozen")
        chain, exchange, market = run.world.chain, run.world.exchange, run.world.market
        assert exchange is not None and market is not None
        held = {"mark"} if moving == "mark" else {"mark", "WBTC"}
        market.held |= held
        f.t_start = time.time()
        base = market.btc
        direction = rng.choice((-1, 1))
        limit = run.config.max_oracle_divergence
        for step in range(1, 9):
            moved = base * (1 + direction * 0.01 * step)
            if moving == "mark":
                await exchange.set_mark(moved)
                divergence = abs(moved / market.btc - 1)
            else:
                await chain.set_price("WBTC", moved)
                divergence = abs(base / moved - 1)
            if f.bad_from is None and divergence > limit:
                f.bad_from = time.time() + DATA_GRACE_S
                f.evidence.append(f"divergence {divergence:.1%} > {limit:.0%} after {time.time() - f.t_start:.1f} s")
            await asyncio.sleep(1.0)
        market.held -= held
        await market.write(chain=moving != "mark", mark=True)
        await _end(run, f)
        f.bad_to = f.t_end
        _count_mark_reads(run, f)
        return f

    return inject


def _count_mark_reads(run: Run, f: Injected) -> None:
    assert run.world.ex_proxy is not None
    _count_requests(
        run.world.ex_proxy, f, "reads of the bad mark", lambda r: r.path.endswith("/positionRisk") and r.status == 200
    )


FAULTS: dict[str, FaultFn] = {
    **{f"kill:{p}": kill_fault(p) for p in ("mid-decision", "send-journal", "mid-reconcile", "mid-shutdown", "random")},
    **{f"rpc:{n}": rpc_proxy_fault(n) for n in ("dead", "503", "blackhole")},
    "rpc:sigstop": node_paused,
    "rpc:anvil-restart": node_restarted,
    "rpc:chain-frozen": chain_frozen,
    **{
        f"exchange:{n}": exchange_fault(n)
        for n in ("restart", "503", "429", "418", "-1021", "-2019", "bad-json", "slow", "drop-after-accept")
    },
    **{f"data:oracle-{n}": oracle_fault(n) for n in ("zero", "negative", "x10", "frozen")},
    "data:mark+50%": mark_jump(+1),
    "data:mark-50%": mark_jump(-1),
    "data:diverge": drift("mark"),
    "data:mark-frozen": drift("oracle"),
}
