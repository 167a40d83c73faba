"""`run` hedges the whole account, end to end on the v3.6 devnet (real anvil, real Aave, the local COIN-M
server, the real ccxt client): two collaterals, a volatile debt, and an e-mode loop it refuses to short.

The short equals the account's beta-weighted net delta (each collateral's value at its beta to BTC, minus
each volatile debt's) plus the margin's own BTC, as the sizing says, computed here from the chain's own
balances and oracle prices and the betas the bot reports (the class fallbacks: a fresh devnet has no
history to measure them on).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.app import assemble
from bot.devnet.chain.market import set_price
from bot.devnet.chain.rpc import DevRpc
from bot.devnet.exchange.server import ExchangeServer
from bot.domain.lending.betas import FALLBACK_BETA
from bot.domain.sizing import hedge_contracts
from bot.journal.journal import Journal
from bot.ops.status_text import status_rows
from bot.runtime.engine import Engine
from tests.integration.bot.conftest import bot_settings
from tests.integration.chain.helpers import account_data, new_borrower

pytestmark = pytest.mark.integration
ETH_EMODE = 1
PRICES = {"WETH": 3_000.0, "WBTC": 60_000.0, "wstETH": 3_600.0, "USDC": 1.0}


async def until(engine: Engine, predicate: Callable[[], bool], timeout_s: float = 30.0) -> None:
    async def wait() -> None:
        async with engine.decided:
            await engine.decided.wait_for(predicate)

    await asyncio.wait_for(wait(), timeout_s)


def short(server: ExchangeServer) -> int:
    return -server.engine.position().contracts


def borrower(devnet: dict[str, Any], supply: dict[str, float], borrow: dict[str, float], emode: int = 0) -> str:
    rpc = DevRpc(devnet["rpc_url"])
    for symbol, price in PRICES.items():
        if symbol in devnet["reserves"]:
            set_price(devnet, symbol, price)
    return new_borrower(rpc, devnet, supply=supply, borrow=borrow, emode=emode)


def settings_for(devnet: dict[str, Any], exchange: ExchangeServer, tmp_path: Path, account: str) -> Any:
    settings = bot_settings(
        devnet, exchange.url, tmp_path / "bot.sqlite", "percentage", hedge_ratio=1.0, max_stop_loss=1.0
    )
    return settings.model_copy(update={"chain": settings.chain.model_copy(update={"accounts": [account]})})


async def hedge_of(
    devnet: dict[str, Any], exchange: ExchangeServer, tmp_path: Path, account: str
) -> tuple[int, dict[str, Any]]:
    """Run the bot on `account` until it has hedged; the short and the status document then."""
    async with assemble(settings_for(devnet, exchange, tmp_path, account), "testnet") as bot:
        engine = bot.engine
        task = asyncio.create_task(engine.run())
        await until(engine, lambda: short(exchange) > 0)
        doc = engine.status.to_json(engine.clock())
        engine.stop_requested.set()
        assert await task == 0
    return short(exchange), doc


def expected_short(
    doc: dict[str, Any], supply: dict[str, float], borrow: dict[str, float], exchange: ExchangeServer
) -> int:
    """What the sizing says, from the chain's balances (amounts opened, oracle prices set) and the bot's betas."""
    betas = {a["symbol"]: a["beta"] for a in doc["position"]["assets"]}
    net = sum(amount * PRICES[s] * betas[s] for s, amount in supply.items())
    net -= sum(amount * PRICES[s] * betas[s] for s, amount in borrow.items())
    assert doc["position"]["net_delta_usd"] == pytest.approx(net, rel=1e-6)  # interest of a few blocks
    return hedge_contracts(net, 0.1, exchange.engine.mark, exchange.engine.instrument)


def check_fallback_betas(doc: dict[str, Any]) -> None:
    """A fresh devnet has no history: every asset is at its class's fallback, and status says so."""
    for asset in doc["position"]["assets"]:
        cls = {"WETH": "eth", "wstETH": "eth", "WBTC": "btc", "USDC": "stablecoin"}[asset["symbol"]]
        assert asset["beta"] == FALLBACK_BETA[cls]
        assert asset["beta_source"] == ("stablecoin" if cls == "stablecoin" else f"fallback: {cls} class")


