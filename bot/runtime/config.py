"""The engine's own settings (the rest of the bot's are in bot.config)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.domain.risk import RiskLimits
from bot.runtime.guards import GuardLimits
from bot.venues.reconcile import ReconcileSettings


@dataclass(frozen=True, slots=True)
class EngineConfig:
    heartbeat_s: float = 30.0
    debounce_ms: int = 20
    mark_poll_s: float = 1.0
    price_trigger: float = 0.002  # a mark move of 0.2 % since the last decision triggers one
    feature_bar_ms: int = 60_000
    # Off when the caller feeds `engine.features` itself (the demo replays hourly bars in seconds).
    sample_features: bool = True
    keep_stops_on_exit: bool = True
    close_on_kill: bool = False
    guard: GuardLimits = field(default_factory=GuardLimits)
    risk: RiskLimits = field(default_factory=RiskLimits)
    reconcile: ReconcileSettings = field(default_factory=ReconcileSettings)
