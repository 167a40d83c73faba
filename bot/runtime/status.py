"""The engine's settings and the live status it publishes (what `hedgebot status` shows)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from bot.domain.plan import HedgePlan
from bot.domain.risk import RiskLimits
from bot.domain.snapshot import Snapshot
from bot.runtime.guards import GuardLimits
from bot.venues.base import AccountState
from bot.venues.reconcile import ReconcileSettings


@dataclass(frozen=True, slots=True)
class EngineConfig:
    heartbeat_s: float = 30.0
    debounce_ms: int = 20
    mark_poll_s: float = 1.0
    price_trigger: float = 0.002  # a mark move of 0.2 % since the last decision triggers one
    feature_bar_ms: int = 60_000
    keep_stops_on_exit: bool = True
    close_on_kill: bool = False
    kill_file: Path | None = None
    guard: GuardLimits = field(default_factory=GuardLimits)
    risk: RiskLimits = field(default_factory=RiskLimits)
    reconcile: ReconcileSettings = field(default_factory=ReconcileSettings)


@dataclass(slots=True)
class EngineStatus:
    """What `hedgebot status` shows of a running bot; the engine updates it after every decision."""

    mode: str = "dry-run"
    started_ms: int = 0
    halted: bool = False
    halt_reason: str = ""
    decisions: int = 0
    last_decision_ms: int = 0
    last_reason: str = ""
    snapshot: Snapshot | None = None
    plan: HedgePlan | None = None
    account: AccountState | None = None
    feed_ages_s: dict[str, float] = field(default_factory=dict)
    min_health_factor: float = math.inf
    orders_sent: int = 0
    funding_btc: float = 0.0
