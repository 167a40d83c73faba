"""Start-up reconciliation: what the journal intended vs what the venue holds."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.domain.orders import AccountState, Order
from bot.journal.aio import AsyncJournal
from bot.venues.base import Venue
from bot.venues.reconcile import foreign_orders, is_ours


@dataclass(frozen=True, slots=True)
class Recovery:
    account: AccountState
    adopted: tuple[Order, ...]  # intents the venue did receive, and our open orders
    not_sent: tuple[str, ...]  # intents the venue never received (they are not resent)
    foreign: tuple[Order, ...]  # open orders on the instrument this bot did not place: reported, never touched


async def recover(venue: Venue, journal: AsyncJournal, clock: Clock) -> Recovery:
    """Resolve every unacknowledged intent by client id, adopt our open orders, report foreign ones.

    An order sent just before a crash is found here and recorded, never sent again; one that never
    left is marked not sent, and the first decision plans afresh from the venue's real state.
    """
    adopted: list[Order] = []
    not_sent: list[str] = []
    for intent in await journal.unacknowledged_intents():
        order = await venue.find(intent.client_id)
        if order is None:
            await journal.mark_not_sent(intent.client_id, clock())
            not_sent.append(intent.client_id)
        else:
            await journal.record_order(order, clock(), "found on the venue after a restart")
            adopted.append(order)
    account = await venue.account()
    known = {o.client_id for o in adopted}
    for order in account.open_orders:
        if is_ours(order) and order.client_id not in known and await journal.order(order.client_id) is None:
            await journal.record_order(order, clock(), "adopted: ours by client id, not in the journal")
            adopted.append(order)
    return Recovery(account, tuple(adopted), tuple(not_sent), tuple(foreign_orders(account.open_orders)))
