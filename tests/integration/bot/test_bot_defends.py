"""Issue 11: the bot defends the loan on chain. Real anvil + Aave, the local exchange, the bot in testnet mode:
the oracle falls through the guardian's trigger, the bot's decision repays on the borrower's behalf, the
on-chain HF reaches the target (not far beyond it), a liquidation then reverts, the journal holds the hashes."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from bot.app import assemble
from bot.config import DefenseSettings
from bot.devnet.chain.market import set_price
from bot.devnet.chain.rpc import DevRpc
from bot.devnet.exchange.server import ExchangeServer
from bot.devnet.guardian import fund_guardian
from bot.journal.journal import Journal
from tests.integration.bot.conftest import bot_settings
from tests.integration.bot.test_bot_e2e import glide, until
from tests.integration.chain.helpers import account_data, liquidation_refusal, ready_liquidator

pytestmark = pytest.mark.integration
WAD = 10**18


async def test_the_bot_repays_on_the_borrowers_behalf_and_a_liquidation_reverts(
    devnet: dict[str, Any], exchange: ExchangeServer, tmp_path: Path
) -> None:
    guardian = fund_guardian(devnet, 20_000.0)
    settings = bot_settings(devnet, exchange.url, tmp_path / "bot.sqlite")
    settings = settings.model_copy(update={"defense": DefenseSettings(private_key=SecretStr(guardian["private_key"]))})
    borrower = devnet["accounts"]["borrower"]["address"]
    rpc = DevRpc(devnet["rpc_url"])

    def hf() -> float:
        return account_data(rpc, devnet, borrower, int(rpc.call("eth_blockNumber"), 16))[5] / WAD

    set_price(devnet, "WETH", 3_000)
    async with assemble(settings, "testnet") as bot:
        engine = bot.engine
        task = asyncio.create_task(engine.run())
        await until(engine, lambda: engine.decisions >= 1)
        # 3,000 -> 2,250: HF 1.5 -> 1.125, under the trigger (1.15); the next decision defends.
        await glide(devnet, engine, 3_000, 2_250)
        await until(engine, lambda: hf() >= 1.35, timeout_s=60)
        engine.stop_requested.set()
        assert await task == 0
    assert 1.35 <= hf() < 1.35 + 1e-4, "reaches the target, not far beyond it"
    liquidator = ready_liquidator(rpc, devnet, "USDC", 20_000)
    assert liquidation_refusal(rpc, devnet, liquidator, "WETH", "USDC", borrower, "latest") == "health"
    with Journal.open_readonly(settings.db_path) as journal:
        rows = journal.rows("SELECT state, tx_hash FROM transactions ORDER BY id")
    assert rows and all(r["tx_hash"] for r in rows)