async def test_run_hedges_a_two_collateral_account_on_its_beta_weighted_net_delta(
    devnet: dict[str, Any], exchange: ExchangeServer, tmp_path: Path
) -> None:
    supply, borrow = {"WETH": 2.0, "WBTC": 0.102}, {"USDC": 5_000.0}
    account = borrower(devnet, supply, borrow)
    contracts, doc = await hedge_of(devnet, exchange, tmp_path, account)
    check_fallback_betas(doc)
    # 2 WETH (6,000 USD at 1.1) + 0.102 WBTC (6,120 USD at 1.0), the USDC debt at 0: 12,720 USD, and the
    # 0.1 BTC margin's own 6,000: 187 contracts (amounts chosen away from a half contract, which a few blocks
    # of interest could tip). Hedging WETH alone (the old `run`) would have shorted 126.
    assert contracts == expected_short(doc, supply, borrow, exchange) == 187
    position = doc["position"]
    assert {(a["side"], a["symbol"]) for a in position["assets"]} == {
        ("collateral", "WETH"),
        ("collateral", "WBTC"),
        ("debt", "USDC"),
    }
    assert position["hedgeable"] is True and 0.3 < position["market_wide_fall"] < 0.9
    assert position["collateral_asset"] == "WETH"  # HEDGEBOT_CHAIN__COLLATERAL_ASSET: the legacy fields' asset
    rows = dict(status_rows(doc))
    assert "WBTC 6,120 USD (beta 1.00 fallback: btc class" in rows["collaterals"]
    assert rows["net delta"].startswith("12,720 USD")


async def test_run_hedges_a_volatile_debt_by_what_it_takes_off_the_delta(
    devnet: dict[str, Any], exchange: ExchangeServer, tmp_path: Path
) -> None:
    supply, borrow = {"WETH": 2.0, "WBTC": 0.1}, {"USDC": 3_000.0, "WETH": 0.6}
    account = borrower(devnet, supply, borrow)
    contracts, doc = await hedge_of(devnet, exchange, tmp_path, account)
    check_fallback_betas(doc)
    # The WETH debt moves with the WETH collateral: 1.1 x (6,000 - 1,800) + 6,000 = 10,620 USD, + 6,000 margin.
    assert contracts == expected_short(doc, supply, borrow, exchange) == 166
    assert {a["symbol"] for a in doc["position"]["assets"] if a["side"] == "debt"} == {"WETH", "USDC"}


async def test_run_refuses_to_short_an_emode_loop_and_says_why(
    devnet: dict[str, Any], exchange: ExchangeServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # wstETH against WETH in the ETH e-mode: no market-wide fall liquidates it (they fall together).
    account = borrower(devnet, {"wstETH": 5.0}, {"WETH": 5.5}, emode=ETH_EMODE)
    rpc = DevRpc(devnet["rpc_url"])
    hf = account_data(rpc, devnet, account, int(rpc.call("eth_blockNumber"), 16))[5] / 1e18
    assert 1.0 < hf < 1.2  # tight: a short-minded bot would hedge it at full size
    settings = settings_for(devnet, exchange, tmp_path, account)
    async with assemble(settings, "testnet") as bot:
        engine = bot.engine
        task = asyncio.create_task(engine.run())
        await until(engine, lambda: engine.status.last_decision is not None)
        doc = engine.status.to_json(engine.clock())
        engine.stop_requested.set()
        assert await task == 0
    assert short(exchange) == 0 and exchange.engine.fill_count == 0  # not even the margin's own BTC
    position = doc["position"]
    assert position["hedgeable"] is False and position["market_wide_fall"] is None
    assert position["collateral_asset"] == "wstETH"  # no WETH collateral: the largest one drives the trigger
    assert doc["last_decision"]["target_contracts"] == 0
    assert doc["last_decision"]["reason"].startswith("not hedgeable with a BTC short")
    assert dict(status_rows(doc))["hedgeable"].startswith("NO")
    with Journal.open_readonly(settings.db_path) as journal:
        keys = [r["key"] for r in journal.rows("SELECT key FROM alerts")]
    assert keys.count("not-hedgeable") == 1  # alerted once, journaled
    assert "not hedgeable with a BTC short" in capsys.readouterr().out  # and logged
