"""An alert: one message for a person, as the rules raise it and the journal keeps it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertKind(StrEnum):
    HEALTH = "health"
    HEDGE = "hedge"
    FEED = "feed"
    ERROR = "error"
    DEFENSE = "defense"  # the guardian's on-chain defenses: sent, confirmed, failed; its reserve


@dataclass(frozen=True, slots=True)
class Alert:
    """One message for a person. Alerts with the same `key` are sent at most once per interval."""

    kind: AlertKind
    key: str
    severity: Severity
    message: str
    ts_ms: int
