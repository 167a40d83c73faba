"""One wallet's sends and its look-ups after a restart, against a scripted node: never a second broadcast."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from bot.chain.tx import GWEI, ContractCall, GasAboveCap, SimulationReverted, TxHooks, TxReverted, Wallet
from bot.journal.aio import AsyncJournal
from bot.journal.records import TxIntent, TxState
from bot.monitors.rpc import RpcCallError

KEY = "0x" + "4c" * 32
SENDER = Account.from_key(KEY).address
INTENT = TxIntent(
    defense_id="d", mode="testnet", kind="repay", chain_id=1, sender=SENDER, to_address="0x" + "b" * 40,
    borrower="0x" + "c" * 40, asset_symbol="USDC", asset="0x" + "d" * 40, amount=100, amount_usd=100.0,
    target_health_factor=1.35, reason="r", nonce=None,
)  # fmt: skip
CALL = ContractCall("0x" + "b" * 40, b"\x01\x02")


class Node:
    """A JSON-RPC node that answers from a script and records what it was sent."""

    def __init__(self, base_fee: int = GWEI, mined: int = 0) -> None:
        self.base_fee = base_fee
        self.mined = mined  # the sender's transaction count
        self.receipts: dict[str, dict[str, Any]] = {}
        self.pending: set[str] = set()
        self.sent: list[str] = []
        self.status = 1
        self.revert: dict[str, Any] | None = None

    async def request(self, method: str, *params: Any) -> Any:
        if method == "eth_getBlockByNumber":
            return {"baseFeePerGas": hex(self.base_fee)}
        if method == "eth_maxPriorityFeePerGas":
            return hex(GWEI)
        if method == "eth_estimateGas":
            if self.revert is not None:
                raise RpcCallError("reverted", self.revert)
            return hex(200_000)
        if method == "eth_getTransactionCount":
            return hex(self.mined)
        if method == "eth_sendRawTransaction":
            self.sent.append(params[0])
            self.mined += 1
            return "0x"
        if method == "eth_getTransactionReceipt":
            return self.receipts.get(params[0])
        if method == "eth_getTransactionByHash":
            return {"hash": params[0]} if params[0] in self.pending else None
        raise AssertionError(method)

    def mine(self, tx_hash: str, status: int = 1) -> None:
        self.receipts[tx_hash] = {"blockNumber": "0x10", "status": hex(status), "gasUsed": hex(150_000)}


@pytest.fixture
async def journal(tmp_path: Path) -> Iterator[AsyncJournal]:
    j = await AsyncJournal.open(tmp_path / "j.sqlite")
    yield j
    await j.close()


def wallet(node: Node, journal: AsyncJournal, **kw: Any) -> Wallet:
    return Wallet(node, Account.from_key(KEY), journal, chain_id=1, max_fee_per_gas=50 * GWEI, **kw)  # type: ignore[arg-type]


async def test_a_send_journals_the_hash_before_broadcasting(journal: AsyncJournal) -> None:
    node = Node(mined=3)
    seen: list[tuple[TxState, str | None]] = []

    async def after_signed(tx_id: int, tx_hash: str) -> None:
        record = await journal.call(lambda j: j.transaction(tx_id))
        seen.append((record.state, record.tx_hash))
        assert node.sent == []  # not yet on the wire
        node.mine(tx_hash)

    receipt = await wallet(node, journal, hooks=TxHooks(after_signed=after_signed)).send(CALL, INTENT)
    assert seen == [(TxState.SIGNED, receipt.tx_hash)]
    assert len(node.sent) == 1
    rows = await journal.transactions()
    assert [(r.state, r.intent.nonce, r.tx_hash) for r in rows] == [(TxState.CONFIRMED, 3, receipt.tx_hash)]


async def test_a_revert_is_journaled_and_raised_not_resent(journal: AsyncJournal) -> None:
    node = Node()

    async def mine_reverted(tx_id: int, tx_hash: str) -> None:
        node.mine(tx_hash, status=0)

    with pytest.raises(TxReverted):
        await wallet(node, journal, hooks=TxHooks(after_signed=mine_reverted)).send(CALL, INTENT)
    assert len(node.sent) == 1
    assert [r.state for r in await journal.transactions()] == [TxState.REVERTED]


async def test_a_failing_simulation_or_a_base_fee_over_the_cap_signs_nothing(journal: AsyncJournal) -> None:
    node = Node()
    node.revert = {"message": "execution reverted", "data": "0x"}
    with pytest.raises(SimulationReverted):
        await wallet(node, journal).send(CALL, INTENT)
    node.revert, node.base_fee = None, 60 * GWEI
    with pytest.raises(GasAboveCap, match="above HEDGEBOT_DEFENSE__MAX_GAS_GWEI"):
        await wallet(node, journal).send(CALL, INTENT)
    assert node.sent == []
    assert [r.state for r in await journal.transactions()] == [TxState.REFUSED, TxState.REFUSED]


async def test_fees_stay_under_the_cap(journal: AsyncJournal) -> None:
    fees = await wallet(Node(base_fee=30 * GWEI), journal).fees()
    assert fees.max_fee_per_gas == 50 * GWEI and fees.max_priority_fee_per_gas == GWEI
    fees = await wallet(Node(base_fee=10 * GWEI), journal).fees()
    assert fees.max_fee_per_gas == 21 * GWEI


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("mined", TxState.CONFIRMED),
        ("mined-reverted", TxState.REVERTED),
        ("nonce-taken", TxState.DROPPED),
        ("never-left", TxState.NOT_SENT),
        ("no-hash", TxState.NOT_SENT),
    ],
)
async def test_after_a_restart_each_journaled_transaction_is_looked_up_never_resent(
    journal: AsyncJournal, where: str, expected: TxState
) -> None:
    node = Node(mined=5)
    tx_id = await journal.record_tx_intent(replace(INTENT, nonce=5), 1)
    if where != "no-hash":
        await journal.record_tx_signed(tx_id, "0xfeed", 2)
    if where.startswith("mined"):
        node.mine("0xfeed", status=0 if where == "mined-reverted" else 1)
        node.mined = 6
    if where == "nonce-taken":
        node.mined = 6
    [record] = await journal.unresolved_transactions()
    assert await wallet(node, journal).resolve(record) == expected
    assert node.sent == []
    assert await journal.unresolved_transactions() == []


async def test_a_pending_one_stays_unresolved_until_mined(journal: AsyncJournal) -> None:
    node = Node(mined=5)
    tx_id = await journal.record_tx_intent(replace(INTENT, nonce=5), 1)
    await journal.record_tx_signed(tx_id, "0xfeed", 2)
    node.pending.add("0xfeed")
    [record] = await journal.unresolved_transactions()
    assert await wallet(node, journal, poll_interval_s=0.0).resolve(record) == TxState.SENT
    node.mine("0xfeed")
    [record] = await journal.unresolved_transactions()
    assert await wallet(node, journal).resolve(record) == TxState.CONFIRMED
    assert node.sent == []
