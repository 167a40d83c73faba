"""Pause end to end: real anvil + Aave V3, the local COIN-M server, the bot's own HTTP endpoint.

A paused bot keeps deciding and keeps its stops, and does not grow the short as the collateral falls (its
layers, held by the bot rather than rested on the exchange, are not sold); a restart finds the pause in the
journal and starts paused; a resume lets it hedge again.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from bot.app import assemble
from bot.devnet.chain.anvil import free_port
from bot.devnet.chain.market import set_price
from bot.devnet.exchange.server import ExchangeServer
from bot.domain.orders import OrderType, Side
from bot.journal.journal import Journal
from tests.integration.bot.conftest import bot_settings
from tests.integration.bot.test_bot_e2e import glide, short, stops, until

pytestmark = pytest.mark.integration


def conditional_entries(exchange: ExchangeServer) -> list[Any]:
    return [o for o in exchange.engine.open_orders() if o.side is Side.SELL and o.type is OrderType.STOP_MARKET]


async def post(url: str, path: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.post(url + path, json={"reason": "e2e"}) as resp:
        assert resp.status == 202
        answer: dict[str, Any] = await resp.json()
        return answer


async def get_status(url: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http, http.get(url + "/status") as resp:
        doc: dict[str, Any] = await resp.json()
        return doc


async def test_paused_keeps_stops_withholds_entries_survives_a_restart_and_resumes(
    devnet: dict[str, Any], exchange: ExchangeServer, tmp_path: Any
) -> None:
    settings = bot_settings(devnet, exchange.url, tmp_path / "bot.sqlite", strategy="layered-stop")
    settings = settings.model_copy(update={"http_port": free_port()})
    set_price(devnet, "WETH", 3_000)
    async with assemble(settings, "testnet") as bot:
        engine, url = bot.engine, f"http://127.0.0.1:{settings.http_port}"
        task = asyncio.create_task(engine.run())
        await until(engine, lambda: short(exchange) > 0 and bool(stops(exchange)))
        plan = engine.step.last_plan
        assert plan is not None and len(plan.conditional) == 3  # three layers planned, none resting (C5)
        assert conditional_entries(exchange) == []
        hedged = short(exchange)
        assert (await post(url, "/pause"))["paused"] is True
        seen = engine.decisions
        await until(engine, lambda: engine.decisions > seen)
        await glide(devnet, engine, 3_000, 2_500)  # the strategy wants more; a paused bot sends none of it
        held = short(exchange)
        assert 0 < held <= hedged  # a reduction is allowed, an increase is not
        assert sum(o.contracts for o in stops(exchange)) == held
        doc = await get_status(url)
        assert doc["paused"] is True and doc["pause"]["source"] == "http" and doc["halted"] is False
        engine.stop_requested.set()
        assert await task == 0

    async with assemble(settings, "testnet") as bot:  # the restart finds the pause in the journal
        engine = bot.engine
        task = asyncio.create_task(engine.run())
        seen = engine.decisions
        await until(engine, lambda: engine.decisions >= seen + 1)  # decisions come on triggers, not every block
        assert engine.pause.paused and (await get_status(url))["paused"] is True
        assert short(exchange) == held and conditional_entries(exchange) == []
        assert (await post(url, "/resume"))["paused"] is False
        await until(engine, lambda: short(exchange) > held)  # the increase the pause withheld
        engine.stop_requested.set()
        assert await task == 0
    # A person is told of each change, whoever made it (no channel is configured here: journaled as such).
    with Journal.open_readonly(settings.db_path) as journal:
        told = [(r["key"], r["message"]) for r in journal.rows("SELECT * FROM alerts WHERE key LIKE 'control-%'")]
    assert told == [
        ("control-pause", "paused: no new orders, stops kept (http: e2e)"),
        ("control-resume", "resumed: trading again (http: e2e)"),
    ]
