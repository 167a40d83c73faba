"""Absurd data: the WETH oracle answering 0, a negative price or ten times the price, or frozen (its last
round 27 h old); the exchange's mark +-50 %; the mark drifting away from the oracle, and the oracle drifting
away from a mark that stopped moving."""

from __future__ import annotations

import asyncio
import random
import time
from typing import TYPE_CHECKING

from chaos.faults.base import DATA_GRACE_S, FaultFn, Injected, count_requests, end
from chaos.world import FEED_SCALE

if TYPE_CHECKING:
    from chaos.runner import Run


def oracle_fault(name: str) -> FaultFn:
    async def inject(run: Run, rng: random.Random) -> Injected:
        f = Injected(f"data:oracle-{name}")
        chain, market = run.world.chain, run.world.market
        assert market is not None
        await market.take("WETH")
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
        market.give_back("WETH")
        await end(run, f)
        f.bad_to = f.t_end
        assert run.world.rpc_proxy is not None
        count_requests(
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
        await market.take("mark")
        hold = rng.uniform(4.0, 10.0)
        await exchange.set_mark(market.btc * (1 + 0.5 * sign))
        f.t_start = time.time()
        mark = (await exchange.orders())["mark"]
        f.evidence.append(f"exchange mark {mark:,.1f} (oracle BTC {market.btc:,.1f})")
        if abs(mark / market.btc - 1) < 0.4:
            f.evidence.append("NOT IN FORCE: the exchange's mark is not the one set")
        f.bad_from = f.t_start + DATA_GRACE_S
        await asyncio.sleep(hold)
        await exchange.set_mark(market.btc)
        market.give_back("mark")
        await end(run, f)
        f.bad_to = f.t_end
        _count_mark_reads(run, f)
        return f

    return inject


def drift(moving: str) -> FaultFn:
    """The mark and the oracle's BTC price, 1.25 % a second apart for 8 s: the mark moving away from a still oracle
    ("diverging"), or the oracle moving away from a mark that stopped updating ("mark-frozen").

    Both are taken from the market and set to one price first, so the divergence the bot can read is exactly the
    one written (the market's walk moving the other side could otherwise bring it back inside the limit); the
    steps (1.25, 2.5, 3.75 %...) stay clear of the 3 % limit itself, where rounding would decide.
    """

    async def inject(run: Run, rng: random.Random) -> Injected:
        f = Injected("data:diverge" if moving == "mark" else "data:mark-frozen")
        chain, exchange, market = run.world.chain, run.world.exchange, run.world.market
        assert exchange is not None and market is not None
        await market.take("mark", "WBTC")
        base = market.btc
        await asyncio.gather(chain.set_price("WBTC", base), exchange.set_mark(base))
        f.t_start = time.time()
        direction = rng.choice((-1, 1))
        limit = run.config.max_oracle_divergence
        for step in range(1, 9):
            moved = base * (1 + direction * 0.0125 * step)
            if moving == "mark":
                await exchange.set_mark(moved)
                divergence = abs(moved / base - 1)
            else:
                await chain.set_price("WBTC", moved)
                divergence = abs(base / moved - 1)
            if f.bad_from is None and divergence > limit:
                f.bad_from = time.time() + DATA_GRACE_S
                f.evidence.append(f"divergence {divergence:.1%} > {limit:.0%} after {time.time() - f.t_start:.1f} s")
            await asyncio.sleep(1.0)
        market.give_back("mark", "WBTC")
        await market.write()
        await end(run, f)
        f.bad_to = f.t_end
        _count_mark_reads(run, f)
        return f

    return inject


def _count_mark_reads(run: Run, f: Injected) -> None:
    assert run.world.ex_proxy is not None
    count_requests(
        run.world.ex_proxy, f, "reads of the bad mark", lambda r: r.path.endswith("/positionRisk") and r.status == 200
    )
