"""Exchange faults through the proxy in front of the local exchange: the process killed and restarted on its
saved account, 503, 429 and 418 with Retry-After, Binance's -1021 and -2019 bodies, malformed JSON, slow answers,
and answers dropped after the exchange accepted the order (the bot must find it by its client id)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from chaos import checks
from chaos.faults.base import HTML_503, FaultFn, Injected, count_hits, end, follow_up
from chaos.faults.node import refused
from chaos.proxy import Answer, DropAfterAccept, FaultProxy, Malformed, Slow, is_order_placement

if TYPE_CHECKING:
    from chaos.runner import Run

PROXY_FAULTS = ("restart", "503", "429", "418", "-1021", "-2019", "bad-json", "slow", "drop-after-accept")


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


def proxy_fault(name: str) -> FaultFn:
    async def inject(run: Run, rng: random.Random) -> Injected:
        f = Injected(f"exchange:{name}")
        proxy, exchange = run.world.ex_proxy, run.world.exchange
        assert proxy is not None and exchange is not None
        hold = rng.uniform(3.0, 10.0)
        f.t_start = time.time()
        if name == "restart":
            await exchange.kill()
            await proxy.go_dead()
            f.evidence.append(f"exchange killed (SIGKILL), its port refuses connections: {refused(proxy.port)}")
            await asyncio.sleep(hold)
            await exchange.start()
            await proxy.revive()
            await end(run, f)
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
        await end(run, f)
        count_hits(proxy, f, proxy_name(name))
        if name == "drop-after-accept":
            await asyncio.sleep(2.0)  # the bot's look-ups after the drop
            _after_drop(proxy, f)
        return f

    return inject


def _after_drop(proxy: FaultProxy, f: Injected) -> None:
    for dropped in [r for r in proxy.records if r.fault == "drop-after-accept" and f.t_start <= r.t_start <= f.t_end]:
        f.evidence.append(f"answer dropped after the exchange accepted it; {follow_up(proxy, dropped)}")


def proxy_name(name: str) -> str:
    return {"bad-json": "malformed"}.get(name, name)


async def down_at_sigterm(run: Run, rng: random.Random) -> Injected:
    """SIGTERM while the exchange is unreachable; then, before any bot runs again, what it left on the book.

    A clean stop cancels the resting entries (stops stay); one that cannot reach the exchange must not leave
    entries behind that fill with no bot watching. The book is read with no bot running, then the bot restarts.
    """
    f = Injected("exchange:down-at-sigterm")
    proxy, exchange, bot = run.world.ex_proxy, run.world.exchange, run.bot
    assert proxy is not None and exchange is not None
    await proxy.go_dead()
    f.t_start = time.time()
    bot.terminate()
    code = await bot.wait(60)
    took = time.time() - f.t_start
    if code is None:
        bot.kill()
        await bot.wait(10)
        f.evidence.append("still running 60 s after SIGTERM: killed")
    else:
        f.evidence.append(f"SIGTERM with the exchange unreachable: exit code {code} after {took:.1f} s")
    await proxy.revive()
    book = await exchange.orders()
    left = checks.end_state(book["orders"], book["contracts"])
    f.orphans, f.unprotected_contracts = left.orphans, left.unprotected_contracts
    entries = sum(1 for o in left.orphans if not o["reduce_only"])
    f.evidence.append(
        f"with no bot running: {entries} entries and {len(left.orphans) - entries} surplus stops resting, "
        f"{left.unprotected_contracts} short contracts without a stop"
    )
    f.hit = 1
    restart = time.time()
    await bot.start()
    deadline = time.time() + 60
    while (t := checks.first_account_read(restart, proxy.records)) is None and time.time() < deadline:
        await asyncio.sleep(0.05)
    await end(run, f)
    f.t_end = t if t is not None else restart
    return f
