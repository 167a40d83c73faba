"""The hedge's funding ledger: payments read from the venue, journaled once, and their running total."""

from __future__ import annotations

from bot.journal.aio import AsyncJournal
from bot.venues.base import Venue


class FundingLedger:
    """Where to read the venue's funding history from next, and the net funding the hedge has paid."""

    def __init__(self) -> None:
        self.since_ms = 0
        self.paid_btc = 0.0  # positive: the hedge paid funding (the status board's sign); negative: received

    async def resume(self, journal: AsyncJournal) -> None:
        """Start from the journal: read after its newest payment, with its total."""
        last = await journal.last_funding_ms()
        self.since_ms = last + 1 if last else 0
        self.paid_btc = -(await journal.funding_total_btc())

    async def sync(self, venue: Venue, journal: AsyncJournal) -> int:
        """Journal the venue's new payments and add them to the total; how many were new."""
        since = self.since_ms
        fresh = [p for p in await venue.funding(since) if p.ts_ms >= since]
        new = 0
        for payment in fresh:
            # The journal skips a payment it already has: only new ones count towards the total.
            if await journal.record_funding(payment):
                self.paid_btc -= payment.amount_btc
                new += 1
        if fresh:
            self.since_ms = max(p.ts_ms for p in fresh) + 1
        return new
