"""`hedgebot journal`, `hedgebot status` and `hedgebot kill`, as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import structlog

from bot import log as bot_log
from bot.cli import main
from bot.commands.journal_cmd import parse_since
from bot.domain.alerts import Alert, AlertKind, Severity
from bot.domain.orders import Fill, OrderStatus, Side
from bot.errors import UsageError
from bot.journal.aio import AsyncJournal
from bot.journal.journal import FundingPayment, Journal
from bot.ops.http import StatusServer
from bot.ops.kill import Killed, KillSwitch, kill_file_for, refuse_if_killed, write_kill_file
from bot.ops.metrics import Metrics
from bot.ops.status_text import status_rows
from tests.journal.fixtures import ack, entry, plan, stop, summary
from tests.ops.test_http import NOW_MS, TOKEN, board

T0 = 1_790_000_000_000  # 2026-09-21T...


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A clean working directory and environment; the journal lives at HEDGEBOT_DB_PATH."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("HEDGEBOT_"):
            monkeypatch.delenv(name)
    db = tmp_path / "bot.sqlite"
    monkeypatch.setenv("HEDGEBOT_DB_PATH", str(db))
    monkeypatch.setenv("HEDGEBOT_HTTP_PORT", "1")  # nothing listens there: status falls back to the journal
    # The bot's own log lines go to stderr, as `hedgebot run` sends them, so stdout holds only the answer.
    bot_log.configure("console", "info", sys.stderr)
    yield db
    structlog.reset_defaults()


def fill_journal(db: Path) -> None:
    with Journal.open(db) as j:
        snap_id = j.record_snapshot(summary(T0, health_factor=1.21))
        seq = j.record_decision(T0 + 1, "dynamic", plan(30), snap_id)
        j.record_intents(seq, [entry(seq), stop(seq)], T0 + 2)
        j.record_order(ack(entry(seq), OrderStatus.FILLED, 30), T0 + 3)
        j.record_order(ack(stop(seq)), T0 + 3)
        j.record_fills([Fill(entry(seq).client_id, Side.SELL, 30, 60_000.0, 0.00002, T0 + 3)])
        j.record_funding(FundingPayment(T0 + 3_600_000, -0.00001, -0.0001, -30))
        j.record_alert(
            Alert(AlertKind.HEDGE, "hedge-placed-30", Severity.INFO, "hedge placed: short 30", T0 + 4), "sent"
        )


def test_journal_prints_what_happened_in_order(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill_journal(env)
    assert main(["journal"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines] == ["decision", "order", "order", "fill", "alert", "funding"]
    assert "#1 dynamic -> 30 contracts: HF 1.4 below 1.5" in lines[0]
    assert "buy stop_market 30 @ 66,000.0 reduce-only [open] (decision #1)" in lines[2]
    assert "paid 0.00001000 BTC" in lines[5]


def test_journal_json_since_and_kinds(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill_journal(env)
    assert main(["journal", "--json", "--since", str(T0 + 3), "--kind", "fill", "--kind", "funding"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [e["kind"] for e in doc] == ["fill", "funding"]
    assert doc[0]["contracts"] == 30 and doc[0]["time"].endswith("Z")
    assert main(["journal", "--json", "--kind", "snapshot", "--kind", "order", "--limit", "2"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [(e["kind"], e["state"]) for e in doc] == [("order", "filled"), ("order", "open")]
    assert doc[1]["request"]["trigger_price"] == 66_000.0


@pytest.mark.parametrize("matches", [True, False])
def test_journal_and_status_read_matches_chain_from_the_journal(
    env: Path, capsys: pytest.CaptureFixture[str], matches: bool
) -> None:
    """What the bot decided on is journaled with whether its replica matched the Pool: `journal --json` and
    `status` read from the journal show it (they showed null before the journal kept it)."""
    with Journal.open(env) as j:
        j.record_snapshot(replace(summary(T0), matches_chain=matches))
    assert main(["journal", "--json", "--kind", "snapshot"]) == 0
    (event,) = json.loads(capsys.readouterr().out)
    assert event["matches_chain"] is matches
    assert main(["status", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["source"] == "journal" and doc["position"]["matches_chain"] is matches
    rows = dict(status_rows(doc))
    assert rows["matches_chain"].startswith("yes" if matches else "NO")


def test_journal_without_a_journal_says_where_it_looked(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["journal"]) == 1
    assert f"no journal at {env}" in capsys.readouterr().err
    assert not env.exists()


def test_since_takes_durations_iso_times_and_epoch_ms() -> None:
    now = 1_000_000_000_000
    assert parse_since("90s", now) == now - 90_000
    assert parse_since("2h", now) == now - 7_200_000
    assert parse_since("1.5d", now) == now - 129_600_000
    assert parse_since("2026-01-01T00:00", now) == 1_767_225_600_000
    assert parse_since("2026-01-01T01:00+01:00", now) == 1_767_225_600_000
    assert parse_since("1767225600000", now) == 1_767_225_600_000
    with pytest.raises(UsageError, match="not a time"):
        parse_since("yesterday", now)


def test_status_falls_back_to_the_journal_when_the_bot_is_down(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill_journal(env)
    assert main(["status", "--json"]) == 0
    captured = capsys.readouterr()
    assert "nothing answered at http://127.0.0.1:1" in captured.err
    doc = json.loads(captured.out)
    assert doc["source"] == "journal"
    assert doc["position"]["health_factor"] == 1.21
    assert doc["hedge"]["stops"] == [{"price": 66_000.0, "contracts": 30}]
    assert doc["hedge"]["funding_paid_btc"] == pytest.approx(0.00001)
    assert doc["last_decision"]["seq"] == 1
    assert main(["status", "--db", str(env)]) == 0
    screen = capsys.readouterr().out
    assert "from the journal" in screen
    assert "health factor" in screen and "1.210" in screen
    assert "buy 30 @ 66,000.0" in screen


async def test_status_and_kill_talk_to_the_running_bot(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, kill = board(), KillSwitch()
    server = StatusServer(status, Metrics(status, lambda: NOW_MS), kill, token=TOKEN, port=0, clock_ms=lambda: NOW_MS)
    await server.start()
    monkeypatch.setenv("HEDGEBOT_HTTP_PORT", str(server.port))
    try:
        # The CLI is synchronous: run it off the loop that serves it.
        assert await asyncio.to_thread(main, ["status"]) == 2  # no token yet
        assert "asks for a token" in capsys.readouterr().err
        monkeypatch.setenv("HEDGEBOT_HTTP_TOKEN", TOKEN)
        assert await asyncio.to_thread(main, ["status"]) == 0
        screen = capsys.readouterr().out
        assert "running bot at http://127.0.0.1:" in screen and "mode dry-run" in screen
        assert "short 30 contracts @ 61,000.0" in screen
        assert "mark 90.0 s ago, limit 10 s STALE" in screen
        assert await asyncio.to_thread(main, ["kill", "--reason", "going manual", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["via"] == "http"
        assert (await kill.wait()).reason == "going manual"
    finally:
        await server.stop()
    assert not kill_file_for(env).exists()


async def test_kill_is_journaled_and_written_to_the_kill_file_when_nothing_answers(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill_journal(env)
    assert main(["kill", "--reason", "http is off"]) == 0
    assert f"kill journaled in {env} and written to {kill_file_for(env)}" in capsys.readouterr().out
    # A running bot sees the file within a second; a restarted one finds the kill in the journal.
    switch = KillSwitch(kill_file_for(env))
    request = await switch.poll_file(now_ms=5)
    assert request is not None and (request.reason, request.source) == ("http is off", "file")
    assert await KillSwitch(None).poll_file(5) is None
    with Journal.open(env) as j:
        killed = j.control_state().killed
    assert killed is not None and (killed.source, killed.reason) == ("cli", "http is off")


def test_kill_with_no_journal_says_there_is_nothing_to_kill(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """B5: it used to print "wrote hedgebot.sqlite.kill: the bot halts when it next checks" and exit 0."""
    assert main(["kill"]) == 1
    err = capsys.readouterr().err
    assert f"no journal at {env}" in err and "nothing to kill" in err
    assert not kill_file_for(env).exists()
    assert main(["kill", "--clear"]) == 1


def test_a_kill_holds_across_restarts_by_every_route_until_cleared(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """B4: a kill by HTTP, CLI or file is journaled; a restart refuses to trade until `kill --clear`."""
    fill_journal(env)
    refuse_if_killed(env, T0)  # nothing in force yet

    async def over_http() -> None:
        journal = await AsyncJournal.open(env, T0)
        status = board()
        kill = KillSwitch(persist=lambda r: journal.record_control("kill", r.source, r.reason, r.ts_ms))
        server = StatusServer(status, Metrics(status, lambda: NOW_MS), kill, port=0, clock_ms=lambda: NOW_MS)
        await server.start()
        try:
            answer = await asyncio.to_thread(main, ["kill", "--url", server.url, "--reason", "by http", "--json"])
            assert answer == 0
        finally:
            await server.stop()
            await journal.close()

    asyncio.run(over_http())
    capsys.readouterr()
    with pytest.raises(Killed, match="by http; the bot will not trade until the kill is cleared") as refused:
        refuse_if_killed(env, T0)
    assert refused.value.exit_code == 3
    assert main(["status", "--db", str(env), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kill_requested"] is True and doc["kill"]["source"] == "http"

    assert main(["kill", "--clear", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["cleared"] is True
    refuse_if_killed(env, T0)

    # A kill file alone (a person touched it, no bot read it): the restart journals it and refuses.
    write_kill_file(kill_file_for(env), "touched by hand", T0)
    with pytest.raises(Killed, match="by file: touched by hand"):
        refuse_if_killed(env, T0)
    assert main(["kill", "--clear"]) == 0
    assert "kill cleared" in capsys.readouterr().out
    assert not kill_file_for(env).exists()
    refuse_if_killed(env, T0)


def test_run_refuses_to_start_while_killed_with_a_message_and_exit_3(env: Path) -> None:
    fill_journal(env)
    assert main(["kill", "--reason", "manual takeover"]) == 0
    out = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"], capture_output=True, text=True, timeout=60, env={**os.environ}
    )
    assert out.returncode == 3, out.stderr
    assert "killed at" in out.stderr and "manual takeover" in out.stderr and "hedgebot kill --clear" in out.stderr
    assert "Traceback" not in out.stderr
