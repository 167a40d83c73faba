"""The status endpoint over real HTTP on loopback: what an operator and Prometheus see, and who may halt the bot."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.config import Settings
from bot.domain.orders import AccountState, Order, OrderStatus, OrderType, Position, Side
from bot.domain.snapshot import HedgeView, LendingView, Snapshot
from bot.errors import ConfigError
from bot.ops.alerts import AlertStats
from bot.ops.http import StatusServer, is_loopback
from bot.ops.kill import KillSwitch
from bot.ops.metrics import Metrics
from bot.ops.status import BotStatus
from bot.venues.ccxt.registry import builtin_instrument
from tests.journal.fixtures import plan

NOW_MS = 1_800_000_000_000
TOKEN = "s3cret-status-token"


def board() -> BotStatus:
    """A bot halfway through a slide: HF 1.2, short 30 contracts with a stop, decision #7."""
    status = BotStatus(mode="dry-run", started_ms=NOW_MS - 60_000)
    status.observe_snapshot(
        Snapshot(
            now_ms=NOW_MS,
            btc_price=60_000.0,
            lending=LendingView(
                collateral_asset="WETH",
                collateral_amount=3.0,
                collateral_price_usd=2_500.0,
                total_collateral_usd=7_500.0,
                debt_usd=5_000.0,
                health_factor=1.2,
                liquidation_price_usd=2_083.0,
                liquidation_threshold=0.8,
            ),
            hedge=HedgeView(contracts=-30, entry_price=61_000.0, equity_btc=0.05),
            instrument=builtin_instrument("binancecoinm"),
        )
    )
    stop = Order("hbSabc", "v1", Side.BUY, OrderType.STOP_MARKET, 30, 0, OrderStatus.OPEN, None, 66_000.0, True)
    foreign = Order("manual1", "v2", Side.SELL, OrderType.LIMIT, 5, 0, OrderStatus.OPEN, 70_000.0)
    status.observe_account(
        AccountState(0.05, Position(-30, 61_000.0, 0.0008), (stop, foreign), 60_000.0), funding_paid_btc=-0.00001
    )
    status.observe_decision(7, NOW_MS - 5_000, "dynamic", plan(30))
    status.feed_seen("chain", NOW_MS - 2_000, 60.0)
    status.feed_seen("mark", NOW_MS - 90_000, 10.0)
    return status


async def serve(token: str | None = None, host: str = "127.0.0.1") -> tuple[StatusServer, KillSwitch]:
    status = board()
    stats = AlertStats(sent=3, suppressed=1)
    kill = KillSwitch()
    server = StatusServer(status, Metrics(status, lambda: NOW_MS, stats), kill, host, 0, token, lambda: NOW_MS)
    await server.start()
    return server, kill


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def test_status_shows_position_hedge_last_decision_and_feed_freshness(http: aiohttp.ClientSession) -> None:
    server, _ = await serve()
    try:
        async with http.get(f"{server.url}/status") as resp:
            assert resp.status == 200
            doc = await resp.json()
    finally:
        await server.stop()
    assert (doc["mode"], doc["halted"], doc["kill_requested"]) == ("dry-run", False, False)
    assert doc["position"]["health_factor"] == 1.2
    assert doc["position"]["distance_to_liquidation"] == pytest.approx(1 - 2_083 / 2_500)
    hedge = doc["hedge"]
    assert (hedge["contracts"], hedge["entry_price"], hedge["pnl_btc"]) == (-30, 61_000.0, 0.0008)
    assert hedge["pnl_usd"] == pytest.approx(48.0)
    assert hedge["stops"] == [{"price": 66_000.0, "contracts": 30}]  # the foreign limit is not a stop
    assert doc["last_decision"]["reason"] == "HF 1.4 below 1.5: hedge 30 contracts"
    assert doc["feeds"]["chain"] == {"age_s": 2.0, "max_age_s": 60.0, "stale": False}
    assert doc["feeds"]["mark"]["stale"] is True


