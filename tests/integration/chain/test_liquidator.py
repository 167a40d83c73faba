"""The devnet's liquidation bot: it liquidates an undefended loan as soon as HF < 1 (the penalty read from the
chain), and its calls revert on a loan the guardian defended."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from typing import Any

import pytest

from bot.devnet.chain.market import set_price
from bot.devnet.chain.rpc import DevRpc
from bot.devnet.liquidator import LiquidationAttempt, Liquidator, start_liquidator
from bot.domain.defense import plan_defense
from bot.monitors.lending_feed import lending_view
from tests.integration.chain.guardians import close, guardian_wallet, make_guardian, started, variable_debt
from tests.integration.chain.helpers import account_data, new_borrower

pytestmark = pytest.mark.integration
WAD = 10**18


def loan(chain: DevRpc, devnet: dict[str, Any]) -> str:
    return new_borrower(chain, devnet, {"WETH": 10.0}, {"USDC": 16_600.0})


def hf_now(chain: DevRpc, devnet: dict[str, Any], who: str) -> float:
    return account_data(chain, devnet, who, int(chain.call("eth_blockNumber"), 16))[5] / WAD


async def defend_if_due(devnet: dict[str, Any], borrower: str, key: str, db: Any) -> str:
    """One guardian step, as the decision step takes it; the result's status ("idle" when none is due)."""
    guardian = make_guardian(devnet, borrower, key)
    journal = await started(guardian, db)
    try:
        snap = await guardian.monitor.snapshot([borrower])
        action = plan_defense(lending_view(snap.accounts[0], "WETH"), guardian.policy, await guardian.view())
        return "idle" if action is None else (await guardian.defend(action)).status
    finally:
        await close(guardian, journal)


def test_it_liquidates_the_undefended_loan_and_never_the_defended_one(
    devnet: dict[str, Any], chain: DevRpc, tmp_path: Any
) -> None:
    defended, undefended = loan(chain, devnet), loan(chain, devnet)
    wallet = guardian_wallet(chain, devnet)
    liquidated = threading.Event()

    def on_attempt(a: LiquidationAttempt) -> None:
        if a.success:
            liquidated.set()

    bot = start_liquidator(devnet, [defended, undefended], on_attempt=on_attempt)
    try:
        steps = []
        for price in (2_600.0, 2_250.0, 2_050.0, 1_950.0, 1_800.0):  # -40 %, in steps as an oracle moves
            set_price(devnet, "WETH", price)
            steps.append(asyncio.run(defend_if_due(devnet, defended, wallet.key, tmp_path / "j.sqlite")))
            if price == 1_950.0:  # the next step must not come before the bot saw this one
                assert liquidated.wait(30), "the undefended loan went under 1 at 1,950 and was liquidated"
    finally:
        attempts = bot.stop()

    assert "confirmed" in steps
    assert hf_now(chain, devnet, defended) > 1.15
    assert {a.borrower for a in attempts} == {undefended}
    first = attempts[0]
    assert first.success and first.debt_symbol == "USDC" and first.collateral_symbol == "WETH"
    assert first.health_factor_seen < 1
    # Half the debt (the close factor above HF 0.95) for collateral worth 5 % more (WETH's bonus).
    assert first.debt_repaid == pytest.approx(16_600 / 2, rel=1e-3)
    assert first.collateral_seized_usd == pytest.approx(first.debt_repaid_usd * 1.05, rel=1e-6)
    assert first.penalty_usd == pytest.approx(0.05 * first.debt_repaid_usd, rel=1e-6)


def test_its_call_reverts_when_the_guardian_got_there_first(
    devnet: dict[str, Any], chain: DevRpc, tmp_path: Any
) -> None:
    borrower = loan(chain, devnet)
    wallet = guardian_wallet(chain, devnet)
    set_price(devnet, "WETH", 1_950.0)  # one oracle step from HF 1.5 to 0.975
    seen_block = int(chain.call("eth_blockNumber"), 16)
    assert hf_now(chain, devnet, borrower) < 1
    debt = variable_debt(chain, devnet, borrower)

    # Both saw the same block; the guardian's repay lands first, the liquidator's call after it.
    assert asyncio.run(defend_if_due(devnet, borrower, wallet.key, tmp_path / "j.sqlite")) == "confirmed"
    attempts = Liquidator(devnet, [borrower]).check_once(seen_block)

    assert len(attempts) == 1
    lost = attempts[0]
    assert not lost.success and lost.block_number > seen_block
    receipt = chain.call("eth_getTransactionReceipt", lost.tx_hash)
    assert int(receipt["status"], 16) == 0, "the liquidationCall was mined and reverted"
    assert "HEALTH_FACTOR_NOT_BELOW_THRESHOLD" in lost.reason
    assert variable_debt(chain, devnet, borrower) < debt  # repaid by the guardian, not liquidated
    assert hf_now(chain, devnet, borrower) >= 1.35


def test_the_cli_prints_each_liquidation(devnet: dict[str, Any], chain: DevRpc, tmp_path: Any) -> None:
    borrower = loan(chain, devnet)
    path = tmp_path / "devnet.json"
    path.write_text(json.dumps(devnet))
    cmd = [sys.executable, "-m", "bot.cli", "devnet", "liquidator", "--devnet", str(path), "--account", borrower,
           "--json"]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        set_price(devnet, "WETH", 1_900.0)
        assert proc.stdout is not None
        line = json.loads(proc.stdout.readline())
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert proc.returncode == 0
    assert line["borrower"] == borrower and line["success"] is True
    assert line["penalty_usd"] == pytest.approx(0.05 * line["debt_repaid_usd"], rel=1e-6)
