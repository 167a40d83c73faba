"""The dashboard in a real headless Chromium (Debian's, driven by Playwright): sign in with the token, see the
numbers /status gives and the journal's history drawn, pause, resume and kill from the page.

Set DASHBOARD_SCREENSHOT=docs/dashboard.png to keep the screenshot the README shows.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import expect

from bot.domain.alerts import Alert, AlertKind, Severity
from bot.journal.aio import AsyncJournal
from bot.journal.journal import FundingPayment, Journal
from bot.ops.dashboard import COOKIE, JournalHistory
from bot.ops.http import StatusServer
from bot.ops.kill import KillSwitch
from bot.ops.metrics import Metrics
from bot.ops.pause import PauseSwitch
from tests.journal.fixtures import plan, summary
from tests.ops.test_http import NOW_MS, TOKEN, board

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CHARTS = ("chart-hf", "chart-price", "chart-hedge", "chart-funding")
HOUR_MS = 3_600_000


def write_story(db: Path) -> None:
    """Six hours of a falling collateral: the HF slides from 1.6 to 1.2 and the hedge grows to 30 contracts."""
    with Journal.open(db, NOW_MS - 7 * HOUR_MS) as j:
        for i in range(361):
            ts = NOW_MS - 6 * HOUR_MS + i * 60_000
            price = 3_000.0 - 500.0 * i / 360
            contracts = -min(30, max(0, (i - 120) // 6))
            j.record_snapshot(
                dataclasses.replace(
                    summary(ts, health_factor=1.6 - 0.4 * i / 360, contracts=contracts),
                    collateral_price_usd=price,
                    liquidation_price_usd=2_083.0,
                    distance_to_liquidation=1 - 2_083.0 / price,
                    hedge_pnl_btc=0.0008 * (contracts / 30) ** 2,
                )
            )
            if i in (150, 270):
                j.record_decision(ts, "dynamic", plan(-contracts or 5), None)
        for k in range(1, 4):
            j.record_funding(FundingPayment(NOW_MS - 6 * HOUR_MS + k * 2 * HOUR_MS - 1, -0.000004 * k, 0.0001, -30))
        j.record_alert(
            Alert(AlertKind.HEALTH, "health-1.3", Severity.WARNING, "HF 1.29 fell below 1.3", NOW_MS - HOUR_MS), "sent"
        )


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[tuple[StatusServer, Path]]:
    db = tmp_path / "bot.sqlite"
    write_story(db)
    journal = await AsyncJournal.open(db, NOW_MS)
    status = board()
    kill = KillSwitch(persist=lambda r: journal.record_control("kill", r.source, r.reason, r.ts_ms))
    pause = PauseSwitch(persist=lambda r: journal.record_control(r.action, r.source, r.reason, r.ts_ms))
    server = StatusServer(
        status, Metrics(status, lambda: NOW_MS), kill, port=0, token=TOKEN, clock_ms=lambda: NOW_MS, pause=pause,
        history=JournalHistory(db),
    )  # fmt: skip
    await server.start()
    yield server, db
    await server.stop()
    await journal.close()


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: .ci/run installs it (apt-get install chromium)")
        pytest.skip("needs Debian's chromium: apt-get install -y chromium")
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        # A fresh profile every time: no cookie or cache from another run.
        context = await p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1100},
        )
        yield context
        await context.close()


def controls(db: Path) -> list[tuple[str, str, str]]:
    with Journal.open_readonly(db) as j:
        return [(r["action"], r["source"], r["reason"]) for r in j.rows("SELECT * FROM controls ORDER BY id")]


async def status_doc(server: StatusServer) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}/status", headers={"Authorization": f"Bearer {TOKEN}"}) as resp,
    ):
        doc: dict[str, Any] = await resp.json()
        return doc


async def painted_pixels(page: Any, chart: str) -> int:
    """How many pixels of the chart's canvas uPlot painted (0 for a blank or missing canvas)."""
    count: int = await page.evaluate(
        """(id) => {
            const canvas = document.querySelector(`#${id} canvas`);
            if (!canvas || !canvas.width) return 0;
            const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let painted = 0;
            for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
            return painted;
        }""",
        chart,
    )
    return count


