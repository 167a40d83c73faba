"""When to tell a person: health-factor levels, hedge changes, stale feeds, errors. Pure.

Rules take the previous AlertState and return the next one with the alerts to send, so the engine
keeps one value and a replay can run them over a year of bars. Delivery, rate limits and
deduplication by `Alert.key` are bot/ops/alerts.py's job.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from bot.domain.alerts import Alert, AlertKind, Severity
from bot.domain.orders import Fill, is_liquidation
from bot.domain.snapshot import LendingView
from bot.venues.reconcile import STOP, role_of


@dataclass(frozen=True, slots=True)
class AlertState:
    """What the rules remember between evaluations."""

    breached_levels: frozenset[float] = frozenset()
    stale_feeds: frozenset[str] = frozenset()
    replica_off: bool = False  # the exact replica disagrees with the Pool
    not_hedgeable: bool = False  # the account's collateral and debt move together: no BTC short is held


Evaluation = tuple[AlertState, list[Alert]]


def _floor3(value: float) -> float:
    # Printed to 3 decimals the HF must read below the level it fell under (1.1499 is not "1.150 < 1.15").
    return math.floor(value * 1000) / 1000


def _ceil3(value: float) -> float:
    return math.ceil(value * 1000) / 1000


@dataclass(frozen=True, slots=True)
class AlertRules:
    """Alert policy. `hysteresis` (HF units) stops a health factor hovering at a level from flapping."""

    health_levels: tuple[float, ...] = (1.3, 1.15, 1.05)
    hysteresis: float = 0.02
    _sorted: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if any(not math.isfinite(level) or level <= 1.0 for level in self.health_levels):
            raise ValueError(f"health levels must be finite and above 1.0, got {self.health_levels}")
        if self.hysteresis < 0:
            raise ValueError(f"hysteresis must be zero or positive, got {self.hysteresis}")
        object.__setattr__(self, "_sorted", tuple(sorted(set(self.health_levels))))

    @classmethod
    def of(cls, levels: Sequence[float], hysteresis: float = 0.02) -> AlertRules:
        return cls(tuple(levels), hysteresis)

    def breached_after(self, keys: Sequence[str]) -> frozenset[float]:
        """The levels breached once the health alerts with `keys` (oldest first) had been raised.

        The engine seeds its AlertState with this from the journal at start, so a restart does not say
        "fell below 1.3" again for a level it already reported (B16). "below L" means every level at or
        above L is breached too (a gap through several levels raises one alert); "above L" clears L and
        every level under it.
        """
        breached: set[float] = set()
        for key in keys:
            for prefix, falling in (("health-below-", True), ("health-above-", False)):
                if not key.startswith(prefix):
                    continue
                try:
                    level = float(key.removeprefix(prefix))
                except ValueError:
                    continue
                if falling:
                    breached.update(lv for lv in self._sorted if lv >= level)
                else:
                    breached.difference_update(lv for lv in self._sorted if lv <= level)
        return frozenset(breached)

    def on_health(self, state: AlertState, health_factor: float, now_ms: int) -> Evaluation:
        """Alerts when the HF falls below a level, and when it climbs back above it by the hysteresis."""
        if math.isnan(health_factor):
            return state, []
        alerts: list[Alert] = []
        newly = [lv for lv in self._sorted if health_factor < lv and lv not in state.breached_levels]
        recovered = [lv for lv in state.breached_levels if health_factor >= lv + self.hysteresis]
        breached = (state.breached_levels | frozenset(newly)) - frozenset(recovered)
        if newly:
            # A gap through several levels is one alert, about the worst one crossed.
            level = min(newly)
            severity = Severity.CRITICAL if level == self._sorted[0] else Severity.WARNING
            alerts.append(
                Alert(
                    AlertKind.HEALTH,
                    f"health-below-{level:g}",
                    severity,
                    f"health factor {_floor3(health_factor):.3f} fell below {level:g}",
                    now_ms,
                )
            )
        if recovered:
            level = max(recovered)
            alerts.append(
                Alert(
                    AlertKind.HEALTH,
                    f"health-above-{level:g}",
                    Severity.INFO,
                    f"health factor {_ceil3(health_factor):.3f} is back above {level:g}",
                    now_ms,
                )
            )
        return replace(state, breached_levels=breached), alerts

    def on_position(
        self, short_before: int, short_after: int, price: float, now_ms: int, reason: str = ""
    ) -> list[Alert]:
        """An alert when the hedge (short contracts) was placed, resized or closed."""
        if short_before == short_after:
            return []
        why = f" ({reason})" if reason else ""
        if short_before == 0:
            event, text = "placed", f"hedge placed: short {short_after} contracts at {price:,.1f}{why}"
        elif short_after == 0:
            event, text = "closed", f"hedge closed: was short {short_before} contracts, mark {price:,.1f}{why}"
        else:
            event = "resized"
            text = f"hedge resized: short {short_before} -> {short_after} contracts at {price:,.1f}{why}"
        # One key per kind of change, not per size: a hedge resized 728 -> 727 -> 728 is one alert per
        # interval, not a new one each time (C12); every resize is still journaled with its outcome.
        return [Alert(AlertKind.HEDGE, f"hedge-{event}", Severity.INFO, text, now_ms)]

    def on_fill(self, fill: Fill, now_ms: int) -> list[Alert]:
        """An alert when the exchange liquidated the hedge (critical), or a protective stop filled."""
        if is_liquidation(fill.client_id):
            return [
                Alert(
                    AlertKind.HEDGE,
                    "hedge-liquidated",
                    Severity.CRITICAL,
                    f"hedge liquidated: the exchange closed {fill.contracts} contracts at {fill.price:,.1f} "
                    f"({fill.client_id})",
                    now_ms,
                )
            ]
        if role_of(fill.client_id) != STOP:
            return []
        return [
            Alert(
                AlertKind.HEDGE,
                f"hedge-stopped-{fill.client_id}",
                Severity.WARNING,
                f"hedge stopped out: bought back {fill.contracts} contracts at {fill.price:,.1f}",
                now_ms,
            )
        ]

    def on_reentry(self, exit: str, fill: Fill, now_ms: int) -> Alert:
        """An alert when the hedge is put on again after it was liquidated or stopped out (`exit`)."""
        return Alert(
            AlertKind.HEDGE,
            "hedge-reentered",
            Severity.WARNING,
            f"hedge re-entered after {exit}: sold {fill.contracts} contracts at {fill.price:,.1f}",
            now_ms,
        )

    def on_feed(self, state: AlertState, feed: str, age_s: float, max_age_s: float, now_ms: int) -> Evaluation:
        """An alert when `feed` goes stale (older than `max_age_s`), and one when it is fresh again."""
        stale = age_s > max_age_s
        if stale and feed not in state.stale_feeds:
            alert = Alert(
                AlertKind.FEED,
                f"feed-stale-{feed}",
                Severity.WARNING,
                f"feed {feed} is stale: last update {age_s:.0f} s ago (limit {max_age_s:g} s); trading paused",
                now_ms,
            )
            return replace(state, stale_feeds=state.stale_feeds | {feed}), [alert]
        if not stale and feed in state.stale_feeds:
            alert = Alert(AlertKind.FEED, f"feed-fresh-{feed}", Severity.INFO, f"feed {feed} is fresh again", now_ms)
            return replace(state, stale_feeds=state.stale_feeds - {feed}), [alert]
        return state, []

    def on_replica(self, state: AlertState, matches_chain: bool, now_ms: int) -> Evaluation:
        """An alert when the exact replica starts disagreeing with the Pool, and one when it agrees again."""
        if not matches_chain and not state.replica_off:
            alert = Alert(
                AlertKind.FEED,
                "replica-off",
                Severity.WARNING,
                "the health replica disagrees with the Pool (getUserAccountData): hedging on the bound "
                "price / HF from the Pool's own health factor, not on the replica's liquidation price",
                now_ms,
            )
            return replace(state, replica_off=True), [alert]
        if matches_chain and state.replica_off:
            alert = Alert(
                AlertKind.FEED, "replica-on", Severity.INFO, "the health replica agrees with the Pool again", now_ms
            )
            return replace(state, replica_off=False), [alert]
        return state, []

    def on_hedgeable(self, state: AlertState, lending: LendingView, now_ms: int) -> Evaluation:
        """An alert when the account turns out not hedgeable with a BTC short (no market-wide fall liquidates
        it: its collateral and debt move together), and one when it is hedgeable again."""
        if not lending.hedgeable and not state.not_hedgeable:
            alert = Alert(
                AlertKind.HEDGE,
                "not-hedgeable",
                Severity.WARNING,
                lending.not_hedgeable_reason,
                now_ms,
            )
            return replace(state, not_hedgeable=True), [alert]
        if lending.hedgeable and state.not_hedgeable:
            alert = Alert(
                AlertKind.HEDGE, "hedgeable", Severity.INFO, "the account is hedgeable with a BTC short again", now_ms
            )
            return replace(state, not_hedgeable=False), [alert]
        return state, []

    def on_error(self, what: str, detail: str, now_ms: int) -> Alert:
        """A critical alert for an error a person must act on (auth failure, halt, rejected stop)."""
        return Alert(AlertKind.ERROR, f"error-{what}", Severity.CRITICAL, f"{what}: {detail}", now_ms)