async def test_metrics_are_prometheus_text(http: aiohttp.ClientSession) -> None:
    server, _ = await serve()
    server.metrics.decisions.inc()
    server.metrics.orders.labels(outcome="acked").inc(2)
    try:
        async with http.get(f"{server.url}/metrics") as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain")
            text = await resp.text()
    finally:
        await server.stop()
    assert "hedgebot_health_factor 1.2" in text
    assert "hedgebot_hedge_contracts -30.0" in text
    assert 'hedgebot_feed_age_seconds{feed="mark"} 90.0' in text
    assert 'hedgebot_alerts{outcome="sent"} 3.0' in text
    assert "hedgebot_halted 0.0" in text
    assert "hedgebot_decisions_total 1.0" in text
    assert 'hedgebot_orders_total{outcome="acked"} 2.0' in text


async def test_post_kill_sets_the_flag_the_engine_waits_on(http: aiohttp.ClientSession) -> None:
    server, kill = await serve()
    try:
        async with http.post(f"{server.url}/kill", json={"reason": "liquidation risk, going manual"}) as resp:
            assert resp.status == 202
            assert (await resp.json())["already"] is False
        request = await kill.wait()
        assert (request.reason, request.source, request.ts_ms) == ("liquidation risk, going manual", "http", NOW_MS)
        async with http.post(f"{server.url}/kill", json={}) as resp:
            assert (await resp.json())["already"] is True
        async with http.get(f"{server.url}/status") as resp:
            assert (await resp.json())["kill_requested"] is True
        # A form post (what a hostile web page can send cross-origin without a preflight) is refused.
        async with http.post(f"{server.url}/kill", data="reason=x") as resp:
            assert resp.status == 415
    finally:
        await server.stop()


async def test_with_a_token_every_route_asks_for_it(http: aiohttp.ClientSession) -> None:
    server, kill = await serve(token=TOKEN)
    try:
        for method, path in (("GET", "/status"), ("GET", "/metrics"), ("POST", "/kill")):
            async with http.request(method, f"{server.url}{path}", json={}) as resp:
                assert resp.status == 401, path
                assert resp.headers["WWW-Authenticate"].startswith("Bearer")
            bad = {"Authorization": "Bearer wrong-token"}
            async with http.request(method, f"{server.url}{path}", json={}, headers=bad) as resp:
                assert resp.status == 401, path
        assert not kill.requested
        good = {"Authorization": f"Bearer {TOKEN}"}
        async with http.get(f"{server.url}/status", headers=good) as resp:
            assert resp.status == 200
    finally:
        await server.stop()


async def test_off_loopback_it_refuses_to_start_without_a_token(http: aiohttp.ClientSession) -> None:
    settings = Settings(http_host="0.0.0.0", _env_file=None)
    status = BotStatus()
    with pytest.raises(ConfigError, match="HEDGEBOT_HTTP_TOKEN"):
        StatusServer.from_settings(settings, status, Metrics(status, lambda: NOW_MS), KillSwitch())
    # With a token it serves, and only to those who have it.
    server, _ = await serve(token=TOKEN, host="0.0.0.0")
    try:
        async with http.get(f"http://127.0.0.1:{server.port}/status") as resp:
            assert resp.status == 401
    finally:
        await server.stop()


async def test_a_port_in_use_is_a_config_error_that_says_what_to_do() -> None:
    first, _ = await serve()
    try:
        status = BotStatus()
        second = StatusServer(status, Metrics(status, lambda: NOW_MS), KillSwitch(), "127.0.0.1", first.port)
        with pytest.raises(ConfigError, match="HEDGEBOT_HTTP_PORT"):
            await second.start()
    finally:
        await first.stop()


def test_a_bot_without_debt_has_an_infinite_health_factor_in_strict_json() -> None:
    status = BotStatus()
    status.observe_snapshot(
        Snapshot(
            now_ms=NOW_MS,
            btc_price=60_000.0,
            lending=LendingView(
                collateral_asset="WETH",
                collateral_amount=3.0,
                collateral_price_usd=2_500.0,
                total_collateral_usd=7_500.0,
                debt_usd=0.0,
                health_factor=math.inf,
                liquidation_price_usd=math.inf,
                liquidation_threshold=0.8,
            ),
            hedge=HedgeView(contracts=0, entry_price=0.0, equity_btc=0.0),
            instrument=builtin_instrument("binancecoinm"),
        )
    )
    doc = status.to_json(NOW_MS)
    assert doc["position"]["health_factor"] == "Infinity"
    assert doc["position"]["distance_to_liquidation"] == "Infinity"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True), ("0.0.0.0", False), ("", False)],
)
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback
