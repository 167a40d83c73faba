"""Alert delivery: webhook (POST JSON) and Telegram (Bot API sendMessage) on aiohttp.

The engine calls `Alerter.notify(alert)`, which never blocks and never raises: a background task
deduplicates (one alert per key per `min_interval_s`), paces deliveries (`max_per_minute`, so a
storm cannot get the bot banned by Telegram) and sends to every channel at once. A failed delivery
is logged and counted, never raised: an alerting outage must not stop the hedging.

Secrets: the webhook URL (it usually embeds a token) and the bot token are registered with the log
redactor, and failure logs name only the channel and the error class, because aiohttp's messages
can carry a normalised URL that plain substring redaction could miss.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from bot.config import AlertSettings
from bot.domain.alerts import Alert, AlertKind, Severity
from bot.log import get_logger, register_secrets
from bot.ops.alert_rules import AlertRules, AlertState

__all__ = [
    "Alert",
    "AlertKind",
    "AlertRules",
    "AlertSender",
    "AlertState",
    "AlertStats",
    "Alerter",
    "DeliveryError",
    "Severity",
    "TelegramSender",
    "WebhookSender",
    "alert_payload",
    "rules_from_settings",
]

TELEGRAM_API = "https://api.telegram.org"
_ICON = {Severity.INFO: "ℹ️", Severity.WARNING: "⚠️", Severity.CRITICAL: "🚨"}
log = get_logger("hedgebot.alerts")


def rules_from_settings(settings: AlertSettings) -> AlertRules:
    """The alert policy `run` applies: the health levels and how far back above one re-arms it."""
    return AlertRules(tuple(settings.health_levels), settings.health_hysteresis)


class DeliveryError(Exception):
    """A channel answered but did not accept the alert. The message never holds a URL or token."""


def alert_text(alert: Alert) -> str:
    return f"{_ICON[alert.severity]} hedgebot {alert.severity.value}: {alert.message}"


def alert_payload(alert: Alert) -> dict[str, Any]:
    """The webhook body. `text` makes it readable as-is by Slack- and Mattermost-style incoming webhooks."""
    return {
        "source": "hedgebot",
        "kind": alert.kind.value,
        "key": alert.key,
        "severity": alert.severity.value,
        "message": alert.message,
        "ts_ms": alert.ts_ms,
        "text": alert_text(alert),
    }


class AlertSender(Protocol):
    name: str

    async def send(self, session: aiohttp.ClientSession, alert: Alert) -> None:
        """Deliver `alert`; raise on any failure."""


class WebhookSender:
    name = "webhook"

    def __init__(self, url: str) -> None:
        register_secrets([url])
        self._url = url

    def __repr__(self) -> str:
        return "WebhookSender(url=**********)"

    async def send(self, session: aiohttp.ClientSession, alert: Alert) -> None:
        async with session.post(self._url, json=alert_payload(alert)) as resp:
            if resp.status >= 300:
                raise DeliveryError(f"webhook answered HTTP {resp.status}")


class TelegramSender:
    """Telegram Bot API sendMessage; `base_url` is the API root, overridable for tests and proxies."""

    name = "telegram"

    def __init__(self, token: str, chat_id: str, base_url: str = TELEGRAM_API) -> None:
        register_secrets([token])
        self._token = token
        self._chat_id = chat_id
        self._base_url = base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"TelegramSender(chat_id={self._chat_id!r}, token=**********)"

    async def send(self, session: aiohttp.ClientSession, alert: Alert) -> None:
        body = {"chat_id": self._chat_id, "text": alert_text(alert), "disable_web_page_preview": True}
        async with session.post(f"{self._base_url}/bot{self._token}/sendMessage", json=body) as resp:
            answer: Any = None
            with contextlib.suppress(aiohttp.ContentTypeError, ValueError):
                answer = await resp.json()
            if resp.status >= 300 or not (isinstance(answer, dict) and answer.get("ok") is True):
                described = answer.get("description") if isinstance(answer, dict) else None
                raise DeliveryError(f"telegram answered HTTP {resp.status}: {described or 'not ok'}")


@dataclass(slots=True)
class AlertStats:
    """Counters since start (the metrics endpoint exports them)."""

    sent: int = 0
    failed: int = 0  # every channel failed
    channel_failures: int = 0
    suppressed: int = 0  # same key within min_interval_s
    dropped: int = 0  # the queue was full


_PRIORITY = {Severity.CRITICAL: 0, Severity.WARNING: 1, Severity.INFO: 2}
Outcome = str  # "sent", "failed", "suppressed", "no_channel", "dropped"
OutcomeHook = Callable[[Alert, Outcome], Awaitable[None]]


class Alerter:
    """Deduplicating, paced, never-raising delivery to every configured channel."""

    def __init__(
        self,
        senders: Sequence[AlertSender],
        min_interval_s: float = 60.0,
        *,
        max_per_minute: int = 20,
        timeout_s: float = 10.0,
        queue_size: int = 1000,
        clock: Callable[[], float] = time.monotonic,
        on_outcome: OutcomeHook | None = None,
    ) -> None:
        self.senders = tuple(senders)
        self.min_interval_s = min_interval_s
        self.stats = AlertStats()
        self._gap_s = 60.0 / max_per_minute if max_per_minute > 0 else 0.0
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._clock = clock
        self.on_outcome = on_outcome
        self._last_by_key: dict[str, float] = {}
        self._last_delivery = -float("inf")
        self._pace = asyncio.Lock()
        # Critical alerts jump the queue and skip the pacing: a storm of hedge resizes must never hold back
        # "the hedge was liquidated" (C12). Within a severity, first in first out.
        self._queue: asyncio.PriorityQueue[tuple[int, int, Alert]] = asyncio.PriorityQueue(maxsize=queue_size)
        self._seq = 0
        self._session: aiohttp.ClientSession | None = None
        self._worker: asyncio.Task[None] | None = None

    @classmethod
    def from_settings(cls, settings: AlertSettings, telegram_base_url: str | None = None, **kwargs: Any) -> Alerter:
        senders: list[AlertSender] = []
        if settings.webhook_url is not None:
            senders.append(WebhookSender(settings.webhook_url.get_secret_value()))
        if settings.telegram_token is not None and settings.telegram_chat_id:
            senders.append(
                TelegramSender(
                    settings.telegram_token.get_secret_value(),
                    settings.telegram_chat_id,
                    telegram_base_url or settings.telegram_api_url,
                )
            )
        return cls(senders, settings.min_interval_s, **kwargs)

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
            self._worker = asyncio.create_task(self._run(), name="alerts")

    async def close(self, drain_timeout_s: float = 5.0) -> None:
        """Deliver what is queued (up to `drain_timeout_s`), then stop."""
        if self._worker is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.drain(), drain_timeout_s)
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Alerter:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def notify(self, alert: Alert) -> bool:
        """Queue `alert` for delivery without waiting; False if the queue is full (counted as dropped)."""
        self._seq += 1
        try:
            self._queue.put_nowait((_PRIORITY.get(alert.severity, 1), self._seq, alert))
        except asyncio.QueueFull:
            self.stats.dropped += 1
            log.warning("alert dropped: queue full", key=alert.key)
            asyncio.get_running_loop().create_task(self._report(alert, "dropped"))
            return False
        return True

    async def drain(self) -> None:
        """Wait until every queued alert has been handled (for shutdown and tests)."""
        await self._queue.join()

    async def send(self, alert: Alert) -> Outcome:
        """Deduplicate and deliver `alert` now; return the outcome. Never raises."""
        now = self._clock()
        last = self._last_by_key.get(alert.key)
        if last is not None and now - last < self.min_interval_s:
            self.stats.suppressed += 1
            return await self._report(alert, "suppressed")
        if not self.senders:
            return await self._report(alert, "no_channel")
        self._last_by_key[alert.key] = now
        async with self._pace:
            # Pacing waits out the gap; it is the one deliberate delay in the bot, not a synchronisation.
            wait_s = self._last_delivery + self._gap_s - self._clock()
            if wait_s > 0 and alert.severity != Severity.CRITICAL:
                await asyncio.sleep(wait_s)
            self._last_delivery = self._clock()
            results = await asyncio.gather(*(self._send_one(s, alert) for s in self.senders))
        if any(results):
            self.stats.sent += 1
            return await self._report(alert, "sent")
        self.stats.failed += 1
        # Nobody was told: let the next occurrence through instead of suppressing it.
        self._last_by_key.pop(alert.key, None)
        return await self._report(alert, "failed")

    async def _send_one(self, sender: AlertSender, alert: Alert) -> bool:
        if self._session is None:
            await self.start()
        assert self._session is not None
        try:
            await sender.send(self._session, alert)
        except Exception as exc:  # any failure of one channel is logged and counted, never raised
            self.stats.channel_failures += 1
            detail = str(exc) if isinstance(exc, DeliveryError) else type(exc).__name__
            log.warning("alert delivery failed", channel=sender.name, key=alert.key, error=detail)
            return False
        return True

    async def _report(self, alert: Alert, outcome: Outcome) -> Outcome:
        if self.on_outcome is not None:
            try:
                await self.on_outcome(alert, outcome)
            except Exception as exc:  # a journal hiccup must not stop alert delivery
                log.warning("alert outcome hook failed", key=alert.key, error=type(exc).__name__)
        return outcome

    async def _run(self) -> None:
        while True:
            _, _, alert = await self._queue.get()
            try:
                await self.send(alert)
            finally:
                self._queue.task_done()
