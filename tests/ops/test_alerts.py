"""Alerts over real HTTP to a local receiver: delivered, deduplicated, paced, never raised, secrets never logged."""

from __future__ import annotations

import io
import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog

from bot import log as bot_log
from bot.config import AlertSettings
from bot.domain.alerts import Alert, AlertKind, Severity
from bot.journal.journal import Journal
from bot.ops.alerts import Alerter, TelegramSender, WebhookSender, rules_from_settings
from tests.http_receiver import Receiver

TOKEN = "123456789:AAHsecret-telegram-token-xyz"
WEBHOOK_SECRET = "T000/B000/hooksecretXYZ"


def hf_alert(key: str = "health-below-1.15", ts_ms: int = 1) -> Alert:
    return Alert(AlertKind.HEALTH, key, Severity.WARNING, "health factor 1.120 fell below 1.15", ts_ms)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = await Receiver().start()
    yield r
    await r.stop()


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    bot_log.configure("json", "debug", stream)
    yield stream
    structlog.reset_defaults()


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


async def test_an_alert_reaches_the_webhook_and_telegram(receiver: Receiver) -> None:
    settings = AlertSettings(
        webhook_url=f"{receiver.url}/hooks/{WEBHOOK_SECRET}",
        telegram_token=TOKEN,
        telegram_chat_id="-100200300",
    )
    async with Alerter.from_settings(settings, telegram_base_url=receiver.url) as alerter:
        assert await alerter.send(hf_alert()) == "sent"
    by_path = {r.path: r.body for r in await receiver.wait_for(2)}
    hook = by_path[f"/hooks/{WEBHOOK_SECRET}"]
    assert (hook["kind"], hook["key"], hook["severity"]) == ("health", "health-below-1.15", "warning")
    assert "fell below 1.15" in hook["text"]
    telegram = by_path[f"/bot{TOKEN}/sendMessage"]
    assert telegram["chat_id"] == "-100200300"
    assert "health factor 1.120 fell below 1.15" in telegram["text"]
    assert alerter.stats.sent == 1


async def test_the_same_alert_is_sent_once_per_interval(receiver: Receiver) -> None:
    clock = FakeClock()
    async with Alerter([WebhookSender(receiver.url)], min_interval_s=60, max_per_minute=0, clock=clock) as alerter:
        assert await alerter.send(hf_alert(ts_ms=1)) == "sent"
        clock.now += 59
        assert await alerter.send(hf_alert(ts_ms=2)) == "suppressed"
        assert await alerter.send(hf_alert("health-below-1.05", ts_ms=3)) == "sent"  # another key
        clock.now += 2
        assert await alerter.send(hf_alert(ts_ms=4)) == "sent"
    assert [r.body["ts_ms"] for r in receiver.requests] == [1, 3, 4]
    assert alerter.stats.suppressed == 1


async def test_a_failing_channel_is_logged_and_counted_never_raised_and_the_secret_never_logged(
    receiver: Receiver, logs: io.StringIO
) -> None:
    receiver.status, receiver.answer = 401, {"ok": False, "description": "Unauthorized"}
    telegram = TelegramSender(TOKEN, "42", base_url=receiver.url)
    # A closed port: connection refused. Its URL carries the webhook secret.
    dead = WebhookSender(f"http://127.0.0.1:1/hooks/{WEBHOOK_SECRET}")
    async with Alerter([telegram, dead], min_interval_s=60, max_per_minute=0) as alerter:
        assert await alerter.send(hf_alert()) == "failed"
        # Nobody was told, so the next occurrence is not suppressed.
        assert await alerter.send(hf_alert()) == "failed"
    assert (alerter.stats.failed, alerter.stats.channel_failures, alerter.stats.sent) == (2, 4, 0)
    text = logs.getvalue()
    assert "telegram answered HTTP 401: Unauthorized" in text
    assert "ClientConnectorError" in text
    assert TOKEN not in text and WEBHOOK_SECRET not in text
    assert TOKEN not in repr(telegram) and WEBHOOK_SECRET not in repr(dead)


async def test_notify_never_blocks_and_every_outcome_is_journaled(receiver: Receiver, tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.sqlite")

    async def journal_it(alert: Alert, outcome: str) -> None:
        journal.record_alert(alert, outcome)

    async with Alerter([WebhookSender(receiver.url)], min_interval_s=60, on_outcome=journal_it) as alerter:
        assert alerter.notify(hf_alert(ts_ms=1))
        assert alerter.notify(hf_alert(ts_ms=2))
        await alerter.drain()
    assert [tuple(r) for r in journal.rows("SELECT ts_ms, outcome FROM alerts ORDER BY id")] == [
        (1, "sent"),
        (2, "suppressed"),
    ]
    journal.close()


async def test_a_storm_of_distinct_alerts_is_paced(receiver: Receiver) -> None:
    async with Alerter([WebhookSender(receiver.url)], max_per_minute=600) as alerter:  # one per 0.1 s
        started = time.monotonic()
        for n in range(3):
            alerter.notify(hf_alert(f"hedge-resized-{n}", ts_ms=n))
        await alerter.drain()
        elapsed = time.monotonic() - started
    assert len(receiver.requests) == 3
    assert elapsed >= 0.2


async def test_a_full_queue_drops_and_counts() -> None:
    alerter = Alerter([], queue_size=1)  # not started: nothing drains the queue
    assert alerter.notify(hf_alert())
    assert not alerter.notify(hf_alert())
    assert alerter.stats.dropped == 1


async def test_without_channels_alerts_are_only_journaled() -> None:
    async with Alerter.from_settings(AlertSettings()) as alerter:
        assert await alerter.send(hf_alert()) == "no_channel"


def test_rules_come_from_the_settings() -> None:
    rules = rules_from_settings(AlertSettings(health_levels=[1.2, 1.1], health_hysteresis=0.05))
    assert (rules.health_levels, rules.hysteresis) == ((1.2, 1.1), 0.05)
    assert json.dumps(rules.health_levels)


async def test_a_critical_alert_jumps_a_storm_and_skips_the_pacing(receiver: Receiver) -> None:
    """C12: with 20 a minute, critical alerts waited up to 197 s behind hedge resizes."""
    async with Alerter([WebhookSender(receiver.url)], max_per_minute=6) as alerter:  # one per 10 s
        for n in range(5):
            alerter.notify(Alert(AlertKind.HEDGE, f"resize-{n}", Severity.INFO, f"resize {n}", n))
        await receiver.wait_for(1)  # the storm is under way: the next resize waits 10 s for its turn
        started = time.monotonic()
        alerter.notify(Alert(AlertKind.ERROR, "error-liquidated", Severity.CRITICAL, "hedge liquidated", 9))
        arrived = await receiver.wait_for(2, timeout_s=5.0)
        elapsed = time.monotonic() - started
        assert [r.body["key"] for r in arrived[:2]] == ["resize-0", "error-liquidated"]
        assert elapsed < 5.0
        await alerter.close(drain_timeout_s=0.1)
