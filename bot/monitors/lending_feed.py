"""The Aave monitor as the engine's LendingFeed: one watched account, all of it.

Every collateral and every debt of the account enters the view, each with its beta to BTC (the engine
measures them: `betas`); the collateral HEDGEBOT_CHAIN__COLLATERAL_ASSET names gives the single-collateral
fields and the price the collateral trigger follows.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Callable, Mapping

from bot.domain.lending.account import AccountHealth
from bot.domain.lending.betas import AssetBeta, fallback_beta
from bot.domain.lending.health import bounded_liquidation_price
from bot.domain.snapshot import AssetExposure, LendingView
from bot.errors import UsageError
from bot.log import get_logger
from bot.monitors.aave import AaveMonitor, HealthSnapshot, normalize_account
from bot.monitors.rpc import BlockHead
from bot.runtime.feeds import LendingReading

log = get_logger("hedgebot.lending")

# Reserves whose oracle price is a BTC price, for the exchange-vs-oracle divergence check.
BTC_SYMBOLS = ("WBTC", "cbBTC", "BTCB", "tBTC", "BTC.b")

Betas = Mapping[str, AssetBeta]


def _beta(betas: Betas | None, symbol: str) -> AssetBeta:
    found = (betas or {}).get(symbol.upper())
    return found if found is not None else fallback_beta(symbol)


def lending_view(health: AccountHealth, collateral_symbol: str, betas: Betas | None = None) -> LendingView:
    """The engine's view of the whole of `health`; its single-collateral fields are `collateral_symbol`'s (the
    largest collateral's when the account holds none of it). `betas` by upper-case symbol; the class fallback
    for any missing.

    When the replica disagrees with the Pool (`matches_chain` false: a fork or a release whose math it
    does not follow), its liquidation prices are not traded on: the view carries the bound from the
    Pool's own HF instead, which is never below the true one (the reading says so: `matches_chain`).
    """
    if not health.collaterals:
        raise UsageError(f"account {health.account} has no collateral: nothing to hedge")

    def liquidation(price_usd: float, liq: float | None) -> float:
        if not health.matches_chain:
            return bounded_liquidation_price(price_usd, health.health_factor)
        return math.nan if liq is None else liq

    def exposure(symbol: str, amount: float, price_usd: float, **lending: float) -> AssetExposure:
        beta = _beta(betas, symbol)
        return AssetExposure(
            symbol=symbol, amount=amount, price_usd=price_usd, beta=beta.beta, beta_source=beta.source, **lending
        )

    collaterals = tuple(
        exposure(
            c.symbol,
            c.amount,
            c.price_usd,
            liquidation_threshold=c.liquidation_threshold,
            liquidation_price_usd=liquidation(c.price_usd, c.liquidation_price_usd),
        )
        for c in health.collaterals
    )
    debts = tuple(exposure(d.symbol, d.amount, d.price_usd) for d in health.debts)
    leg = next((c for c in collaterals if c.symbol.upper() == collateral_symbol.upper()), None)
    if leg is None:
        leg = max(collaterals, key=lambda c: c.value_usd)
    return LendingView(
        collateral_asset=leg.symbol,
        collateral_amount=leg.amount,
        collateral_price_usd=leg.price_usd,
        total_collateral_usd=health.total_collateral_usd,
        debt_usd=health.total_debt_usd,
        health_factor=health.health_factor,
        liquidation_price_usd=leg.liquidation_price_usd,
        liquidation_threshold=leg.liquidation_threshold,
        collaterals=collaterals,
        debts=debts,
        market_wide_fall=health.market_wide_fall,
        hedgeable=health.total_debt_usd <= 0 or health.hedgeable_with_a_short,
    )


def reading(snap: HealthSnapshot, collateral_symbol: str, betas: Betas | None = None) -> LendingReading:
    """The engine's LendingReading of the first account in `snap`."""
    health = snap.accounts[0]
    view = lending_view(health, collateral_symbol, betas)
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
    """Reads one account per block: one batched request (two when no head came by subscription).

    `betas` gives each asset's beta to BTC as the engine measures it (None: every asset at its class's
    fallback); the market-wide fall is computed with them.
    """

    def __init__(
        self,
        monitor: AaveMonitor,
        account: str,
        collateral_symbol: str,
        betas: Callable[[], Betas] | None = None,
    ) -> None:
        self.monitor = monitor
        self.account = normalize_account(account)
        self.collateral_symbol = collateral_symbol
        self.betas = betas
        self._heads: AsyncIterator[BlockHead] | None = None
        self._head: BlockHead | None = None
        self._told_hedged = False

    async def read(self) -> LendingReading:
        betas = self.betas() if self.betas is not None else None
        # The market-wide fall at the very betas the view carries (the class fallback where none is measured).
        snap = await self.monitor.snapshot([self.account], self._head, betas=lambda s: _beta(betas, s).beta)
        got = reading(snap, self.collateral_symbol, betas)
        if got.lending.collateral_asset.upper() != self.collateral_symbol.upper() and not self._told_hedged:
            self._told_hedged = True
            log.warning(
                "the account holds no HEDGEBOT_CHAIN__COLLATERAL_ASSET collateral: its largest collateral drives "
                "the collateral trigger (the hedge covers the whole account either way)",
                collateral_asset=self.collateral_symbol,
                used=got.lending.collateral_asset,
            )
        return got

    async def next_block(self) -> int:
        if self._heads is None:
            self._heads = self.monitor.rpc.heads()
        self._head = await anext(self._heads)
        return self._head.number

    async def close(self) -> None:
        await self.monitor.rpc.close()
