"""A bot stand-in for the kill -9 test: journals decisions as fast as it can and prints each committed seq.

Each round does what the engine does per decision: a snapshot, the decision with its strategy state,
the intents of all its orders in one transaction, then the venue's answer to the first.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bot.domain.orders import Fill, OrderStatus, Side
from bot.journal.journal import Journal
from tests.journal.fixtures import ack, entry, plan, stop, summary


def main(path: Path) -> None:
    journal = Journal.open(path)
    while True:
        ts = journal.last_decision_seq() + 1
        snap_id = journal.record_snapshot(summary(ts))
        seq = journal.record_decision(ts, "dynamic", plan(30, n=ts), snap_id)
        orders = [entry(seq), stop(seq), stop(seq, 10)]
        journal.record_intents(seq, orders, ts)
        journal.record_order(ack(orders[0], OrderStatus.FILLED, 30), ts)
        journal.record_fills([Fill(orders[0].client_id, Side.SELL, 30, 60_000.0, 0.00002, ts)])
        print(seq, flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
