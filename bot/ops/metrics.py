"""Prometheus metrics: gauges read from the status board at scrape time, counters and latencies the engine feeds.

Gauges come from BotStatus when Prometheus scrapes, so the engine updates one thing (the board) and
the two views can never disagree. Each Metrics has its own registry, not the process-global one, so
tests and a replay can build as many as they like.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.clock import Clock
from bot.ops.alerts import AlertStats
from bot.ops.pause import PauseSwitch
from bot.ops.status import BotStatus

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Decision and order latencies of interest are milliseconds to a second (the target p99 is 250 ms).
_LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _StatusCollector(Collector):
    def __init__(
        self, status: BotStatus, clock_ms: Clock, alert_stats: AlertStats | None, pause: PauseSwitch | None
    ) -> None:
        self._status = status
        self._clock_ms = clock_ms
        self._alert_stats = alert_stats
        self._pause = pause

    def collect(self) -> Iterator[Metric]:
        s = self._status
        yield GaugeMetricFamily("hedgebot_halted", "1 while trading is halted", value=float(s.halted))
        if self._pause is not None:
            paused = float(self._pause.paused)
            yield GaugeMetricFamily("hedgebot_paused", "1 while paused (no new orders, stops kept)", value=paused)
        if s.position is not None:
            p = s.position
            yield GaugeMetricFamily("hedgebot_health_factor", "Aave health factor", value=p.health_factor)
            yield GaugeMetricFamily(
                "hedgebot_liquidation_price_usd", "collateral price at liquidation (USD)", value=p.liquidation_price_usd
            )
            yield GaugeMetricFamily(
                "hedgebot_liquidation_distance_ratio",
                "fractional fall of the collateral price to liquidation",
                value=p.distance_to_liquidation,
            )
        if s.hedge is not None:
            h = s.hedge
            yield GaugeMetricFamily("hedgebot_hedge_contracts", "signed hedge position (contracts)", value=h.contracts)
            yield GaugeMetricFamily("hedgebot_hedge_pnl_btc", "unrealised hedge PnL (BTC)", value=h.pnl_btc)
            yield GaugeMetricFamily("hedgebot_hedge_pnl_usd", "unrealised hedge PnL (USD)", value=h.pnl_usd)
            yield GaugeMetricFamily(
                "hedgebot_funding_paid_btc", "funding paid by the hedge (BTC)", value=h.funding_paid_btc
            )
        yield from _defense_metrics(s)
        if s.last_decision is not None:
            yield GaugeMetricFamily(
                "hedgebot_last_decision_seq", "sequence number of the last decision", value=s.last_decision.seq
            )
        now_ms = self._clock_ms()
        ages = GaugeMetricFamily("hedgebot_feed_age_seconds", "seconds since the feed's last update", labels=["feed"])
        for name, feed in s.feeds.items():
            ages.add_metric([name], (now_ms - feed.last_update_ms) / 1000)
        yield ages
        if self._alert_stats is not None:
            a = self._alert_stats
            alerts = GaugeMetricFamily("hedgebot_alerts", "alerts handled since start, by outcome", labels=["outcome"])
            for outcome, count in (
                ("sent", a.sent),
                ("failed", a.failed),
                ("suppressed", a.suppressed),
                ("dropped", a.dropped),
            ):
                alerts.add_metric([outcome], count)
            yield alerts


def _defense_metrics(s: BotStatus) -> Iterator[Metric]:
    """The guardian: on or off, reserve, spent today against the daily limit, where the next defense fires."""
    d = s.defense
    enabled = float(d.enabled) if d is not None else 0.0
    why = "1 while the guardian can defend (0: no key, no reserve or no gas)"
    yield GaugeMetricFamily("hedgebot_defense_enabled", why, value=enabled)
    if d is None:
        return
    reserve = GaugeMetricFamily("hedgebot_defense_reserve", "the guardian's reserve (tokens)", labels=["asset"])
    reserve.add_metric([d.asset_symbol], d.reserve)
    yield reserve
    yield GaugeMetricFamily("hedgebot_defense_reserve_usd", "the guardian's reserve (USD)", value=d.reserve_usd)
    yield GaugeMetricFamily(
        "hedgebot_defense_spent_today_usd", "defenses sent in the last 24 h (USD)", value=d.spent_today_usd
    )
    yield GaugeMetricFamily(
        "hedgebot_defense_max_usd_per_day", "the daily limit on defenses (USD)", value=d.max_usd_per_day
    )
    yield GaugeMetricFamily(
        "hedgebot_defense_next_price_usd",
        "the collateral price at which the next defense fires (USD)",
        value=d.next_defense_price_usd,
    )
    yield GaugeMetricFamily(
        "hedgebot_defense_next_usd", "what the next defense would spend (USD)", value=d.next_defense_usd
    )
    yield GaugeMetricFamily(
        "hedgebot_defense_reserve_covers_next",
        "1 when the reserve covers the next defense",
        value=float(d.reserve_covers_next),
    )


class Metrics:
    """Everything `/metrics` exports: the engine counts decisions and orders and times decisions; the executor
    times each order from its send to the venue's acknowledgement."""

    def __init__(
        self,
        status: BotStatus,
        clock_ms: Clock,
        alert_stats: AlertStats | None = None,
        pause: PauseSwitch | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(_StatusCollector(status, clock_ms, alert_stats, pause))
        self.decisions = Counter("hedgebot_decisions", "decisions made", registry=self.registry)
        self.orders = Counter("hedgebot_orders", "orders sent, by outcome", ["outcome"], registry=self.registry)
        self.decision_seconds = Histogram(
            "hedgebot_decision_seconds",
            "from the triggering event to the plan's actions sent",
            buckets=_LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.order_ack_seconds = Histogram(
            "hedgebot_order_ack_seconds",
            "from sending an order to the venue's acknowledgement",
            buckets=_LATENCY_BUCKETS_S,
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
