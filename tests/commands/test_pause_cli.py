"""`hedgebot pause` and `hedgebot resume`, as an operator runs them: over HTTP, or journaled when nothing answers."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from bot.cli import main
from bot.journal.aio import AsyncJournal
from bot.journal.journal import Journal
from bot.ops.http import StatusServer
from bot.ops.kill import KillSwitch
from bot.ops.metrics import Metrics
from bot.ops.pause import PauseSwitch
from tests.commands.test_ops_cli import T0, env, fill_journal
from tests.ops.test_http import NOW_MS, TOKEN, board

__all__ = ["env"]  # the fixture


def controls(db: Path) -> list[tuple[str, str, str]]:
    with Journal.open_readonly(db) as j:
        return [(r["action"], r["source"], r["reason"]) for r in j.rows("SELECT * FROM controls ORDER BY id")]


async def test_pause_and_resume_over_http_are_journaled_and_shown_by_status(
    env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fill_journal(env)
    journal = await AsyncJournal.open(env, T0)
    status = board()
    pause = PauseSwitch(persist=lambda r: journal.record_control(r.action, r.source, r.reason, r.ts_ms))
    metrics = Metrics(status, lambda: NOW_MS, pause=pause)
    server = StatusServer(status, metrics, KillSwitch(), port=0, token=TOKEN, clock_ms=lambda: NOW_MS, pause=pause)
    await server.start()
    monkeypatch.setenv("HEDGEBOT_HTTP_PORT", str(server.port))
    try:
        assert await asyncio.to_thread(main, ["pause"]) == 2  # no token
        assert "asks for a token" in capsys.readouterr().err
        assert not pause.paused
        monkeypatch.setenv("HEDGEBOT_HTTP_TOKEN", TOKEN)
        assert await asyncio.to_thread(main, ["pause", "--reason", "FOMC in 10 minutes"]) == 0
        assert "paused at http://127.0.0.1:" in capsys.readouterr().out
        assert await asyncio.to_thread(main, ["status", "--live", "--json"]) == 0
        doc = json.loads(capsys.readouterr().out)
        assert doc["paused"] is True
        assert doc["pause"] == {"source": "http", "reason": "FOMC in 10 minutes", "ts_ms": NOW_MS}
        assert await asyncio.to_thread(main, ["status"]) == 0
        assert "paused             yes: by http, FOMC in 10 minutes" in capsys.readouterr().out
        assert b"hedgebot_paused 1.0" in metrics.render()
        assert await asyncio.to_thread(main, ["pause", "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["changed"] is False
        assert await asyncio.to_thread(main, ["resume"]) == 0
        assert "resumed at" in capsys.readouterr().out
        # A form post (what another web page can send without a preflight) is refused, like /kill's.
        async with aiohttp.ClientSession() as http:
            headers = {"Authorization": f"Bearer {TOKEN}"}
            async with http.post(f"{server.url}/pause", data="reason=x", headers=headers) as resp:
                assert resp.status == 415
            async with http.post(f"{server.url}/pause", json={}, headers={"Authorization": "Bearer wrong"}) as resp:
                assert resp.status == 401
    finally:
        await server.stop()
        await journal.close()
    assert not pause.paused
    assert controls(env) == [("pause", "http", "FOMC in 10 minutes"), ("resume", "http", "hedgebot resume")]


def test_with_nothing_answering_the_pause_is_journaled_and_a_restart_starts_paused(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fill_journal(env)
    assert main(["pause", "--reason", "http is off"]) == 0
    captured = capsys.readouterr()
    assert "journaling the pause instead" in captured.err
    assert f"pause journaled in {env}" in captured.out
    assert main(["status", "--db", str(env), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["paused"] is True
    assert main(["status", "--live"]) == 1  # what a health check asks: the bot itself, not its journal
    assert "the bot is not running, or its endpoint is off" in capsys.readouterr().err
    with Journal.open(env) as j:
        held = j.control_state().paused
    restarted = PauseSwitch()
    restarted.restore(held)  # what `hedgebot run` does with the journal before its first decision
    assert restarted.paused
    assert main(["resume", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "via": "journal",
        "journal": str(env),
        "paused": False,
        "changed": True,
    }
    assert main(["resume"]) == 0
    assert "not paused" in capsys.readouterr().out
    assert controls(env) == [("pause", "cli", "http is off"), ("resume", "cli", "hedgebot resume")]


def test_pause_with_no_journal_says_there_is_nothing_to_pause(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pause"]) == 1
    assert f"no journal at {env}" in capsys.readouterr().err
