"""Leaving the market: a stop cancels only our entries, a kill can close the short; another's order stays."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.domain.orders import OrderRequest, OrderType, Side
from bot.domain.plan import HedgePlan
from bot.journal.aio import AsyncJournal
from bot.paper import EngineSettings
from bot.runtime.executor import Executor
from bot.runtime.exits import ENTRIES, cancel_ours, close_hedge
from bot.runtime.recovery import recover
from bot.venues.ccxt.registry import builtin_instrument
from bot.venues.paper import PaperVenue, Quote
from bot.venues.reconcile import CONDITIONAL, ENTRY, STOP, client_id

T0 = 1_700_000_000_000
MARK = 60_000.0
FOREIGN = "manual-bid-1"  # a person's order on the same account


def clock() -> int:
    return T0


class SteadyMark:
    async def quote(self) -> Quote:
        return Quote(T0, MARK)


@dataclass
class Account:
    venue: PaperVenue
    journal: AsyncJournal
    executor: Executor

    async def open_ids(self) -> set[str]:
        return {o.client_id for o in (await self.venue.account()).open_orders}

    async def short(self) -> int:
        return -(await self.venue.account()).position.contracts


@pytest.fixture
async def account(tmp_path: Path) -> AsyncIterator[Account]:
    """A 30-contract short with its stop, a resting and a conditional entry of ours, and a foreign bid."""
    venue = PaperVenue.open(builtin_instrument("binancecoinm"), EngineSettings(leverage=5.0), 0.1, SteadyMark())
    journal = await AsyncJournal.open(tmp_path / "bot.sqlite", T0)
    # The hedge was put on by a decision: a kill's close goes on record under the last one.
    await journal.record_decision(T0, "test", HedgePlan(hedge_usd=3_000.0, contracts=30, leverage=5.0))
    for order in (
        OrderRequest(client_id("t", ENTRY, 1), Side.SELL, OrderType.MARKET, 30),
        OrderRequest(
            client_id("t", STOP, 1), Side.BUY, OrderType.STOP_MARKET, 30, trigger_price=66_000.0, reduce_only=True
        ),
        OrderRequest(client_id("t", ENTRY, 2), Side.SELL, OrderType.LIMIT, 10, price=65_000.0),
        OrderRequest(client_id("t", CONDITIONAL, 2), Side.SELL, OrderType.STOP_MARKET, 10, trigger_price=55_000.0),
        OrderRequest(FOREIGN, Side.BUY, OrderType.LIMIT, 5, price=50_000.0),
    ):
        await venue.place(order)
    yield Account(venue, journal, Executor(venue, journal, clock))
    await journal.close()


async def test_a_stop_cancels_our_entries_and_keeps_the_hedge_its_stop_and_the_foreign_order(
    account: Account,
) -> None:
    await cancel_ours(account.venue, account.journal, clock, ENTRIES)
    assert await account.open_ids() == {client_id("t", STOP, 1), FOREIGN}
    assert await account.short() == 30


async def test_a_kill_that_closes_buys_the_short_back_and_then_drops_its_stops(account: Account) -> None:
    await cancel_ours(account.venue, account.journal, clock, ENTRIES)
    assert await close_hedge(account.venue, account.journal, account.executor, "t")
    assert await account.short() == 0
    assert await account.open_ids() == {FOREIGN}
    assert not await close_hedge(account.venue, account.journal, account.executor, "t")  # nothing left to close


async def test_a_start_cancels_every_resting_entry_of_ours_before_anything_else(account: Account) -> None:
    """C5: entries left resting by a stop that could not reach the venue are cancelled at the next start; the
    protective stop is adopted and the foreign order left alone."""
    recovery = await recover(account.venue, account.journal, clock)
    assert await account.open_ids() == {client_id("t", STOP, 1), FOREIGN}
    assert {o.client_id for o in recovery.account.open_orders} == {client_id("t", STOP, 1), FOREIGN}
    assert [o.client_id for o in recovery.adopted] == [client_id("t", STOP, 1)]
    record = await account.journal.order(client_id("t", CONDITIONAL, 2))
    assert record is not None and record.state.value == "canceled"
    assert await account.short() == 30
