"""The guardian's transactions in the journal: each step written before it is taken, read back after a crash."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bot.journal.events import events
from bot.journal.journal import Journal, TxIntent, TxState

INTENT = TxIntent(
    defense_id="defense-1",
    mode="testnet",
    kind="repay",
    chain_id=31337,
    sender="0x" + "a" * 40,
    to_address="0x" + "b" * 40,
    borrower="0x" + "c" * 40,
    asset_symbol="USDC",
    asset="0x" + "d" * 40,
    amount=2_463_012_345,
    amount_usd=2_463.01,
    target_health_factor=1.35,
    reason="HF 1.125 < trigger 1.15",
    nonce=7,
    health_factor_before=1.125,
)


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal.open(tmp_path / "j.sqlite")


def test_a_transaction_is_intent_then_signed_then_confirmed(journal: Journal) -> None:
    tx_id = journal.record_tx_intent(INTENT, 1_000)
    assert [r.state for r in journal.unresolved_transactions()] == [TxState.INTENT]
    journal.record_tx_signed(tx_id, "0xabc", 1_001)
    signed = journal.transaction(tx_id)
    assert signed is not None and (signed.state, signed.tx_hash) == (TxState.SIGNED, "0xabc")
    journal.set_tx_state(tx_id, TxState.SENT, 1_002)
    journal.set_tx_state(tx_id, TxState.CONFIRMED, 1_003, block_number=12, gas_used=230_000)
    journal.set_tx_state(tx_id, TxState.CONFIRMED, 1_004, "", health_factor_after=1.3500081)
    done = journal.transaction(tx_id)
    assert done is not None
    assert (done.state, done.block_number, done.gas_used, done.health_factor_after) == (
        TxState.CONFIRMED,
        12,
        230_000,
        1.3500081,
    )
    assert done.intent == INTENT and done.updated_ms == 1_004
    assert journal.unresolved_transactions() == []


def test_amounts_beyond_64_bits_round_trip(journal: Journal) -> None:
    huge = replace(INTENT, amount=10**30)
    tx_id = journal.record_tx_intent(huge, 1)
    record = journal.transaction(tx_id)
    assert record is not None and record.intent.amount == 10**30


def test_spent_today_counts_what_may_have_left_in_its_mode(journal: Journal) -> None:
    journal.record_tx_intent(INTENT, 1_000, TxState.CONFIRMED)
    journal.record_tx_intent(replace(INTENT, kind="approve"), 1_000, TxState.CONFIRMED)  # an approval spends nothing
    journal.record_tx_intent(INTENT, 1_000, TxState.REFUSED)
    journal.record_tx_intent(INTENT, 1_000, TxState.SIGNED)  # may have left: counted until looked up
    journal.record_tx_intent(INTENT, 10, TxState.CONFIRMED)  # before the window
    journal.record_tx_intent(replace(INTENT, mode="dry-run"), 1_000, TxState.SIMULATED)
    assert journal.defense_spent_usd(100, "testnet") == pytest.approx(2 * 2_463.01)
    assert journal.defense_spent_usd(100, "dry-run") == pytest.approx(2_463.01)


def test_hedgebot_journal_shows_each_transaction_with_its_hash(journal: Journal, tmp_path: Path) -> None:
    tx_id = journal.record_tx_intent(INTENT, 1_000)
    journal.record_tx_signed(tx_id, "0x" + "e" * 64, 1_001)
    journal.set_tx_state(tx_id, TxState.CONFIRMED, 1_002, health_factor_after=1.35)
    journal.record_tx_intent(replace(INTENT, mode="dry-run", nonce=None), 2_000, TxState.SIMULATED, "dry-run")
    found = [e for e in events(journal) if e.kind == "transaction"]
    assert [e.data["action"] for e in found] == ["repay", "repay"]
    assert found[0].text == (
        f"repay 2463012345 units of USDC (~2,463.01 USD) for {INTENT.borrower} [confirmed] 0x{'e' * 64} nonce 7, "
        "HF 1.125 -> 1.350"
    )
    assert found[1].text.endswith("[simulated]: dry-run")
    journal.close()
    shown = subprocess.run(
        [sys.executable, "-m", "bot.cli", "journal", "--json", "--db", str(tmp_path / "j.sqlite")],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(shown.stdout)
    assert [(r["kind"], r["action"], r["tx_hash"], r["state"]) for r in rows] == [
        ("transaction", "repay", "0x" + "e" * 64, "confirmed"),
        ("transaction", "repay", None, "simulated"),
    ]
