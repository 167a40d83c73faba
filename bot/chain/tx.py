"""Transactions out of one wallet: simulate, price under a cap, journal, sign, broadcast, confirm, and recover.

The order of one send is what makes it safe to kill the process anywhere:

1. simulate it (`eth_estimateGas` on the latest block: a revert stops here, nothing is signed);
2. journal the intent with its nonce;
3. sign, and journal the hash *before* broadcasting;
4. broadcast, journal "sent"; wait for the receipt, journal "confirmed" or "reverted".

After a crash, `resolve` looks each unresolved row up by its hash, then by its nonce: mined (confirmed or
reverted), still pending (waited for), its nonce taken by another transaction (dropped), or never seen
with its nonce still free (not sent). It never broadcasts again: the caller re-plans from the chain's
state, and a new transaction reuses the lowest free nonce, so two of them can never both be mined.

A revert is journaled and raised (`TxReverted`): the caller alerts and re-plans, it never loops resending.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from eth_account.signers.local import LocalAccount
from eth_utils.address import to_checksum_address

from bot.chain.calls import revert_reason
from bot.clock import Clock, wall_ms
from bot.errors import HedgebotError
from bot.journal.aio import AsyncJournal
from bot.journal.records import TxIntent, TxRecord, TxState
from bot.log import get_logger
from bot.monitors.rpc import RpcCallError, RpcPool

log = get_logger("hedgebot.chain")

GWEI = 10**9
FALLBACK_TIP_WEI = GWEI  # when the node has no eth_maxPriorityFeePerGas
GAS_HEADROOM = 1.25  # over eth_estimateGas: state can move between the estimate and the block
_KNOWN = ("already known", "known transaction", "already imported", "nonce too low", "already exists")


class TxFailed(HedgebotError):
    """A transaction was not sent, or did not do what it should: alert and re-plan, never resend it."""


class SimulationReverted(TxFailed):
    """eth_call or eth_estimateGas on the latest block reverted: nothing was signed."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class GasAboveCap(TxFailed):
    """The chain's base fee is above HEDGEBOT_DEFENSE__MAX_GAS_GWEI: nothing was signed."""


class TxReverted(TxFailed):
    """Mined with status 0."""

    def __init__(self, message: str, tx_hash: str, block_number: int) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash
        self.block_number = block_number


class TxUnresolved(TxFailed):
    """Sent (or maybe sent) and no receipt yet: it stays in the journal and is looked up before anything else."""


@dataclass(frozen=True, slots=True)
class ContractCall:
    to: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Fees:
    base_fee: int
    max_fee_per_gas: int
    max_priority_fee_per_gas: int


@dataclass(frozen=True, slots=True)
class Receipt:
    tx_hash: str
    block_number: int
    success: bool
    gas_used: int
    journal_id: int = 0  # the transaction's row in the journal


