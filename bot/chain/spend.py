"""One sized defense out of the guardian's wallet: approve exactly the amount, then repay or supply.

Before anything is signed the pair is simulated on the latest block: the approval as it is, and the
repay or supply with that approval already in place, as an `eth_call` state override of the token's
allowance slot (found once per token by probing). Dry-run stops there and journals both as
"simulated". Otherwise the approval is sent only when the allowance is not already exactly the
amount (never an unlimited one), then the repay or supply, each through `Wallet.send`, which
re-simulates it with the real allowance when estimating its gas.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.chain.calls import allowance_slot_key, erc20_allowance, erc20_approve, pool_repay, pool_supply
from bot.chain.tx import ContractCall, Receipt, SimulationReverted, Wallet
from bot.journal.records import TxIntent, TxState
from bot.monitors.multicall import words

ALLOWANCE_SLOTS = range(0, 64)  # where ERC-20s keep allowances (a Solidity mapping's slot)


@dataclass(frozen=True, slots=True)
class Simulated:
    """What the simulation before signing found."""

    approve_needed: bool
    detail: str  # how far the simulation went, for the journal


class Spender:
    """Sends sized defenses from `wallet` to the Pool; see the module docstring."""

    def __init__(self, wallet: Wallet, pool: str) -> None:
        self.wallet = wallet
        self.pool = pool
        self._allowance_slot: dict[str, int | None] = {}

    def calls(self, intent: TxIntent) -> tuple[ContractCall, ContractCall]:
        """The approval and the repay or supply of `intent`."""
        approve = ContractCall(intent.asset, erc20_approve(self.pool, intent.amount))
        encode = pool_repay if intent.kind == "repay" else pool_supply
        return approve, ContractCall(self.pool, encode(intent.asset, intent.amount, intent.borrower))

    async def simulate(self, intent: TxIntent) -> Simulated:
        """Simulate the defense on the latest block; SimulationReverted when any part of it would revert."""
        approve, act = self.calls(intent)
        query = ContractCall(intent.asset, erc20_allowance(self.wallet.address, self.pool))
        approve_needed = words(await self.wallet.simulate(query))[0] != intent.amount
        if not approve_needed:
            await self.wallet.simulate(act)
            return Simulated(False, "simulated with eth_call on the latest block (allowance already exact)")
        await self.wallet.simulate(approve)
        override = await self._allowance_override(intent.asset, intent.amount)
        if override is None:
            return Simulated(True, f"approve simulated; the {intent.kind} is simulated once the approval is mined")
        await self.wallet.simulate(act, override)
        return Simulated(True, "simulated with eth_call on the latest block, the approval as a state override")

    async def journal_dry_run(self, intent: TxIntent, simulated: Simulated, note: str = "") -> None:
        """Dry-run: journal what would have been sent, signing nothing."""
        detail = "; ".join(x for x in (f"dry-run, not signed: {simulated.detail}", note) if x)
        now = self.wallet.clock()
        if simulated.approve_needed:
            approve = replace(intent, kind="approve", to_address=intent.asset)
            await self.wallet.journal.record_tx_intent(approve, now, TxState.SIMULATED, detail)
        await self.wallet.journal.record_tx_intent(intent, now, TxState.SIMULATED, detail)

    async def send(
        self, intent: TxIntent, simulated: Simulated, on_sent: Callable[[str], None] | None = None
    ) -> Receipt:
        """Approve exactly (if needed), then repay or supply; the receipt of the latter (see `Wallet.send`)."""
        approve, act = self.calls(intent)
        if simulated.approve_needed:
            await self.wallet.send(approve, replace(intent, kind="approve", to_address=intent.asset), on_sent)
        return await self.wallet.send(act, intent, on_sent)

    async def _allowance_override(self, token: str, amount: int) -> dict[str, Any] | None:
        """A state override setting our allowance to the Pool at `amount`; None when the slot is not found."""
        query = ContractCall(token, erc20_allowance(self.wallet.address, self.pool))
        known = self._allowance_slot.get(token, -1)
        slots = ALLOWANCE_SLOTS if known == -1 else ([] if known is None else [known])
        for slot in slots:
            key = allowance_slot_key(self.wallet.address, self.pool, slot)
            override = {token: {"stateDiff": {key: "0x" + f"{amount:064x}"}}}
            try:
                answer = await self.wallet.simulate(query, override)
            except SimulationReverted:
                break  # the node takes no state overrides
            if words(answer)[0] == amount:
                self._allowance_slot[token] = slot
                return override
        self._allowance_slot[token] = None
        return None
