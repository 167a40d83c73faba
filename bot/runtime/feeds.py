"""What the engine reads from the world, as small protocols the monitors implement."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.domain.defense import DefenseAction, DefensePolicy, DefenseStatus
from bot.domain.snapshot import LendingView


@dataclass(frozen=True, slots=True)
class LendingReading:
    """The watched position as of one block."""

    lending: LendingView
    block_number: int
    block_time_ms: int
    oracle_btc_usd: float | None = None  # the lending oracle's BTC price, where the market lists (W)BTC
    oracle_updated_ms: int | None = None  # when the hedged collateral's feed last updated
    # False: the exact replica disagreed with the Pool, and the view's liquidation price is the bound
    # price / HF from the Pool's own health factor (the lending feed puts it there).
    matches_chain: bool = True


class LendingFeed(Protocol):
    async def read(self) -> LendingReading:
        """The position now (one batched read of the chain)."""

    async def next_block(self) -> int:
        """Wait for a new block (subscription or polling) and return its number."""

    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class MarkReading:
    price: float
    ts_ms: int
    funding_rate_8h: float | None = None


class MarkFeed(Protocol):
    async def read(self) -> MarkReading:
        """The perpetual's mark price now."""

    async def close(self) -> None: ...


class DefenseReport(Protocol):
    """What one on-chain defense did (bot.chain.guardian.DefenseResult)."""

    @property
    def status(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def asset_symbol(self) -> str: ...
    @property
    def amount_usd(self) -> float: ...
    @property
    def health_factor_before(self) -> float: ...
    @property
    def health_factor_after(self) -> float | None: ...
    @property
    def tx_hashes(self) -> tuple[str, ...]: ...


class Defender(Protocol):
    """The on-chain defense the engine hands its loan to (bot.chain.guardian.Guardian)."""

    @property
    def policy(self) -> DefensePolicy: ...

    async def plan(self, lending: LendingView) -> DefenseAction | None:
        """The defense due now on `lending`, if any."""

    async def defend(self, action: DefenseAction) -> DefenseReport:
        """Run one defense; never resends."""

    async def status(self, lending: LendingView | None) -> DefenseStatus:
        """Reserve, spent today, the price at which the next defense fires (alerts a reserve too low for it)."""
