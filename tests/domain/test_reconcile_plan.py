"""The pure reconciler: plan + account -> minimal actions, with deterministic client ids."""

from __future__ import annotations

from bot.domain.orders import AccountState, Order, OrderStatus, OrderType, Position, Side
from bot.domain.plan import ConditionalEntry, EntryStyle, HedgePlan, StopTranche
from bot.venues.ccxt.registry import builtin_instrument
from bot.venues.reconcile import Cancel, Place, ReconcileSettings, client_id, foreign_orders, reconcile

BINANCE = builtin_instrument("binancecoinm")


def account(short: int = 0, orders: tuple[Order, ...] = (), mark: float = 60_000.0) -> AccountState:
    return AccountState(
        wallet_btc=0.1, position=Position(-short, 60_000.0 if short else 0.0, 0.0), open_orders=orders, mark_price=mark
    )


def resting(req: Place) -> Order:
    o = req.order
    return Order(
        o.client_id,
        "v" + o.client_id,
        o.side,
        o.type,
        o.contracts,
        0,
        OrderStatus.OPEN,
        o.price,
        o.trigger_price,
        o.reduce_only,
    )


PLAN = HedgePlan(hedge_usd=5_000, contracts=50, leverage=5, stops=(StopTranche(69_000.0, 50),), reason="t")


def test_opens_the_short_then_its_stop() -> None:
    actions = reconcile(PLAN, account(), BINANCE, decision_seq=1)
    assert [type(a) for a in actions] == [Place, Place]
    entry, stop = (a.order for a in actions if isinstance(a, Place))
    assert (entry.side, entry.type, entry.contracts, entry.reduce_only) == (Side.SELL, OrderType.MARKET, 50, False)
    assert (stop.side, stop.type, stop.trigger_price, stop.reduce_only) == (
        Side.BUY,
        OrderType.STOP_MARKET,
        69_000.0,
        True,
    )


def test_same_plan_on_a_matching_account_sends_nothing() -> None:
    first = reconcile(PLAN, account(), BINANCE, decision_seq=1)
    stop = next(a for a in first if isinstance(a, Place) and a.order.type is OrderType.STOP_MARKET)
    assert reconcile(PLAN, account(50, (resting(stop),)), BINANCE, decision_seq=2) == []


def test_ids_are_deterministic_and_venue_safe() -> None:
    a = reconcile(PLAN, account(), BINANCE, decision_seq=7)
    b = reconcile(PLAN, account(), BINANCE, decision_seq=7)
    assert a == b
    for action in a:
        assert isinstance(action, Place)
        cid = action.order.client_id
        assert cid.isalnum() and len(cid) <= 32
    assert client_id("x", "entry", 1) != client_id("y", "entry", 1)


def test_small_changes_are_skipped_and_stop_moves_below_threshold_are_kept() -> None:
    first = reconcile(PLAN, account(), BINANCE, decision_seq=1)
    stop = resting(next(a for a in first if isinstance(a, Place) and a.order.type is OrderType.STOP_MARKET))
    nudged = PLAN.with_(contracts=51, stops=(StopTranche(69_050.0, 50),))
    settings = ReconcileSettings(min_change_contracts=2, stop_move_bps=25)
    assert reconcile(nudged, account(50, (stop,)), BINANCE, 2, settings) == []


def test_a_moved_stop_is_placed_before_the_old_one_is_cancelled() -> None:
    first = reconcile(PLAN, account(), BINANCE, decision_seq=1)
    stop = resting(next(a for a in first if isinstance(a, Place) and a.order.type is OrderType.STOP_MARKET))
    moved = PLAN.with_(stops=(StopTranche(66_000.0, 50),))
    actions = reconcile(moved, account(50, (stop,)), BINANCE, 2)
    assert isinstance(actions[0], Place) and actions[0].order.trigger_price == 66_000.0
    assert isinstance(actions[1], Cancel) and actions[1].client_id == stop.client_id


def test_reducing_buys_back_reduce_only() -> None:
    smaller = PLAN.with_(contracts=20, stops=(StopTranche(69_000.0, 20),))
    actions = reconcile(smaller, account(50), BINANCE, 3)
    entry = actions[0]
    assert isinstance(entry, Place)
    assert (entry.order.side, entry.order.contracts, entry.order.reduce_only) == (Side.BUY, 30, True)


def test_dca_moves_one_slice_at_a_time() -> None:
    dca = PLAN.with_(entry=EntryStyle.DCA, max_step_contracts=10)
    entry = reconcile(dca, account(), BINANCE, 1)[0]
    assert isinstance(entry, Place) and entry.order.contracts == 10


def test_conditional_entries_never_rest_on_the_venue_and_old_ones_are_cancelled() -> None:
    """C5: a resting conditional sell fills while the bot is down into a short with no stop; the bot holds them."""
    layered = PLAN.with_(
        conditional=(ConditionalEntry(55_000.0, 20, 57_000.0), ConditionalEntry(61_000.0, 5, 63_000.0))
    )
    old = Order("hbCold", "v9", Side.SELL, OrderType.STOP_MARKET, 20, 0, OrderStatus.OPEN, trigger_price=55_000.0)
    actions = reconcile(layered, account(50, (old,)), BINANCE, 1)
    assert not [a for a in actions if isinstance(a, Place) and a.order.side is Side.SELL]
    assert [a.client_id for a in actions if isinstance(a, Cancel)] == ["hbCold"]


def test_foreign_orders_are_never_touched() -> None:
    foreign = Order("manual-1", "v1", Side.BUY, OrderType.LIMIT, 5, 0, OrderStatus.OPEN, price=50_000.0)
    actions = reconcile(PLAN.with_(contracts=0, stops=()), account(0, (foreign,)), BINANCE, 1)
    assert actions == []
    assert foreign_orders([foreign]) == [foreign]


def test_a_stop_wanted_again_after_cancel_gets_a_fresh_id() -> None:
    first = reconcile(PLAN, account(), BINANCE, decision_seq=1)
    stop = next(a.order for a in first if isinstance(a, Place) and a.order.type is OrderType.STOP_MARKET)
    # Later the stop was cancelled (moved away and back): the same stop must go out under a new id.
    again = reconcile(PLAN, account(50), BINANCE, decision_seq=9)
    new_stop = next(a.order for a in again if isinstance(a, Place) and a.order.type is OrderType.STOP_MARKET)
    assert new_stop.trigger_price == stop.trigger_price
    assert new_stop.client_id != stop.client_id
