"""The guardian's alerts on a real Aave V3 (anvil): a defense sent, then confirmed; a defense that reverts on chain
(failed); a reserve below what the next defense needs."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from eth_utils.crypto import keccak

from bot.chain.calls import erc20_balance_of
from bot.chain.tx import TxHooks
from bot.devnet.chain.market import set_price
from bot.devnet.chain.rpc import DevRpc
from bot.domain.alerts import Alert, AlertKind, Severity
from bot.domain.defense import plan_defense
from bot.monitors.lending_feed import lending_view
from bot.monitors.multicall import address_word, word
from tests.integration.chain.guardians import close, guardian_wallet, make_guardian, started, usdc_balance
from tests.integration.chain.test_guardian import demo_loan

pytestmark = pytest.mark.integration


def balance_slot(chain: DevRpc, token: str, owner: str) -> str:
    """The storage slot of `owner`'s balance in an ERC-20 whose balances mapping is one of its first slots."""
    balance = usdc_balance_of(chain, token, owner)
    for index in range(16):
        slot = "0x" + keccak(bytes.fromhex(address_word(owner).hex() + word(index).hex())).hex()
        if int(chain.call("eth_getStorageAt", token, slot, "latest"), 16) == balance:
            return slot
    raise AssertionError("no balances mapping in the first 16 slots")


def usdc_balance_of(chain: DevRpc, token: str, owner: str) -> int:
    return int(chain.call("eth_call", {"to": token, "data": "0x" + erc20_balance_of(owner).hex()}, "latest"), 16)


async def defend(devnet: dict[str, Any], borrower: str, key: str, db: Path, hooks: TxHooks | None = None) -> Any:
    """Start a guardian collecting its alerts, plan on the chain's account and defend; (result, alerts)."""
    alerts: list[Alert] = []
    guardian = make_guardian(devnet, borrower, key, hooks=hooks)
    journal = await started(guardian, db, alerts)
    try:
        snap = await guardian.monitor.snapshot([borrower])
        action = plan_defense(lending_view(snap.accounts[0], "WETH"), guardian.policy, await guardian.view())
        assert action is not None, "HF is under the trigger: a defense is due"
        return await guardian.defend(action), alerts
    finally:
        await close(guardian, journal)


def test_a_defense_alerts_when_sent_and_when_confirmed(devnet: dict[str, Any], chain: DevRpc, tmp_path: Path) -> None:
    borrower = demo_loan(chain, devnet)
    wallet = guardian_wallet(chain, devnet)
    set_price(devnet, "WETH", 2_250.0)  # HF 1.125: through the trigger

    result, alerts = asyncio.run(defend(devnet, borrower, wallet.key, tmp_path / "a.sqlite"))

    assert result.status == "confirmed"
    defense = [a for a in alerts if a.kind == AlertKind.DEFENSE]
    assert [a.key.rsplit("-", 1)[0] for a in defense] == ["defense-sent-defense", "defense-confirmed-defense"]
    sent, confirmed = defense
    assert sent.severity == Severity.WARNING and result.tx_hashes[-1] in sent.message
    assert sent.message.startswith("defense sent: repay") and borrower in sent.message
    assert confirmed.severity == Severity.INFO and "HF 1.125 -> 1.350" in confirmed.message


def test_a_defense_that_reverts_on_chain_alerts_failed(devnet: dict[str, Any], chain: DevRpc, tmp_path: Path) -> None:
    borrower = demo_loan(chain, devnet)
    wallet = guardian_wallet(chain, devnet, usdc=50_000)
    set_price(devnet, "WETH", 2_250.0)
    usdc = devnet["reserves"]["USDC"]["address"]
    signed: list[str] = []

    async def drain_before_the_repay(tx_id: int, tx_hash: str) -> None:
        # The repay is signed and simulated; its reserve leaves the wallet before it is broadcast, as another
        # program spending the same wallet would make it (written in the token's storage: a transfer from the
        # wallet itself would take the repay's nonce). The repay is mined and reverts.
        signed.append(tx_hash)
        if len(signed) == 2:
            slot = balance_slot(chain, usdc, wallet.address)
            chain.call("anvil_setStorageAt", usdc, slot, "0x" + "00" * 32)
            assert usdc_balance(chain, devnet, wallet.address) == 0

    result, alerts = asyncio.run(
        defend(devnet, borrower, wallet.key, tmp_path / "f.sqlite", TxHooks(after_signed=drain_before_the_repay))
    )

    assert result.status == "reverted", result.detail
    receipt = chain.call("eth_getTransactionReceipt", signed[1])
    assert int(receipt["status"], 16) == 0, "the repay was mined and reverted"
    failed = [a for a in alerts if a.key.startswith("defense-failed-")]
    assert len(failed) == 1 and failed[0].severity == Severity.CRITICAL
    assert failed[0].message.startswith("defense failed:")
    assert not [a for a in alerts if a.key.startswith("defense-confirmed-")]


def test_a_reserve_below_the_next_defense_alerts(devnet: dict[str, Any], chain: DevRpc, tmp_path: Path) -> None:
    borrower = demo_loan(chain, devnet)  # HF 1.5 at 3,000: the next defense (1.15 -> 1.35) repays ~2,459 USDC
    wallet = guardian_wallet(chain, devnet, usdc=100.0)

    async def start() -> list[Alert]:
        alerts: list[Alert] = []
        guardian = make_guardian(devnet, borrower, wallet.key)
        journal = await started(guardian, db=tmp_path / "r.sqlite", alerts=alerts)
        await close(guardian, journal)
        return alerts

    set_price(devnet, "WETH", 3_000.0)
    alerts = asyncio.run(start())
    low = [a for a in alerts if a.key == "defense-reserve-low"]
    assert len(low) == 1 and low[0].severity == Severity.WARNING
    assert "100.00 USD of USDC" in low[0].message and "~2,459" in low[0].message