async def test_sign_in_see_the_numbers_and_charts_then_pause_resume_and_kill(
    bot: tuple[StatusServer, Path], browser: Any, tmp_path: Path
) -> None:
    server, db = bot
    page = await browser.new_page()
    answers: list[str] = []

    async def answer(dialog: Any) -> None:
        await dialog.accept(answers.pop(0))

    page.on("dialog", answer)

    # Signed out: the login form, and no number on it.
    response = await page.goto(f"{server.url}/dashboard")
    assert response.status == 401
    assert await page.locator("#token").count() == 1 and await page.locator("#hf").count() == 0
    await page.fill("#token", "not-the-token")
    await page.click("button[type=submit]")
    assert "not this bot's" in await page.inner_text("#login-error")

    await page.fill("#token", TOKEN)
    await page.click("button[type=submit]")
    await page.wait_for_selector("body[data-loaded=yes]")
    assert page.url == f"{server.url}/dashboard"
    # The token is nowhere the page can reach: not in its HTML, not in a cookie a script can read.
    assert TOKEN not in await page.content()
    assert await page.evaluate("document.cookie") == ""
    (cookie,) = await browser.cookies()
    assert (cookie["name"], cookie["httpOnly"], cookie["sameSite"]) == (COOKIE, True, "Strict")
    assert TOKEN not in cookie["value"]

    # The numbers are /status's.
    doc = await status_doc(server)
    pos, hedge = doc["position"], doc["hedge"]
    assert await page.inner_text("#hf") == f"{pos['health_factor']:.3f}" == "1.200"
    assert await page.inner_text("#liq-price") == f"{pos['liquidation_price_usd']:,.2f}" == "2,083.00"
    assert await page.inner_text("#collateral-price") == f"{pos['collateral_price_usd']:,.2f}"
    assert await page.inner_text("#hedge-contracts") == f"short {-hedge['contracts']}" == "short 30"
    assert await page.inner_text("#hedge-entry") == f"{hedge['entry_price']:,.2f}"
    assert await page.inner_text("#pnl-btc") == f"{hedge['pnl_btc']:.8f}"
    assert await page.inner_text("#pnl-usd") == f"{hedge['pnl_usd']:,.2f}"
    assert await page.inner_text("#funding-paid") == f"{hedge['funding_paid_btc']:.8f}"
    assert await page.inner_text("#stops") == "buy 30 @ 66,000.00"
    assert await page.inner_text("#state") == "trading"
    assert "HF 1.4 below 1.5: hedge 30 contracts" in await page.inner_text("#last-decision")

    # The charts are drawn from the journal, and the tables list its decisions and alerts.
    for chart in CHARTS:
        assert await painted_pixels(page, chart) > 500, f"{chart} is blank"
    assert await page.locator("#decisions tbody tr").count() == 2
    assert "HF 1.29 fell below 1.3" in await page.inner_text("#alerts")
    shot = tmp_path / "dashboard.png"
    await page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    if os.environ.get("DASHBOARD_SCREENSHOT"):
        shutil.copy(shot, os.environ["DASHBOARD_SCREENSHOT"])

    # Pause, resume and kill from the page, each journaled as the dashboard's.
    answers.append("FOMC in ten minutes")
    await page.click("#pause")
    await expect(page.locator("#state")).to_have_text("paused")
    assert server.pause.paused and (await status_doc(server))["paused"] is True
    assert await page.is_disabled("#pause") and await page.is_enabled("#resume")
    await page.click("#resume")
    await expect(page.locator("#state")).to_have_text("trading")
    assert not server.pause.paused
    answers.append("going manual")
    await page.click("#kill")
    await expect(page.locator("#state")).to_have_text("killed")
    assert server.kill.request is not None and server.kill.request.source == "dashboard"
    assert controls(db) == [
        ("pause", "dashboard", "FOMC in ten minutes"),
        ("resume", "dashboard", "resumed from the dashboard"),
        ("kill", "dashboard", "going manual"),
    ]
    await expect(page.locator("#alerts")).to_contain_text("kill by dashboard")


