"""The journal follows each of our orders past its acknowledgement: filled, cancelled, expired, by whom.

An order acknowledged as open (a resting stop, a conditional entry, a limit) changes on the venue without
the bot doing anything: a stop fills or expires, the exchange's liquidation cancels everything. On each
account read the orders the journal holds open are compared with the ones the venue lists open; each one
gone is looked up once by client id and its final state journaled. Fills the venue reports without a
client id (filled while the bot was down) are matched to our orders by the venue's order id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.clock import Clock
from bot.domain.orders import AccountState, Fill, Order, OrderStatus
from bot.errors import VenueError
from bot.journal.aio import AsyncJournal
from bot.journal.records import OrderState
from bot.log import get_logger
from bot.venues.base import Venue

log = get_logger("hedgebot.tracking")


async def follow_orders(venue: Venue, journal: AsyncJournal, account: AccountState, clock: Clock) -> list[Order]:
    """Journal the final state of each order the journal holds open and `account` no longer lists; those orders."""
    listed = {o.client_id for o in account.open_orders}
    held = await journal.call(lambda j: j.orders((OrderState.OPEN,)))
    done: list[Order] = []
    for record in held:
        if record.client_id in listed:
            continue
        try:
            order = await venue.find(record.client_id)
        except VenueError as exc:  # the next read tries again
            log.warning("could not look up an order gone from the open list", client_id=record.client_id, err=str(exc))
            continue
        if order is None:
            await journal.set_order_state(record.client_id, OrderState.CANCELED, clock(), "gone from the venue")
            continue
        if order.status is OrderStatus.OPEN:
            continue  # placed after the read: the next one lists it
        await journal.record_order(order, clock(), f"{order.status.value} on the venue")
        done.append(order)
    return done


async def name_fills(journal: AsyncJournal, fills: Sequence[Fill]) -> list[Fill]:
    """`fills`, each without a client id given the one the journal holds for its venue order id, if any."""
    out = []
    for fill in fills:
        if not fill.client_id and fill.venue_order_id:
            vid = fill.venue_order_id
            rows = await journal.call(
                lambda j, vid=vid: j.rows(  # type: ignore[misc]
                    "SELECT client_id FROM orders WHERE venue_id = ? ORDER BY id DESC LIMIT 1", (vid,)
                )
            )
            if rows:
                fill = replace(fill, client_id=rows[0]["client_id"])
        out.append(fill)
    return out
