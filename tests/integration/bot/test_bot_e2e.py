"""The bot end to end: real anvil + real Aave V3, the local COIN-M server, the real ccxt client.

A fall of the collateral's oracle price makes the bot place the hedge and its stop; a recovery makes
it reduce; a restart in the middle sends no duplicate order; an order sent just before a crash is
found by its client id, not sent again; SIGTERM leaves the journal consistent.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import assemble, run_bot
from bot.devnet.chain.market import set_price
from bot.devnet.exchange.server import ExchangeServer
from bot.domain.orders import OrderType, Side
from bot.domain.plan import FLAT
from bot.journal.journal import Journal
from bot.ops.kill import KILLED_EXIT_CODE, Killed
from bot.runtime.engine import Engine
from tests.integration.bot.conftest import bot_settings

pytestmark = pytest.mark.integration


async def until(engine: Engine, predicate: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Wait for decisions until `predicate` holds (no sleeps: woken by each decision)."""

    async def wait() -> None:
        async with engine.decided:
            await engine.decided.wait_for(predicate)

    await asyncio.wait_for(wait(), timeout_s)


async def glide(devnet: dict[str, Any], engine: Engine, start: float, end: float, steps: int = 3) -> None:
    """Move the WETH oracle from `start` to `end` in steps within the guard's jump band, each one decided on.

    One oracle round of -25 % is not something the guard trusts at once (it waits for the level to hold),
    so every step waits for a decision that saw it before the next one is set.
    """
    for i in range(1, steps + 1):
        price = start + (end - start) * i / steps
        set_price(devnet, "WETH", price)
        await until(engine, lambda price=price: seen_price(engine) == pytest.approx(price))  # type: ignore[misc]


def seen_price(engine: Engine) -> float:
    position = engine.status.position
    return position.collateral_price_usd if position is not None else float("nan")


def short(server: ExchangeServer) -> int:
    return -server.engine.position().contracts


def stops(server: ExchangeServer) -> list[Any]:
    return [
        o
        for o in server.engine.open_orders()
        if o.type is OrderType.STOP_MARKET and o.side is Side.BUY and o.reduce_only
    ]


async def test_drop_hedges_recovery_reduces_restart_sends_nothing_twice(
    devnet: dict[str, Any], exchange: ExchangeServer, tmp_path: Path
) -> None:
    settings = bot_settings(devnet, exchange.url, tmp_path / "bot.sqlite")
    set_price(devnet, "WETH", 3_000)
    async with assemble(settings, "testnet") as bot:
        engine = bot.engine
        task = asyncio.create_task(engine.run())
        # HF 1.5 far from liquidation: only the margin's own BTC is shorted (0.1 BTC ~ 6,000 USD).
        await until(engine, lambda: short(exchange) > 0)
        calm = short(exchange)
        assert 55 <= calm <= 65
        assert sum(o.contracts for o in stops(exchange)) == calm

        await glide(devnet, engine, 3_000, 2_250)  # HF 1.125
        await until(engine, lambda: short(exchange) > calm + 50)
        hedged = short(exchange)
        assert sum(o.contracts for o in stops(exchange)) == hedged  # the whole short is protected
        assert all(o.trigger_price > 60_000 for o in stops(exchange))
        engine.stop_requested.set()
        assert await task == 0

    orders_before = {o.client_id for o in exchange.engine.open_orders()}
    fills_before = exchange.engine.fill_count
    # Restart on the same journal and account: it adopts its orders and sends nothing new.
    async with assemble(settings, "testnet") as bot:
        engine = bot.engine
        recovery = await engine.start()
        assert recovery.account.position.contracts == -hedged
        assert not recovery.foreign
        task = asyncio.create_task(engine.run())
        await until(engine, lambda: engine.decisions >= 1)
        assert {o.client_id for o in exchange.engine.open_orders()} == orders_before
        assert exchange.engine.fill_count == fills_before
        assert short(exchange) == hedged

        await glide(devnet, engine, 2_250, 3_000)  # recovery: back to the margin-only short
        await until(engine, lambda: short(exchange) < hedged - 50)
        assert abs(short(exchange) - calm) <= 2
        assert sum(o.contracts for o in stops(exchange)) == short(exchange)
        engine.stop_requested.set()
        assert await task == 0

    with Journal.open_readonly(settings.db_path) as journal:
        assert journal.integrity_problems() == []
        assert journal.unacknowledged_intents() == []


async def test_an_order_sent_before_a_crash_is_found_not_resent(
    devnet: dict[str, Any], exchange: ExchangeServer, tmp_path: Path
) -> None:
    from bot.domain.orders import OrderRequest
    from bot.venues.reconcile import client_id

    settings = bot_settings(devnet, exchange.url, tmp_path / "bot.sqlite")
    set_price(devnet, "WETH", 3_000)
    async with assemble(settings, "testnet") as bot:
        engine = bot.engine
        # The crash: the decision and the intent reached the journal, the order reached the exchange,
        # and the process died before recording the acknowledgement.
        seq = await engine.journal.record_decision(engine.clock(), "dynamic", FLAT)
        req = OrderRequest(client_id("hedgebot", "entry", seq, "crash"), Side.SELL, OrderType.MARKET, 7)
        await engine.journal.record_intents(seq, [req], engine.clock())
        await engine.venue.place(req)
        recovery = await engine.start()
        assert [o.client_id for o in recovery.adopted] == [req.client_id]
        assert exchange.engine.fill_count == 1  # found by its client id, not sent again
        record = await engine.journal.order(req.client_id)
        assert record is not None and record.state.value == "filled"


