"""A liquidation bot for the devnet: it calls `liquidationCall` as soon as a watched loan's HF is below 1.

It does what the bots that liquidate Aave loans do, minus the mempool games: on every new block it reads
each watched account's health factor at that block and, for each one below 1, sends a liquidationCall
right away for the largest debt against the largest collateral, covering as much as the close factor
allows, without simulating first. A liquidator that lost the race (the borrower, or its guardian, lifted
the HF between the block it read and the block its call lands in) sees its call revert on chain.

Each attempt is read back from the chain: a success's LiquidationCall event gives the debt repaid and the
collateral seized, valued at the oracle's prices of that block, and so the penalty the borrower paid.

`start_liquidator` runs it on a thread beside anything (the demo, a test) and returns a handle to stop it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak

from bot.chain.calls import (
    erc20_approve,
    health_factor_of,
    pool_liquidation_call,
    pool_user_account_data,
    revert_reason,
)
from bot.devnet.chain.rpc import DevRpc, RpcError
from bot.domain.lending.aave_math import WAD
from bot.monitors.multicall import address_word, encode_call, word, words

LIQUIDATION_EVENT = "0x" + keccak(b"LiquidationCall(address,address,address,uint256,uint256,address,bool)").hex()
MAX_UINT256 = 2**256 - 1
LIQUIDATION_GAS = 1_500_000  # explicit: no estimate, so a call that lost the race is mined and reverts


@dataclass(frozen=True, slots=True)
class LiquidationAttempt:
    """One liquidationCall the bot sent, as the chain recorded it."""

    borrower: str
    block_seen: int  # the block whose HF made it fire
    health_factor_seen: float
    tx_hash: str
    block_number: int  # where the call was mined
    success: bool
    collateral_symbol: str
    debt_symbol: str
    debt_repaid: float = 0.0  # tokens
    collateral_seized: float = 0.0  # tokens
    debt_repaid_usd: float = 0.0
    collateral_seized_usd: float = 0.0
    reason: str = ""  # why it reverted

    @property
    def penalty_usd(self) -> float:
        """What the borrower lost beyond the debt repaid: the liquidation bonus, at the oracle's prices."""
        return self.collateral_seized_usd - self.debt_repaid_usd


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


