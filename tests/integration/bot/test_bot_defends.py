"""Issue 11, end to end: the bot as a process (`hedgebot run --mode testnet`) defends the loan on chain.

Real anvil with real Aave V3 (v3.6), the local exchange as a process, the devnet's borrower at HF 1.5, a
guardian wallet holding a USDC reserve and given to the bot by its key alone (every other defense setting
at its default). The WETH oracle falls through the trigger; the bot repays on the borrower's behalf; the
on-chain HF reaches the target (not far beyond it); a liquidationCall then reverts where the undefended
loan would have been liquidated; `hedgebot journal --json` (its default view) shows each defense
transaction with its hash, and `hedgebot status --json` the guardian's reserve and next defense."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.devnet.chain.anvil import free_port
from bot.devnet.chain.market import set_price
from bot.devnet.chain.rpc import DevRpc
from bot.devnet.guardian import fund_guardian
from bot.devnet.liquidator import Liquidator
from tests.integration.bot.conftest import bot_settings
from tests.integration.bot.test_bot_e2e import settings_env
from tests.integration.chain.helpers import account_data

pytestmark = pytest.mark.integration
WAD = 10**18
TARGET = 1.35


@pytest.fixture
def exchange_url() -> Iterator[str]:
    """The local Binance COIN-M server as a process."""
    cmd = [sys.executable, "-m", "bot.cli", "devnet", "exchange", "--port", "0", "--balance-btc", "0.1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    ready = proc.stdout.readline()
    assert ready.startswith("READY "), ready
    yield ready.split()[1]
    proc.terminate()
    proc.wait(timeout=10)


def cli(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_for(what: str, predicate: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def test_the_bot_process_repays_on_the_borrowers_behalf_and_a_liquidation_reverts(
    devnet: dict[str, Any], exchange_url: str, tmp_path: Path
) -> None:
    rpc = DevRpc(devnet["rpc_url"])
    borrower = devnet["accounts"]["borrower"]["address"]
    guardian = fund_guardian(devnet, 20_000.0)
    nonce_before = int(rpc.call("eth_getTransactionCount", guardian["address"], "latest"), 16)

    def hf() -> float:
        return account_data(rpc, devnet, borrower, int(rpc.call("eth_blockNumber"), 16))[5] / WAD

    set_price(devnet, "WETH", 3_000)
    assert hf() == pytest.approx(1.5, abs=1e-3)
    db = tmp_path / "bot.sqlite"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEBOT_")}
    env.update(settings_env(bot_settings(devnet, exchange_url, db)))
    # The key alone: action, asset, trigger, target, daily limit and gas cap are the defaults.
    env.update({"HEDGEBOT_HTTP_PORT": str(port), "HEDGEBOT_DEFENSE__PRIVATE_KEY": guardian["private_key"]})
    url = f"http://127.0.0.1:{port}"

    def status() -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(url + "/status", timeout=2) as resp:
                doc: dict[str, Any] = json.loads(resp.read())
                return doc
        except OSError:
            return None

    def seen(price: float) -> bool:
        doc = status()
        position = (doc or {}).get("position") or {}
        return bool(position) and position["collateral_price_usd"] == pytest.approx(price)

    log = (tmp_path / "bot.log").open("w")
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--mode", "testnet"], stdout=log, stderr=subprocess.STDOUT, env=env,
        cwd=tmp_path,
    )  # fmt: skip
    try:
        wait_for("the bot's first decision", lambda: seen(3_000))
        wait_for("the guardian's status", lambda: bool(((status() or {}).get("defense") or {}).get("reserve")))
        defense = (status() or {})["defense"]
        assert defense["enabled"] is True
        assert (defense["action"], defense["asset_symbol"]) == ("repay", "USDC")
        assert (defense["trigger_health_factor"], defense["target_health_factor"]) == (1.15, 1.35)
        assert defense["max_usd_per_day"] == 10_000.0
        assert defense["reserve"] == pytest.approx(20_000.0)
        # HF 1.15 = 10 WETH x price x 0.83 / 16,600 (plus the interest accrued since the borrow).
        assert defense["next_defense_price_usd"] == pytest.approx(2_300.0, rel=1e-3)
        shown = cli("status", "--url", url, env=env)
        assert "reserve" in shown and "20,000.00 USDC" in shown and "next defense" in shown

        # 3,000 -> 2,250 in oracle rounds the guard trusts at once: HF 1.5 -> 1.125, through the 1.15 trigger.
        for price in (2_750.0, 2_500.0, 2_250.0):
            set_price(devnet, "WETH", price)
            wait_for(f"a decision at WETH {price}", lambda price=price: seen(price))  # type: ignore[misc]
        wait_for("the defense to reach the target", lambda: hf() >= TARGET)
        wait_for(
            "the status after the defense", lambda: ((status() or {}).get("defense") or {}).get("reserve", 0) < 20_000
        )
    finally:
        bot.send_signal(signal.SIGTERM)
        code = bot.wait(timeout=60)
        log.close()
    assert code == 0, (tmp_path / "bot.log").read_text()[-3_000:]

    assert TARGET <= hf() < TARGET + 1e-4, "reaches the target, not far beyond it"
    # Where the undefended loan would be liquidatable (HF 1.5 x 1,900 / 3,000 = 0.95), the defended one is at
    # 1.35 x 1,900 / 2,250 = 1.14: the liquidator's call is mined and reverts.
    set_price(devnet, "WETH", 1_900)
    head = int(rpc.call("eth_blockNumber"), 16)
    attempt = Liquidator(devnet, [borrower]).liquidate(borrower, head, hf())
    assert attempt is not None and not attempt.success
    assert int(rpc.call("eth_getTransactionReceipt", attempt.tx_hash)["status"], 16) == 0
    assert "HEALTH_FACTOR_NOT_BELOW_THRESHOLD" in attempt.reason

    events = json.loads(cli("journal", "--json", env=env))  # the default view, of the bot's own db_path
    txs = [e for e in events if e["kind"] == "transaction"]
    assert [e["action"] for e in txs] == ["approve", "repay"]
    for e in txs:
        assert e["state"] == "confirmed" and e["borrower"] == borrower
        receipt = rpc.call("eth_getTransactionReceipt", e["tx_hash"])
        assert int(receipt["status"], 16) == 1 and receipt["from"].lower() == guardian["address"].lower()
    assert txs[1]["health_factor_after"] == pytest.approx(TARGET, abs=1e-4)
    nonce_after = int(rpc.call("eth_getTransactionCount", guardian["address"], "latest"), 16)
    assert nonce_after == nonce_before + len(txs), "each journaled transaction went out once, nothing else"