def test_sigterm_stops_cleanly_and_leaves_the_journal_consistent(devnet: dict[str, Any], tmp_path: Path) -> None:
    exchange = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "devnet", "exchange", "--port", "0", "--balance-btc", "0.1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert exchange.stdout is not None
    ready = exchange.stdout.readline()
    assert ready.startswith("READY "), ready
    url = ready.split()[1]
    try:
        settings = bot_settings(devnet, url, tmp_path / "bot.sqlite")
        env = {**os.environ, **settings_env(settings)}
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--mode", "testnet"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert bot.stdout is not None
        for line in bot.stdout:  # wait for the first order, as a person watching the log would
            if "acting" in line:
                break
        bot.send_signal(signal.SIGTERM)
        rest = bot.communicate(timeout=30)[0]
        assert bot.returncode == 0, rest
        assert "stopped" in rest
        with Journal.open_readonly(settings.db_path) as journal:
            assert journal.integrity_problems() == []
            assert journal.unacknowledged_intents() == []
            assert journal.latest_decision() is not None
    finally:
        exchange.terminate()
        exchange.wait(timeout=10)


def settings_env(settings: Any) -> dict[str, str]:
    """The HEDGEBOT_* variables that reproduce `settings` in a subprocess."""
    chain, ex = settings.chain, settings.exchange
    return {
        "HEDGEBOT_DB_PATH": str(settings.db_path),
        "HEDGEBOT_HTTP_PORT": "0",
        "HEDGEBOT_LOG__FORMAT": "console",
        "HEDGEBOT_EXCHANGE__API_URL": ex.api_url,
        "HEDGEBOT_EXCHANGE__API_KEY": ex.api_key.get_secret_value(),
        "HEDGEBOT_EXCHANGE__API_SECRET": ex.api_secret.get_secret_value(),
        "HEDGEBOT_CHAIN__RPC_URLS": json.dumps([u.get_secret_value() for u in chain.rpc_urls]),
        "HEDGEBOT_CHAIN__POOL_ADDRESSES_PROVIDER": chain.pool_addresses_provider,
        "HEDGEBOT_CHAIN__ACCOUNTS": json.dumps(chain.accounts),
        "HEDGEBOT_CHAIN__POLL_INTERVAL_S": "0.2",
        "HEDGEBOT_STRATEGY__PARAMS": json.dumps(settings.strategy.params),
    }


@pytest.mark.parametrize("close", [False, True])
async def test_kill_switch_cancels_entries_and_keeps_or_closes_the_hedge(
    devnet: dict[str, Any], exchange: ExchangeServer, tmp_path: Path, close: bool
) -> None:
    settings = bot_settings(devnet, exchange.url, tmp_path / "bot.sqlite", strategy="layered-stop")
    settings = settings.model_copy(update={"kill_closes_hedge": close})
    set_price(devnet, "WETH", 3_000)
    async with assemble(settings, "testnet") as bot:
        engine = bot.engine
        task = asyncio.create_task(engine.run())

        def conditional_entries() -> list[Any]:
            return [o for o in exchange.engine.open_orders() if o.side is Side.SELL and o.type is OrderType.STOP_MARKET]

        # The layered strategy plans its layers beside the base hedge; the bot holds them, none rests (C5).
        await until(engine, lambda: short(exchange) > 0 and bool(stops(exchange)))
        assert conditional_entries() == []
        hedged = short(exchange)
        await engine.kill.request_kill("test", "http", engine.clock())
        assert await task == KILLED_EXIT_CODE
    assert conditional_entries() == []
    if close:
        assert short(exchange) == 0 and stops(exchange) == []
    else:
        assert short(exchange) == hedged
        assert sum(o.contracts for o in stops(exchange)) == hedged
    assert engine.status.halted and engine.status.halt_reason and "killed" in engine.status.halt_reason
    # B9: every alert row carries what became of it (no channel is configured here), not a bare "raised".
    with Journal.open_readonly(settings.db_path) as journal:
        outcomes = {r["outcome"] for r in journal.rows("SELECT outcome FROM alerts")}
    assert outcomes == {"no_channel"}
    # B4: the kill is journaled, so a supervisor's restart refuses to trade (and never reopens a closed hedge).
    with pytest.raises(Killed, match="by http: test"):
        await run_bot(settings, "testnet")
    assert short(exchange) == (0 if close else hedged)


async def test_dry_run_reads_real_feeds_and_trades_only_on_paper(
    devnet: dict[str, Any], exchange: ExchangeServer, tmp_path: Path
) -> None:
    # Dry-run with no key: the chain and the exchange's public mark are real, the orders are paper.
    settings = bot_settings(devnet, exchange.url, tmp_path / "bot.sqlite").model_copy(update={"mode": "dry-run"})
    settings.exchange.api_key = settings.exchange.api_secret = None
    set_price(devnet, "WETH", 3_000)
    async with assemble(settings, "dry-run") as bot:
        engine = bot.engine
        task = asyncio.create_task(engine.run())
        await until(engine, lambda: engine.decisions >= 1)
        await glide(devnet, engine, 3_000, 2_250)
        await until(engine, lambda: engine.status.hedge is not None and -engine.status.hedge.contracts > 100)
        engine.stop_requested.set()
        assert await task == 0
        paper_short = -(await engine.venue.account()).position.contracts
    assert exchange.engine.fill_count == 0 and exchange.engine.open_orders() == ()  # nothing sent to the exchange
    state = json.loads((tmp_path / "bot.sqlite.paper.json").read_text())
    assert state  # the paper account is saved for a restart
    async with assemble(settings, "dry-run") as bot:  # and resumed from it
        assert (await bot.engine.venue.account()).position.contracts == -paper_short