async def test_a_token_link_becomes_a_cookie_and_leaves_the_address_bar(
    bot: tuple[StatusServer, Path], browser: Any
) -> None:
    server, _ = bot
    page = await browser.new_page()
    await page.goto(f"{server.url}/dashboard?token={TOKEN}")
    await page.wait_for_selector("body[data-loaded=yes]")
    assert page.url == f"{server.url}/dashboard"
    assert TOKEN not in await page.content()
    await page.goto(f"{server.url}/dashboard?token=wrong")
    assert "not this bot's" in await page.inner_text("#login-error")


async def test_a_session_cookie_cannot_act_from_another_site(bot: tuple[StatusServer, Path]) -> None:
    server, _ = bot
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{server.url}/login", data={"token": TOKEN}, allow_redirects=False) as resp:
            assert resp.status == 303
            session = resp.cookies[COOKIE].value
        cookies = {COOKIE: session}
        async with http.get(f"{server.url}/history", cookies=cookies) as resp:
            assert resp.status == 200
            history = await resp.json()
        assert len(history["snapshots"]["ts_ms"]) == 361 and history["snapshots"]["health_factor"][0] == 1.6
        assert [f["amount_btc"] for f in history["funding"]] == [-0.000004, -0.000008, -0.000012]
        for origin in ("http://evil.example", None):
            headers = {"Origin": origin} if origin else {}
            async with http.post(f"{server.url}/kill", json={}, cookies=cookies, headers=headers) as resp:
                assert resp.status == 403
        async with http.get(f"{server.url}/history", cookies={COOKIE: "made-up"}) as resp:
            assert resp.status == 401
        async with http.get(f"{server.url}/history?hours=0", cookies=cookies) as resp:
            assert resp.status == 400
    assert not server.kill.requested


async def test_on_loopback_without_a_token_the_dashboard_is_open_like_status(tmp_path: Path) -> None:
    status = board()
    server = StatusServer(status, Metrics(status, lambda: NOW_MS), KillSwitch(), port=0, clock_ms=lambda: NOW_MS)
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{server.url}/") as resp:  # the root leads to the page
                assert resp.status == 200 and resp.url.path == "/dashboard"
                page = await resp.text()
                assert 'id="hf"' in page and resp.headers["Content-Security-Policy"].startswith("default-src 'none'")
            async with http.get(f"{server.url}/dashboard?token=anything", allow_redirects=False) as resp:
                assert (resp.status, resp.headers["Location"]) == (303, "/dashboard")
            async with http.get(f"{server.url}/history") as resp:
                assert resp.status == 404  # this server was given no journal to read
    finally:
        await server.stop()


async def test_guessing_the_token_is_stopped_after_ten_wrong_tries_a_minute(bot: tuple[StatusServer, Path]) -> None:
    server, _ = bot
    async with aiohttp.ClientSession() as http:
        for _ in range(10):
            async with http.post(f"{server.url}/login", data={"token": "guess"}, allow_redirects=False) as resp:
                assert resp.status == 401
        async with http.post(f"{server.url}/login", data={"token": TOKEN}, allow_redirects=False) as resp:
            assert resp.status == 429  # even the right one, until the minute is over
            assert "Too many wrong tokens" in await resp.text()
        # The bearer token (scripts, the CLI) is another door and still opens.
        async with http.get(f"{server.url}/status", headers={"Authorization": f"Bearer {TOKEN}"}) as resp:
            assert resp.status == 200