class Liquidator:
    """Liquidates the watched accounts of a devnet (devnet.json's content) from its liquidator account."""

    def __init__(
        self,
        info: dict[str, Any],
        borrowers: Sequence[str],
        *,
        account: str | None = None,
        attempt_below: float = 1.0,
        poll_interval_s: float = 0.05,
        on_attempt: Callable[[LiquidationAttempt], None] | None = None,
    ) -> None:
        self.info = info
        self.rpc = DevRpc(info["rpc_url"])
        self.borrowers = [to_checksum_address(b) for b in borrowers]
        self.account = to_checksum_address(account or info["accounts"]["liquidator"]["address"])
        self.attempt_below = attempt_below
        self.poll_interval_s = poll_interval_s
        self.on_attempt = on_attempt
        self.attempts: list[LiquidationAttempt] = []
        self._funded: set[str] = set()

    # --- reads ------------------------------------------------------------------------------------

    def _call(self, to: str, data: bytes, block: int | str = "latest") -> bytes:
        tag = hex(block) if isinstance(block, int) else block
        return bytes.fromhex(str(self.rpc.call("eth_call", {"to": to, "data": _hex(data)}, tag))[2:])

    def health_factor(self, borrower: str, block: int | str = "latest") -> float:
        hf = health_factor_of(self._call(self.info["pool"], pool_user_account_data(borrower), block))
        return hf / WAD

    def _price(self, symbol: str, block: int) -> float:
        asset = self.info["reserves"][symbol]["address"]
        raw = self._call(self.info["oracle"], encode_call("getAssetPrice(address)", address_word(asset)), block)
        return words(raw)[0] / 10**8

    def _largest(self, borrower: str, block: int) -> tuple[str, str] | None:
        """The (collateral, debt) symbols worth the most for `borrower` at `block`; None without either."""
        collateral: tuple[float, str] | None = None
        debt: tuple[float, str] | None = None
        for symbol, reserve in self.info["reserves"].items():
            data = encode_call(
                "getUserReserveData(address,address)", address_word(reserve["address"]), address_word(borrower)
            )
            w = words(self._call(self.info["data_provider"], data, block))
            price = self._price(symbol, block)
            unit = 10 ** reserve["decimals"]
            if w[0] and w[8]:
                value = w[0] / unit * price
                collateral = max(collateral or (value, symbol), (value, symbol))
            owed = w[1] + w[2]
            if owed:
                value = owed / unit * price
                debt = max(debt or (value, symbol), (value, symbol))
        return (collateral[1], debt[1]) if collateral and debt else None

    # --- acting -----------------------------------------------------------------------------------

    def _fund(self, debt: str) -> None:
        """Mint itself plenty of the debt asset and let the Pool take it (a devnet bot's working capital)."""
        if debt in self._funded:
            return
        token = self.info["reserves"][debt]["address"]
        amount = 10**12 * 10 ** self.info["reserves"][debt]["decimals"]
        hashes = [
            self.rpc.call(
                "eth_sendTransaction",
                {"from": self.account, "to": token, "data": _hex(encode_call("mint(uint256)", word(amount))),
                 "gas": hex(200_000)},
            ),
            self.rpc.call(
                "eth_sendTransaction",
                {"from": self.account, "to": token, "data": _hex(erc20_approve(self.info["pool"], MAX_UINT256)),
                 "gas": hex(200_000)},
            ),
        ]  # fmt: skip
        self.rpc.wait_receipts(hashes)
        self._funded.add(debt)

    def liquidate(self, borrower: str, block_seen: int, hf_seen: float) -> LiquidationAttempt | None:
        """Send one liquidationCall for `borrower` now (no simulation first); its attempt as mined."""
        pair = self._largest(borrower, block_seen)
        if pair is None:
            return None
        collateral, debt = pair
        self._fund(debt)
        r = self.info["reserves"]
        data = pool_liquidation_call(r[collateral]["address"], r[debt]["address"], borrower, MAX_UINT256)
        tx = {"from": self.account, "to": self.info["pool"], "data": _hex(data), "gas": hex(LIQUIDATION_GAS)}
        tx_hash = str(self.rpc.call("eth_sendTransaction", tx))
        receipt = self.rpc.wait_receipts([tx_hash], check=False)[0]
        block = int(receipt["blockNumber"], 16)
        attempt = LiquidationAttempt(
            borrower=borrower,
            block_seen=block_seen,
            health_factor_seen=hf_seen,
            tx_hash=tx_hash,
            block_number=block,
            success=False,
            collateral_symbol=collateral,
            debt_symbol=debt,
        )
        if int(receipt["status"], 16) != 1:
            attempt = replace(attempt, reason=self._why_reverted(tx, block))
        else:
            event = next(log for log in receipt["logs"] if log["topics"][0] == LIQUIDATION_EVENT)
            repaid, seized = words(bytes.fromhex(event["data"][2:]))[:2]
            repaid_tokens = repaid / 10 ** r[debt]["decimals"]
            seized_tokens = seized / 10 ** r[collateral]["decimals"]
            attempt = replace(
                attempt,
                success=True,
                debt_repaid=repaid_tokens,
                collateral_seized=seized_tokens,
                debt_repaid_usd=repaid_tokens * self._price(debt, block),
                collateral_seized_usd=seized_tokens * self._price(collateral, block),
            )
        self.attempts.append(attempt)
        if self.on_attempt is not None:
            self.on_attempt(attempt)
        return attempt

    def _why_reverted(self, tx: dict[str, Any], block: int) -> str:
        """The revert reason, by replaying the call on the state just before its block."""
        try:
            self.rpc.call("eth_call", tx, hex(block - 1))
        except RpcError as exc:
            found = re.search(r"'data': '(0x[0-9a-fA-F]+)'", str(exc))
            return revert_reason({"data": found.group(1)}) if found else str(exc)[-200:]
        return "reverted within its block (an earlier transaction of the same block lifted the HF)"

    def check_once(self, block: int | None = None) -> list[LiquidationAttempt]:
        """Read every watched account at `block` (default: the latest) and liquidate those below the line."""
        at = int(self.rpc.call("eth_blockNumber"), 16) if block is None else block
        out = []
        for borrower in self.borrowers:
            hf = self.health_factor(borrower, at)
            if hf < self.attempt_below:
                attempt = self.liquidate(borrower, at, hf)
                if attempt is not None:
                    out.append(attempt)
        return out

    def run(self, stop: threading.Event) -> None:
        """Check on every new block until `stop` is set."""
        last = -1
        while not stop.is_set():
            head = int(self.rpc.call("eth_blockNumber"), 16)
            if head > last:
                last = head
                self.check_once(head)
            stop.wait(self.poll_interval_s)


class LiquidatorThread:
    """A running liquidator (see `start_liquidator`): `attempts` so far, `stop()` to end it."""

    def __init__(self, liquidator: Liquidator) -> None:
        self.liquidator = liquidator
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="devnet-liquidator", daemon=True)

    def _main(self) -> None:
        try:
            self.liquidator.run(self._stop)
        except BaseException as exc:  # kept for the caller: a thread's exception is otherwise lost
            self.error = exc

    @property
    def attempts(self) -> list[LiquidationAttempt]:
        return list(self.liquidator.attempts)

    def start(self) -> LiquidatorThread:
        self._thread.start()
        return self

    def stop(self) -> list[LiquidationAttempt]:
        """Stop it and return every attempt it made; re-raises what stopped it early, if anything did."""
        self._stop.set()
        self._thread.join(30)
        if self.error is not None:
            raise self.error
        return self.attempts


def start_liquidator(
    info: dict[str, Any],
    borrowers: Sequence[str],
    *,
    attempt_below: float = 1.0,
    on_attempt: Callable[[LiquidationAttempt], None] | None = None,
) -> LiquidatorThread:
    """A liquidator watching `borrowers` on the devnet of `info` (devnet.json's content), started on a thread."""
    return LiquidatorThread(Liquidator(info, borrowers, attempt_below=attempt_below, on_attempt=on_attempt)).start()