Hook = Callable[[int, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class TxHooks:
    """Called with (journal row id, tx hash) at the two instants a crash is hardest on: for tests."""

    after_signed: Hook | None = None  # hash journaled, not yet broadcast
    after_broadcast: Hook | None = None  # accepted by a node, receipt not yet journaled


def _int(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _call_object(sender: str, call: ContractCall) -> dict[str, str]:
    return {"from": sender, "to": call.to, "data": "0x" + call.data.hex()}


async def next_fees(rpc: RpcPool, max_fee_per_gas: int) -> Fees:
    """EIP-1559 fees for the next block under `max_fee_per_gas`; GasAboveCap when the base fee alone is above it.

    A function of the chain alone (no wallet, no journal), so the start-up checks price one defense's gas too.
    """
    block = await rpc.request("eth_getBlockByNumber", "latest", False)
    base = _int(block.get("baseFeePerGas") or 0)
    try:
        tip = _int(await rpc.request("eth_maxPriorityFeePerGas"))
    except RpcCallError:
        tip = FALLBACK_TIP_WEI
    cap = max_fee_per_gas
    if base >= cap:
        raise GasAboveCap(
            f"the base fee is {base / GWEI:,.2f} gwei, above HEDGEBOT_DEFENSE__MAX_GAS_GWEI ({cap / GWEI:,.2f}): "
            "not sent; raise the cap or wait for cheaper blocks"
        )
    tip = min(tip, cap - base)
    return Fees(base, min(cap, 2 * base + tip), tip)


class Wallet:
    """One signing account on one chain; see the module docstring. One send at a time (the caller serialises)."""

    def __init__(
        self,
        rpc: RpcPool,
        account: LocalAccount,
        journal: AsyncJournal,
        *,
        chain_id: int,
        max_fee_per_gas: int,
        receipt_timeout_s: float = 180.0,
        poll_interval_s: float = 0.25,
        hooks: TxHooks | None = None,
        clock: Clock = wall_ms,
    ) -> None:
        self.rpc = rpc
        self.account = account
        self.address: str = account.address
        self.journal = journal
        self.chain_id = chain_id
        self.max_fee_per_gas = max_fee_per_gas
        self.receipt_timeout_s = receipt_timeout_s
        self.poll_interval_s = poll_interval_s
        self.hooks = hooks or TxHooks()
        self.clock = clock

    # --- reads ------------------------------------------------------------------------------------

    async def nonce(self, address: str | None = None) -> int:
        """The next nonce of this account (or `address`): the count of its mined transactions.

        Not "pending": every send waits for its receipt and every unresolved row is resolved first, so
        a transaction in some mempool is always ours and journaled, and reusing its nonce is the point.
        """
        return _int(await self.rpc.request("eth_getTransactionCount", address or self.address, "latest"))

    async def fees(self) -> Fees:
        """EIP-1559 fees for the next block, under the cap; GasAboveCap when the base fee alone is above it."""
        return await next_fees(self.rpc, self.max_fee_per_gas)

    async def simulate(
        self, call: ContractCall, overrides: dict[str, Any] | None = None, block: int | str = "latest"
    ) -> bytes:
        """The call's return data on `block` (with `overrides` of state, if given); SimulationReverted if it reverts."""
        tag = hex(block) if isinstance(block, int) else block
        params: list[Any] = [_call_object(self.address, call), tag]
        if overrides:
            params.append(overrides)
        try:
            result = await self.rpc.request("eth_call", *params)
        except RpcCallError as exc:
            reason = revert_reason(exc.error)
            raise SimulationReverted(f"the simulation reverted: {reason}", reason) from None
        return bytes.fromhex(str(result).removeprefix("0x"))

    async def estimate_gas(self, call: ContractCall) -> int:
        """Gas for `call` on the latest block, with headroom; SimulationReverted if it would revert."""
        try:
            estimate = _int(await self.rpc.request("eth_estimateGas", _call_object(self.address, call)))
        except RpcCallError as exc:
            reason = revert_reason(exc.error)
            raise SimulationReverted(f"the simulation reverted: {reason}", reason) from None
        return int(estimate * GAS_HEADROOM) + 10_000

    async def receipt(self, tx_hash: str) -> Receipt | None:
        found = await self.rpc.request("eth_getTransactionReceipt", tx_hash)
        if not found:
            return None
        return Receipt(tx_hash, _int(found["blockNumber"]), _int(found["status"]) == 1, _int(found["gasUsed"]))

    async def wait_receipt(self, tx_hash: str, timeout_s: float | None = None) -> Receipt | None:
        """The receipt once mined; None when `timeout_s` (default: the wallet's) passes first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self.receipt_timeout_s if timeout_s is None else timeout_s)
        while True:
            found = await self.receipt(tx_hash)
            if found is not None:
                return found
            if loop.time() >= deadline:
                return None
            await asyncio.sleep(self.poll_interval_s)

    # --- one send ---------------------------------------------------------------------------------

    async def send(self, call: ContractCall, intent: TxIntent, on_sent: Callable[[str], None] | None = None) -> Receipt:
        """Simulate, journal, sign, journal the hash, broadcast, confirm; the receipt of a success.

        Raises SimulationReverted or GasAboveCap before anything is journaled as sent (the row says
        "refused"), TxReverted for status 0, TxUnresolved when no receipt came in time (the row stays
        "sent": `resolve` finds it later).
        """
        now = self.clock()
        try:
            fees = await self.fees()
            gas = await self.estimate_gas(call)
        except (SimulationReverted, GasAboveCap) as exc:
            await self.journal.record_tx_intent(intent, now, TxState.REFUSED, str(exc))
            raise
        nonce = await self.nonce()
        tx_id = await self.journal.record_tx_intent(replace(intent, nonce=nonce), now)
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": nonce,
            "to": to_checksum_address(call.to),
            "value": 0,
            "data": call.data,
            "gas": gas,
            "maxFeePerGas": fees.max_fee_per_gas,
            "maxPriorityFeePerGas": fees.max_priority_fee_per_gas,
        }
        signed = self.account.sign_transaction(tx)
        tx_hash = "0x" + bytes(signed.hash).hex()
        await self.journal.record_tx_signed(tx_id, tx_hash, self.clock())
        if self.hooks.after_signed is not None:
            await self.hooks.after_signed(tx_id, tx_hash)
        await self._broadcast(tx_id, tx_hash, "0x" + bytes(signed.raw_transaction).hex())
        await self.journal.set_tx_state(tx_id, TxState.SENT, self.clock())
        log.info("transaction sent", kind=intent.kind, tx_hash=tx_hash, nonce=nonce, gas=gas)
        if on_sent is not None:
            on_sent(tx_hash)
        if self.hooks.after_broadcast is not None:
            await self.hooks.after_broadcast(tx_id, tx_hash)
        receipt = await self.wait_receipt(tx_hash)
        if receipt is None:
            raise TxUnresolved(
                f"{intent.kind} {tx_hash} (nonce {nonce}) has no receipt after {self.receipt_timeout_s:.0f}s: "
                "left in the journal as sent and looked up before any other transaction"
            )
        return await self._record_receipt(tx_id, intent.kind, receipt)

    async def _broadcast(self, tx_id: int, tx_hash: str, raw: str) -> None:
        try:
            await self.rpc.request("eth_sendRawTransaction", raw)
        except RpcCallError as exc:
            text = str(exc.error).lower()
            # Failover can hand one signed transaction to two nodes: the second says it knows it.
            if any(k in text for k in _KNOWN) and await self._seen(tx_hash):
                return
            await self.journal.set_tx_state(tx_id, TxState.NOT_SENT, self.clock(), f"the node refused it: {exc.error}")
            raise TxFailed(f"the node refused the transaction: {revert_reason(exc.error)}") from None
        # RpcUnavailable (no node answered) propagates: the row stays "signed" and `resolve` looks it up.

    async def _seen(self, tx_hash: str) -> bool:
        return bool(await self.rpc.request("eth_getTransactionByHash", tx_hash))

    async def _record_receipt(self, tx_id: int, kind: str, receipt: Receipt) -> Receipt:
        state = TxState.CONFIRMED if receipt.success else TxState.REVERTED
        await self.journal.set_tx_state(
            tx_id, state, self.clock(), block_number=receipt.block_number, gas_used=receipt.gas_used
        )
        if not receipt.success:
            raise TxReverted(
                f"{kind} {receipt.tx_hash} reverted in block {receipt.block_number}: not resent; re-planning",
                receipt.tx_hash,
                receipt.block_number,
            )
        return replace(receipt, journal_id=tx_id)

    # --- after a restart --------------------------------------------------------------------------

    async def resolve(self, record: TxRecord, wait_s: float = 0.0) -> TxState:
        """What became of a journaled, unresolved transaction, journaled; never broadcasts it again.

        A pending one is waited for up to `wait_s`; it stays "sent" if still pending then.
        """
        now = self.clock()
        if record.tx_hash is None or record.intent.nonce is None:
            # Hashes are journaled before broadcast: without one, nothing can have left.
            await self.journal.set_tx_state(record.id, TxState.NOT_SENT, now, "never signed (stopped before signing)")
            return TxState.NOT_SENT
        mined_count = await self.nonce(record.intent.sender)
        found = await self.receipt(record.tx_hash)
        if found is None and await self._seen(record.tx_hash):
            await self.journal.set_tx_state(record.id, TxState.SENT, now, "found pending after a restart")
            found = await self.wait_receipt(record.tx_hash, wait_s)
            if found is None:
                return TxState.SENT
        if found is not None:
            state = TxState.CONFIRMED if found.success else TxState.REVERTED
            await self.journal.set_tx_state(
                record.id,
                state,
                self.clock(),
                "found mined after a restart",
                block_number=found.block_number,
                gas_used=found.gas_used,
            )
            return state
        if mined_count > record.intent.nonce:
            await self.journal.set_tx_state(
                record.id, TxState.DROPPED, now, f"not on chain; nonce {record.intent.nonce} was used by another"
            )
            return TxState.DROPPED
        await self.journal.set_tx_state(
            record.id, TxState.NOT_SENT, now, f"never reached the chain; nonce {record.intent.nonce} still free"
        )
        return TxState.NOT_SENT
