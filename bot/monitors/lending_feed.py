"""The Aave monitor as the engine's LendingFeed: one watched account, one hedged collateral."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

from bot.domain.lending.account import AccountHealth
from bot.domain.lending.health import bounded_liquidation_price
from bot.domain.snapshot import LendingView
from bot.errors import UsageError
from bot.monitors.aave import AaveMonitor, HealthSnapshot, normalize_account
from bot.monitors.rpc import BlockHead
from bot.runtime.feeds import LendingReading

# Reserves whose oracle price is a BTC price, for the exchange-vs-oracle divergence check.
BTC_SYMBOLS = ("WBTC", "cbBTC", "BTCB", "tBTC", "BTC.b")


def lending_view(health: AccountHealth, collateral_symbol: str) -> LendingView:
    """The engine's view of `health`, hedging `collateral_symbol`.

    When the replica disagrees with the Pool (`matches_chain` false: a fork or a release whose math it
    does not follow), its liquidation price is not traded on: the view carries the bound from the
    Pool's own HF instead, which is never below the true one (the reading says so: `matches_chain`).
    """
    leg = next((c for c in health.collaterals if c.symbol.upper() == collateral_symbol.upper()), None)
    if leg is None:
        held = ", ".join(c.symbol for c in health.collaterals) or "none"
        raise UsageError(
            f"account {health.account} has no {collateral_symbol} collateral (it has: {held}); "
            "set HEDGEBOT_CHAIN__COLLATERAL_ASSET to the collateral to hedge"
        )
    liq = leg.liquidation_price_usd
    if not health.matches_chain:
        liq = bounded_liquidation_price(leg.price_usd, health.health_factor)
    return LendingView(
        collateral_asset=leg.symbol,
        collateral_amount=leg.amount,
        collateral_price_usd=leg.price_usd,
        total_collateral_usd=health.total_collateral_usd,
        debt_usd=health.total_debt_usd,
        health_factor=health.health_factor,
        liquidation_price_usd=math.nan if liq is None else liq,
        liquidation_threshold=leg.liquidation_threshold,
    )


def reading(snap: HealthSnapshot, collateral_symbol: str) -> LendingReading:
    """The engine's LendingReading of the first account in `snap`."""
    health = snap.accounts[0]
    view = lending_view(health, collateral_symbol)
    btc = next((p for p in snap.prices if p.symbol in BTC_SYMBOLS), None)
    hedged = next((p for p in snap.prices if p.symbol == view.collateral_asset), None)
    return LendingReading(
        lending=view,
        block_number=snap.block_number,
        block_time_ms=snap.block_timestamp * 1000,
        oracle_btc_usd=btc.price_usd if btc else None,
        oracle_updated_ms=hedged.updated_at * 1000 if hedged and hedged.updated_at else None,
        matches_chain=health.matches_chain,
    )


class AaveLendingFeed:
    """Reads one account per block: one batched request (two when no head came by subscription)."""

    def __init__(self, monitor: AaveMonitor, account: str, collateral_symbol: str) -> None:
        self.monitor = monitor
        self.account = normalize_account(account)
        self.collateral_symbol = collateral_symbol
        self._heads: AsyncIterator[BlockHead] | None = None
        self._head: BlockHead | None = None

    async def read(self) -> LendingReading:
        snap = await self.monitor.snapshot([self.account], self._head)
        return reading(snap, self.collateral_symbol)

    async def next_block(self) -> int:
        if self._heads is None:
            self._heads = self.monitor.rpc.heads()
        self._head = await anext(self._heads)
        return self._head.number

    async def close(self) -> None:
        await self.monitor.rpc.close()
