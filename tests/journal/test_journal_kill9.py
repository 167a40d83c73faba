"""kill -9 in the middle of journaling: the journal opens consistent, keeps every reported commit, no half decision."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from bot.journal.journal import Journal, OrderState
from tests.conftest import REPO

ROUNDS = 3
COMMITS_BEFORE_KILL = 60


def _run_and_kill(db: Path, after_seq: int) -> int:
    """Start the writer, SIGKILL it once it reports `after_seq`; return the last seq it reported."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.journal.writer", str(db)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    last = 0
    try:
        for line in proc.stdout:  # wait on the writer's own reports, not on a timer
            last = int(line)
            if last >= after_seq:
                proc.send_signal(signal.SIGKILL)  # it is still writing the next decision
                break
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    return last


def test_the_journal_survives_kill_9_mid_run(tmp_path: Path) -> None:
    db = tmp_path / "journal.sqlite"
    reported = 0
    for _ in range(ROUNDS):
        reported = _run_and_kill(db, reported + COMMITS_BEFORE_KILL)

        with Journal.open(db) as journal:
            assert journal.integrity_problems() == []
            # Durable: every decision the writer saw committed is there.
            last_seq = journal.last_decision_seq()
            assert last_seq >= reported
            # Atomic: the strategy state moved with its decision.
            saved = journal.load_strategy_state()
            assert saved is not None
            assert saved.decision_seq == last_seq
            assert saved.state["n"] == journal.rows("SELECT ts_ms FROM decisions WHERE seq = ?", (last_seq,))[0][0]
            # Atomic: a decision has all three of its intents or (only the newest) none.
            counts: dict[int, int] = {
                row[0]: row[1]
                for row in journal.rows(
                    "SELECT d.seq, COUNT(o.id) FROM decisions d LEFT JOIN orders o ON o.decision_seq = d.seq "
                    "GROUP BY d.seq"
                )
            }
            assert set(counts[s] for s in counts if s < last_seq) == {3}
            assert counts[last_seq] in (0, 3)
            # No half-written row: every stored plan and request parses; every ack came after an intent.
            for (plan_json,) in journal.rows("SELECT plan_json FROM decisions"):
                json.loads(plan_json)
            for record in journal.orders(states=[OrderState.FILLED]):
                assert record.venue_id is not None
            # What the restarted engine would look up on the venue, by client id, before trading.
            pending = journal.unacknowledged_intents()
            assert {i.decision_seq for i in pending} <= set(counts)
        reported = max(reported, last_seq)
