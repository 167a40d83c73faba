"""Start-up reconciliation: what the journal intended vs what the venue holds."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.domain.orders import AccountState, Order
from bot.journal.aio import AsyncJournal
from bot.journal.records import OrderState
from bot.runtime.exits import ENTRIES
from bot.venues.base import Venue
from bot.venues.reconcile import foreign_orders, is_ours, role_of


@dataclass(frozen=True, slots=True)
class Recovery:
    account: AccountState
    adopted: tuple[Order, ...]  # intents the venue did receive, and our open orders
    not_sent: tuple[str, ...]  # intents the venue never received (they are not resent)
    foreign: tuple[Order, ...]  # open orders on the instrument this bot did not place: reported, never touched


async def recover(venue: Venue, journal: AsyncJournal, clock: Clock) -> Recovery:
    """Resolve every unacknowledged intent by client id, cancel our resting entries, adopt our open orders (the
    stops), report foreign ones.

    An order sent just before a crash is found here and recorded, never sent again; one that never
    left is marked not sent, and the first decision plans afresh from the venue's real state.
    """
    adopted, not_sent = await resolve_intents(venue, journal, clock, "found on the venue after a restart")
    account = await venue.account()
    # Before anything else: no entry of ours rests from before this start (C5). A previous run could not cancel it
    # (the venue was down at its stop) or an older version rested it; left alone it can open a short the first
    # decision has not planned and no stop covers. The first decision places what its plan wants.
    stale = [o for o in account.open_orders if role_of(o.client_id) in ENTRIES]
    for order in stale:
        if await journal.order(order.client_id) is None:
            await journal.record_order(order, clock(), "ours by client id, found resting at start")
        await venue.cancel(order.client_id)
        await journal.set_order_state(order.client_id, OrderState.CANCELED, clock(), "resting entry cancelled at start")
    if stale:
        account = await venue.account()
    known = {o.client_id for o in adopted}
    for order in account.open_orders:
        if is_ours(order) and order.client_id not in known and await journal.order(order.client_id) is None:
            await journal.record_order(order, clock(), "adopted: ours by client id, not in the journal")
            adopted.append(order)
    return Recovery(account, tuple(adopted), tuple(not_sent), tuple(foreign_orders(account.open_orders)))


async def resolve_intents(
    venue: Venue, journal: AsyncJournal, clock: Clock, found: str = "found on the venue"
) -> tuple[list[Order], list[str]]:
    """Every journaled intent with no answer, looked up by client id: recorded as the venue has it, or not sent.

    At start (a crash between send and answer), and in a running bot before the decision after one whose venue
    gave up retrying (C8), so no intent stays open until the next restart.
    """
    adopted: list[Order] = []
    not_sent: list[str] = []
    for intent in await journal.unacknowledged_intents():
        order = await venue.find(intent.client_id)
        if order is None:
            await journal.mark_not_sent(intent.client_id, clock())
            not_sent.append(intent.client_id)
        else:
            await journal.record_order(order, clock(), found)
            adopted.append(order)
    return adopted, not_sent
