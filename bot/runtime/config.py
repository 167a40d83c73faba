"""The engine's own settings, and the one mapping from the bot's settings (bot.config) to them.

`hedgebot run`, `plan` and `backtest` all take their risk limits from `risk_limits`, so an offline
plan is clipped exactly as the running bot would clip it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.config import ExchangeSettings, RiskSettings, Settings
from bot.domain.protection import MarginMode
from bot.domain.rebalance import ChangePolicy
from bot.domain.risk import RiskLimits
from bot.runtime.decision import Triggers
from bot.runtime.guards import GuardLimits
from bot.venues.reconcile import ReconcileSettings


@dataclass(frozen=True, slots=True)
class EngineConfig:
    heartbeat_s: float = 30.0
    debounce_ms: int = 20
    mark_poll_s: float = 1.0
    price_trigger: float = 0.002  # a mark move of 0.2 % since the last decision triggers one
    collateral_trigger: float = 0.005  # an oracle move of 0.5 % (Chainlink's deviation threshold) too
    feature_bar_ms: int = 60_000
    # Off when the caller feeds `engine.features` itself (the demo replays hourly bars in seconds).
    sample_features: bool = True
    keep_stops_on_exit: bool = True
    close_on_kill: bool = False
    # A stop (SIGTERM) is bounded, inside Docker's 10 s before SIGKILL: the in-flight decision gets `decision_grace_s`
    # to finish (then it is cancelled: its orders' intents are journaled, and resolved by client id at the next
    # start), and the exit's cancels get `exit_timeout_s`, retried until then.
    decision_grace_s: float = 4.0
    exit_timeout_s: float = 5.0
    guard: GuardLimits = field(default_factory=GuardLimits)
    risk: RiskLimits = field(default_factory=RiskLimits)
    reconcile: ReconcileSettings = field(default_factory=ReconcileSettings)
    change: ChangePolicy = field(default_factory=ChangePolicy)  # when a resize is worth an order

    @property
    def triggers(self) -> Triggers:
        """When a decision is due, as the backtest also asks (bot.runtime.decision.Triggers)."""
        return Triggers(self.price_trigger, self.collateral_trigger, int(self.heartbeat_s * 1000))

    @classmethod
    def from_settings(cls, settings: Settings, keep_stops_on_exit: bool = True) -> EngineConfig:
        """The engine's limits, guards and reconciler from the bot's settings; the loop timings keep their defaults."""
        return cls(
            keep_stops_on_exit=keep_stops_on_exit,
            close_on_kill=settings.kill_closes_hedge,
            guard=guard_limits(settings),
            risk=risk_limits(settings.risk, settings.exchange.margin_mode),
            reconcile=reconcile_settings(settings.exchange),
            change=change_policy(settings.exchange),
        )


def risk_limits(risk: RiskSettings, margin_mode: MarginMode = "isolated") -> RiskLimits:
    """The limits every plan is clipped to, wherever a plan is made (run, plan, backtest).

    `margin_mode` is the venue's (exchange.margin_mode): it decides where the short is liquidated, so where
    its stop may sit.
    """
    return RiskLimits(
        margin_mode=margin_mode,
        max_leverage=risk.max_leverage,
        max_notional_usd=risk.max_notional_usd,
        max_capital_at_risk=risk.max_capital_at_risk,
        default_stop_pct=risk.default_stop_pct,
    )


def guard_limits(settings: Settings) -> GuardLimits:
    """When the data is too stale or absurd to trade on."""
    return GuardLimits(
        stale_block_ms=int(settings.chain.stale_block_s * 1000),
        oracle_heartbeat_ms=int(settings.chain.oracle_heartbeat_s * 1000),
        max_price_jump=settings.risk.max_price_jump,
        max_oracle_divergence=settings.risk.max_oracle_divergence,
        confirm_level_ms=int(settings.risk.confirm_level_s * 1000),
        max_confirmable_move=settings.risk.max_confirmable_move,
    )


def reconcile_settings(exchange: ExchangeSettings) -> ReconcileSettings:
    """How small a change, or a stop move, is worth an order."""
    return ReconcileSettings(min_change_contracts=exchange.min_change_contracts, stop_move_bps=exchange.stop_move_bps)


def change_policy(exchange: ExchangeSettings) -> ChangePolicy:
    """When a gap between the short and its target is worth an order: a minimum, a band and a cooldown."""
    return ChangePolicy(
        min_change_contracts=exchange.min_change_contracts,
        band=exchange.change_band,
        cooldown_ms=int(exchange.change_cooldown_s * 1000),
    )
