"""The journal on a real SQLite file: what a restarted bot reads back."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path

import pytest

from bot.domain.alerts import Alert, AlertKind, Severity
from bot.domain.orders import Fill, OrderStatus, Side
from bot.domain.plan import FLAT
from bot.domain.snapshot import HedgeView, LendingView, Snapshot
from bot.journal.aio import AsyncJournal
from bot.journal.journal import FundingPayment, Journal, JournalError, OrderState, SnapshotSummary
from bot.journal.schema import LATEST_VERSION, MIGRATIONS, migrate
from bot.venues.ccxt.registry import builtin_instrument
from tests.journal.fixtures import ack, entry, plan, stop, summary


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal.open(tmp_path / "journal.sqlite")


def test_a_new_journal_is_migrated_in_wal_with_full_fsync(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "j.sqlite", now_ms=5) as j:
        assert j.schema_version() == LATEST_VERSION
        assert j.rows("PRAGMA journal_mode")[0][0] == "wal"
        assert j.rows("PRAGMA synchronous")[0][0] == 2  # FULL
        assert j.rows("SELECT applied_ms FROM schema_version")[0][0] == 5
    # Opening again applies nothing twice.
    with Journal.open(tmp_path / "j.sqlite", now_ms=9) as j:
        assert [tuple(r) for r in j.rows("SELECT version, applied_ms FROM schema_version")] == [
            (1, 5),
            (2, 5),
            (3, 5),
            (4, 5),
            (5, 5),
        ]


def test_an_older_journal_is_migrated_in_order_and_keeps_its_rows(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "j.sqlite", isolation_level=None)
    migrate(conn, now_ms=1, migrations=MIGRATIONS[:1])
    conn.execute(
        "INSERT INTO snapshots (ts_ms, health_factor, liquidation_price_usd, distance_to_liquidation, "
        "collateral_asset, collateral_price_usd, debt_usd, btc_price, hedge_contracts, hedge_entry_price, "
        "hedge_equity_btc, funding_rate_8h) VALUES (7, 1.5, 2000, 0.3, 'WETH', 3000, 6000, 60000, -30, 61000, 0.05, 0)"
    )
    conn.close()
    with Journal.open(tmp_path / "j.sqlite", now_ms=2) as j:
        assert j.schema_version() == LATEST_VERSION == 5
        latest = j.latest_snapshot()
        assert latest is not None
        assert (latest.ts_ms, latest.hedge_contracts, latest.hedge_pnl_btc) == (7, -30, 0.0)
        assert latest.matches_chain is None  # a row from before the journal kept it: not known


def test_a_summary_carries_the_hedge_pnl_at_the_mark() -> None:
    snap = Snapshot(
        now_ms=1_000,
        btc_price=50_000.0,
        lending=LendingView(
            collateral_asset="WETH",
            collateral_amount=2.0,
            collateral_price_usd=3_000.0,
            total_collateral_usd=6_000.0,
            debt_usd=3_000.0,
            health_factor=1.65,
            liquidation_price_usd=1_818.0,
            liquidation_threshold=0.825,
        ),
        hedge=HedgeView(contracts=-100, entry_price=60_000.0, equity_btc=0.1),
        instrument=builtin_instrument("binancecoinm"),
    )
    s = SnapshotSummary.of(snap)
    # Short 100 x 100 USD from 60k to 50k: 10 000 * (1/50k - 1/60k) BTC.
    assert s.hedge_pnl_btc == pytest.approx(10_000 * (1 / 50_000 - 1 / 60_000))
    assert (s.health_factor, s.hedge_contracts, s.collateral_asset) == (1.65, -100, "WETH")


def test_a_journal_from_a_newer_hedgebot_is_refused(tmp_path: Path) -> None:
    Journal.open(tmp_path / "j.sqlite").close()
    conn = sqlite3.connect(tmp_path / "j.sqlite")
    conn.execute("INSERT INTO schema_version VALUES (99, 0, 'from the future')")
    conn.commit()
    conn.close()
    with pytest.raises(JournalError, match="newer than this hedgebot"):
        Journal.open(tmp_path / "j.sqlite")


def test_decision_numbers_and_strategy_state_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal.open(path) as j:
        assert j.last_decision_seq() == 0
        assert j.load_strategy_state() is None
        snap_id = j.record_snapshot(summary(1_000))
        first = j.record_decision(1_000, "dynamic", plan(30, n=1), snap_id)
        second = j.record_decision(2_000, "dynamic", plan(40, n=2))
        assert second == first + 1
        j.rows("SELECT 1")  # reads do not disturb anything
        with j._tx() as conn:  # even if old decisions are pruned, their numbers are never given again
            conn.execute("DELETE FROM strategy_state")
            conn.execute("DELETE FROM decisions")
    with Journal.open(path) as j:
        assert j.last_decision_seq() == second
        third = j.record_decision(3_000, "dynamic", plan(50, n=3))
        assert third == second + 1
        saved = j.load_strategy_state()
        assert saved is not None
        assert (saved.decision_seq, saved.strategy, dict(saved.state)) == (
            third,
            "dynamic",
            {"n": 3, "armed": True, "last_hf": 1.4},
        )
        latest = j.latest_decision()
        assert latest is not None
        assert latest.plan == plan(50, n=3)
        assert latest.reason == "HF 1.4 below 1.5: hedge 50 contracts"


def test_intents_recorded_before_sending_are_listed_until_the_venue_answers(journal: Journal) -> None:
    seq = journal.record_decision(1_000, "dynamic", plan(30))
    e, s = entry(seq), stop(seq)
    journal.record_intents(seq, [e, s], ts_ms=1_001)
    intents = journal.unacknowledged_intents()
    assert [(i.client_id, i.decision_seq, i.request) for i in intents] == [(e.client_id, seq, e), (s.client_id, seq, s)]

    journal.record_order(ack(e, OrderStatus.FILLED, filled=30), ts_ms=1_002)
    assert [i.client_id for i in journal.unacknowledged_intents()] == [s.client_id]
    # After a crash the stop was looked up on the venue and not found.
    assert journal.mark_not_sent(s.client_id, ts_ms=1_003)
    assert journal.unacknowledged_intents() == []
    record = journal.order(e.client_id)
    assert record is not None
    assert (record.state, record.filled_contracts, record.average_price) == (OrderState.FILLED, 30, 60_000.0)
    assert record.venue_id is not None


def test_re_recording_a_live_intent_is_a_no_op_but_a_reused_id_after_cancel_is_a_new_order(journal: Journal) -> None:
    seq = journal.record_decision(1_000, "dynamic", plan(30))
    s = stop(seq)
    journal.record_intents(seq, [s], 1_001)
    journal.record_intents(seq, [s], 1_002)
    assert len(journal.unacknowledged_intents()) == 1
    journal.record_order(ack(s), 1_003)
    journal.set_order_state(s.client_id, OrderState.CANCELED, 1_004, "stop replaced")
    journal.record_intents(seq, [s], 1_005)
    assert [o.state for o in journal.orders()] == [OrderState.CANCELED, OrderState.INTENT]
    assert journal.set_order_state("hbXunknown", OrderState.CANCELED, 1_006) is False


def test_an_order_of_ours_the_journal_never_saw_is_adopted(journal: Journal) -> None:
    journal.record_order(ack(stop(7)), ts_ms=5_000, detail="adopted at start-up")
    (record,) = journal.orders(states=[OrderState.OPEN])
    assert (record.client_id, record.decision_seq, record.detail) == (stop(7).client_id, None, "adopted at start-up")
    assert record.request == stop(7)


def test_fills_and_funding_are_counted_once(journal: Journal) -> None:
    fill = Fill("hbE1", Side.SELL, 30, 60_000.0, 0.00002, 1_000)
    assert journal.record_fills([fill, Fill("hbE1", Side.SELL, 10, 60_010.0, 0.00001, 1_000)]) == 2
    assert journal.record_fills([fill]) == 0  # an overlapping re-read after a restart
    assert journal.last_fill_ms() == 1_000
    assert journal.record_funding(FundingPayment(8 * 3_600_000, 0.0001, 0.0001, -30))
    assert not journal.record_funding(FundingPayment(8 * 3_600_000, 0.0001, 0.0001, -30))
    assert journal.record_funding(FundingPayment(16 * 3_600_000, -0.00004, -0.00004, -30))
    assert journal.funding_total_btc() == pytest.approx(0.00006)


def test_a_snapshot_without_debt_reads_back_with_its_infinities(journal: Journal) -> None:
    assert journal.latest_snapshot() is None
    no_debt = summary(1_000, health_factor=math.inf)
    journal.record_snapshot(no_debt)
    assert journal.latest_snapshot() == no_debt


def test_alerts_are_journaled(journal: Journal) -> None:
    alert = Alert(AlertKind.HEALTH, "health-below-1.15", Severity.WARNING, "health factor 1.1 fell below 1.15", 7)
    journal.record_alert(alert, "sent")
    assert [tuple(r) for r in journal.rows("SELECT kind, key, outcome FROM alerts")] == [
        ("health", "health-below-1.15", "sent")
    ]


def test_a_reader_sees_a_running_writer_and_never_creates_a_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with pytest.raises(JournalError, match="no journal at"):
        Journal.open_readonly(path)
    assert not path.exists()
    writer = Journal.open(path)
    writer.record_decision(1_000, "dynamic", FLAT)
    with Journal.open_readonly(path) as reader:
        assert reader.last_decision_seq() == 1
        writer.record_decision(2_000, "dynamic", FLAT)
        assert reader.last_decision_seq() == 2
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.record_decision(3_000, "dynamic", FLAT)
    writer.close()
    with Journal.open_readonly(path) as reader:  # after the writer is gone too
        assert reader.latest_decision() is not None


async def test_the_async_journal_keeps_the_engines_order(tmp_path: Path) -> None:
    aj = await AsyncJournal.open(tmp_path / "j.sqlite", now_ms=1)
    try:
        seq = await aj.record_decision(1_000, "dynamic", plan(30))
        await aj.record_intents(seq, [entry(seq)], 1_001)
        assert [i.client_id for i in await aj.unacknowledged_intents()] == [entry(seq).client_id]
        await aj.record_order(ack(entry(seq), OrderStatus.FILLED, 30), 1_002)
        assert await aj.unacknowledged_intents() == []
        assert await aj.last_decision_seq() == seq
        assert len(await aj.call(Journal.orders, states=[OrderState.FILLED])) == 1
    finally:
        await aj.close()
