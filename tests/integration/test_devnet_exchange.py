"""The real ccxt binancecoinm client, over HTTP, against the local COIN-M server (in-process, free port).

Nothing is mocked: ccxt signs and sends real requests, the server checks them like Binance and trades
on the paper engine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import ccxt.async_support as ccxt
import pytest
from pydantic import SecretStr

from bot.clock import wall_ms
from bot.config import ExchangeSettings
from bot.devnet.exchange import DEFAULT_API_KEY, DEFAULT_API_SECRET, ExchangeServer
from bot.domain import inverse
from bot.domain.orders import OrderRequest, OrderStatus, OrderType, Side
from bot.domain.plan import HedgePlan, StopTranche
from bot.errors import AuthFailed, OrderRejected
from bot.venues.ccxt.client import build_exchange
from bot.venues.ccxt.errors import RetryPolicy
from bot.venues.ccxt.venue import CcxtVenue
from bot.venues.reconcile import Cancel, Place, ReconcileSettings, reconcile

pytestmark = pytest.mark.integration
SYMBOL = "BTC/USD:BTC"
FAST_RETRY = RetryPolicy(attempts=3, first_delay_s=0.01, max_delay_s=0.05)


def devnet_settings(url: str, secret: str = DEFAULT_API_SECRET) -> ExchangeSettings:
    return ExchangeSettings(
        id="binancecoinm",
        api_key=SecretStr(DEFAULT_API_KEY),
        api_secret=SecretStr(secret),
        api_url=url,
        margin_mode="isolated",
    )


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ExchangeServer]:
    srv = ExchangeServer(port=0, balance_btc=1.0, mark_price=60_000.0, state_path=tmp_path / "exchange.sqlite")
    await srv.start()
    yield srv
    await srv.stop()


@pytest.fixture
async def venue(server: ExchangeServer) -> AsyncIterator[CcxtVenue]:
    v = CcxtVenue(devnet_settings(server.url), retry=FAST_RETRY)
    await v.connect()
    yield v
    await v.close()


async def set_mark(server: ExchangeServer, price: float) -> None:
    """Through the admin route, as a demo script would."""
    async with aiohttp.ClientSession() as http:
        resp = await http.post(f"{server.url}/_devnet/mark_price", json={"symbol": "BTCUSD_PERP", "price": price})
        assert resp.status == 200, await resp.text()


async def test_a_hedge_is_opened_protected_and_stopped_out_on_the_mark(
    server: ExchangeServer, venue: CcxtVenue
) -> None:
    assert venue.instrument.contract_size_usd == 100.0 and venue.instrument.venue_symbol == "BTCUSD_PERP"
    await venue.configure(leverage=5, margin_mode="isolated")
    await venue.configure(leverage=5, margin_mode="isolated")  # again: "no need to change" is fine

    short = await venue.place(OrderRequest("hbEhedge1", Side.SELL, OrderType.MARKET, 50))
    assert short.status is OrderStatus.FILLED and short.filled_contracts == 50
    entry = 60_000.0 * (1 - 1 / 10_000)  # the bid: mark minus the 1 bps half-spread
    stop = await venue.place(
        OrderRequest("hbSstop1", Side.BUY, OrderType.STOP_MARKET, 50, trigger_price=63_000.0, reduce_only=True)
    )
    assert stop.status is OrderStatus.OPEN

    await set_mark(server, 61_000.0)
    state = await venue.account()
    assert state.position.contracts == -50 and state.position.entry_price == pytest.approx(entry)
    assert state.position.leverage == 5
    assert state.mark_price == 61_000.0
    assert state.position.unrealized_pnl_btc == pytest.approx(inverse.pnl_btc(-50, 100, entry, 61_000.0), abs=1e-8)
    fee = 50 * 100 / entry * venue.instrument.taker_fee
    assert state.wallet_btc == pytest.approx(1.0 - fee, abs=1e-8)
    [resting] = state.open_orders
    assert (resting.client_id, resting.type, resting.trigger_price, resting.reduce_only) == (
        "hbSstop1",
        OrderType.STOP_MARKET,
        63_000.0,
        True,
    )

    await set_mark(server, 64_000.0)  # through the stop
    state = await venue.account()
    assert state.position.contracts == 0 and state.open_orders == ()
    fills = await venue.fills(0)
    assert [(f.side, f.contracts) for f in fills] == [(Side.SELL, 50), (Side.BUY, 50)]
    exit_price = fills[1].price
    assert exit_price == pytest.approx(63_000.0 * (1 + 1 / 10_000))  # triggered at its level, bought at the ask
    realised = inverse.pnl_btc(-50, 100, entry, exit_price)
    assert state.wallet_btc == pytest.approx(1.0 + realised - fills[0].fee_btc - fills[1].fee_btc, abs=1e-8)
    assert (await venue.find("hbSstop1")).status is OrderStatus.FILLED  # type: ignore[union-attr]


async def test_limit_orders_are_amended_and_cancelled(server: ExchangeServer, venue: CcxtVenue) -> None:
    placed = await venue.place(OrderRequest("hbElimit1", Side.SELL, OrderType.LIMIT, 10, price=61_000.0))
    assert placed.status is OrderStatus.OPEN
    raw = await venue.exchange.edit_order(placed.venue_id, SYMBOL, "limit", "sell", 12, 61_500.0)
    assert (raw["amount"], raw["price"], raw["status"]) == (12.0, 61_500.0, "open")
    [amended] = (await venue.account()).open_orders
    assert (amended.contracts, amended.price) == (12, 61_500.0)
    await venue.cancel("hbElimit1")
    await venue.cancel("hbElimit1")  # already gone: a no-op
    assert (await venue.account()).open_orders == ()
    await set_mark(server, 62_000.0)
    assert (await venue.account()).position.contracts == 0


async def test_a_retried_submit_with_the_same_client_id_does_not_double(
    server: ExchangeServer, venue: CcxtVenue
) -> None:
    order = OrderRequest("hbEretry1", Side.SELL, OrderType.MARKET, 7)
    first = await venue.place(order)
    again = await venue.place(order)  # a retry after a lost answer, or a restart
    assert again.venue_id == first.venue_id
    # Even a client that does not look first cannot double: Binance refuses the duplicate id.
    with pytest.raises(ccxt.ExchangeError, match="-4116"):
        await venue.exchange.create_order(SYMBOL, "market", "sell", 7, None, {"newClientOrderId": "hbEretry1"})
    assert (await venue.account()).position.contracts == -7


async def test_rejections_map_to_replan_not_retry(venue: CcxtVenue) -> None:
    with pytest.raises(OrderRejected, match="OrderImmediatelyFillable"):  # -2021: stop buy under the mark
        await venue.place(OrderRequest("hbSbad1", Side.BUY, OrderType.STOP_MARKET, 1, trigger_price=59_000.0))
    with pytest.raises(OrderRejected, match="InsufficientFunds"):  # -2019: 10 BTC of face on 1 BTC at 1x
        await venue.configure(leverage=1, margin_mode="isolated")
        await venue.place(OrderRequest("hbEbig1", Side.SELL, OrderType.MARKET, 6_000))
    with pytest.raises(OrderRejected, match="InvalidOrder"):  # -2022: reduce-only with nothing to reduce
        await venue.place(OrderRequest("hbEro1", Side.BUY, OrderType.MARKET, 1, reduce_only=True))
    with pytest.raises(ccxt.InvalidOrder, match="-4120"):  # a stop sent to the plain order endpoint
        await venue.exchange.dapiPrivatePostOrder(
            {"symbol": "BTCUSD_PERP", "side": "BUY", "type": "STOP_MARKET", "quantity": "1", "stopPrice": "65000"}
        )


async def test_bad_signatures_and_clock_skew_are_rejected(server: ExchangeServer) -> None:
    bad = CcxtVenue(devnet_settings(server.url, secret="not-the-secret"), retry=FAST_RETRY)
    await bad.connect()  # public endpoints need no signature
    with pytest.raises(AuthFailed, match="-1022"):
        await bad.account()
    await bad.close()

    skewed = build_exchange(devnet_settings(server.url), testnet=False)
    skewed.options["timeDifference"] = 30_000  # our clock 30 s behind the server's
    with pytest.raises(ccxt.InvalidNonce, match="-1021"):
        await skewed.fetch_balance()
    # The venue measures the offset and resends instead of failing.
    venue = CcxtVenue(devnet_settings(server.url), retry=FAST_RETRY, exchange=skewed)
    await venue.connect()
    assert (await venue.account()).wallet_btc == pytest.approx(1.0)
    await venue.close()


async def test_the_reconciler_reaches_the_plan_and_then_sends_nothing(server: ExchangeServer, venue: CcxtVenue) -> None:
    plan = HedgePlan(hedge_usd=2_000.0, contracts=20, leverage=5.0, stops=(StopTranche(66_000.0, 20),))
    await venue.configure(plan.leverage, "isolated")
    actions = reconcile(plan, await venue.account(), venue.instrument, decision_seq=1)
    assert [type(a).__name__ for a in actions] == ["Place", "Place"]
    for action in actions:
        if isinstance(action, Place):
            await venue.place(action.order)
        elif isinstance(action, Cancel):
            await venue.cancel(action.client_id)
    state = await venue.account()
    assert state.position.contracts == -20
    assert [(o.side, o.trigger_price, o.contracts) for o in state.open_orders] == [(Side.BUY, 66_000.0, 20)]
    assert reconcile(plan, state, venue.instrument, decision_seq=2) == []

    # A stop moved further than stop_move_bps is replaced, new one first.
    moved = plan.with_(stops=(StopTranche(67_000.0, 20),))
    actions = reconcile(moved, state, venue.instrument, 3, ReconcileSettings(stop_move_bps=25))
    assert [type(a).__name__ for a in actions] == ["Place", "Cancel"]


async def test_the_account_outlives_a_server_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    first = ExchangeServer(port=0, state_path=path)
    await first.start()
    venue = CcxtVenue(devnet_settings(first.url), retry=FAST_RETRY)
    await venue.connect()
    await venue.place(OrderRequest("hbEkeep1", Side.SELL, OrderType.MARKET, 9))
    await venue.close()
    await first.stop()

    second = ExchangeServer(port=0, state_path=path)
    await second.start()
    venue = CcxtVenue(devnet_settings(second.url), retry=FAST_RETRY)
    await venue.connect()
    try:
        assert (await venue.account()).position.contracts == -9
        assert (await venue.place(OrderRequest("hbEkeep1", Side.SELL, OrderType.MARKET, 9))).filled_contracts == 9
        assert (await venue.account()).position.contracts == -9
    finally:
        await venue.close()
        await second.stop()


async def test_the_order_log_witnesses_every_order_request_and_outlives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    first = ExchangeServer(port=0, state_path=path)
    await first.start()
    venue = CcxtVenue(devnet_settings(first.url), retry=FAST_RETRY)
    await venue.connect()
    await venue.place(OrderRequest("hbElog1", Side.SELL, OrderType.MARKET, 5))
    with pytest.raises(ccxt.ExchangeError, match="-4116"):  # the same id again, sent without a look-up
        await venue.exchange.create_order(SYMBOL, "market", "sell", 5, None, {"newClientOrderId": "hbElog1"})
    with pytest.raises(OrderRejected):  # -2021: a stop the mark has already crossed
        await venue.place(OrderRequest("hbSlog1", Side.BUY, OrderType.STOP_MARKET, 5, trigger_price=59_000.0))
    await venue.close()
    await first.stop()

    second = ExchangeServer(port=0, state_path=path)
    await second.start()
    try:
        async with aiohttp.ClientSession() as http:
            body = await (await http.get(f"{second.url}/_devnet/orders")).json()
    finally:
        await second.stop()
    assert [(row["client_id"], row["book"], row["outcome"]) for row in body["log"]] == [
        ("hbElog1", "order", "accepted"),
        ("hbElog1", "order", "rejected -4116"),
        ("hbSlog1", "algo", "rejected -2021"),
    ]
    assert [(o["client_id"], o["status"], o["filled_contracts"]) for o in body["orders"]] == [("hbElog1", "filled", 5)]
    assert body["contracts"] == -5


async def test_funding_that_falls_due_is_served_as_binance_income_history(tmp_path: Path) -> None:
    jump_ms = 0
    server = ExchangeServer(port=0, balance_btc=1.0, mark_price=60_000.0, clock=lambda: wall_ms() + jump_ms)
    await server.start()
    venue = CcxtVenue(devnet_settings(server.url), retry=FAST_RETRY)
    await venue.connect()
    try:
        await venue.place(OrderRequest("hbEfund1", Side.SELL, OrderType.MARKET, 50))
        assert await venue.funding(0) == []
        due = server.engine.next_funding_ms
        jump_ms = due - wall_ms() + 1_000  # the server's clock passes the next funding time
        await venue.exchange.load_time_difference()  # ccxt measures the server's clock from GET /time
        await set_mark(server, 60_000.0)  # the first request after the funding time pays it
        # The fixed 0.01 % rate at the 60,000 mark: the short receives it. Binance's income row has no rate.
        credited = inverse.funding_btc(-50, 100, 60_000.0, 0.0001)
        [payment] = await venue.funding(0)
        assert (payment.ts_ms, payment.rate_8h, payment.contracts) == (due, 0.0, 0)
        assert payment.amount_btc == pytest.approx(credited, abs=1e-8)  # Binance writes 8 decimals
        assert await venue.funding(due + 1) == []
        assert [p.ts_ms for p in await venue.funding(due)] == [due]
    finally:
        await venue.close()
        await server.stop()


async def test_the_cli_prints_ready_and_stops_on_sigterm() -> None:
    import asyncio
    import signal
    import sys

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "devnet",
        "exchange",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode()
    assert line.startswith("READY http://127.0.0.1:")
    async with aiohttp.ClientSession() as http:
        resp = await http.get(f"{line.split()[1]}/dapi/v1/time")
        assert "serverTime" in await resp.json()
    proc.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), timeout=30) == 0
