"""The paper engine against hand-computed inverse-contract cases (Binance COIN-M: $100 contracts)."""

from __future__ import annotations

import json
import math

import pytest

from bot.domain.inverse import EIGHT_HOURS_MS
from bot.domain.orders import FundingPayment, OrderRequest, OrderStatus, OrderType, Side
from bot.errors import OrderRejected
from bot.paper import EngineSettings, PaperEngine
from bot.paper.errors import (
    InsufficientMargin,
    NoMarketPrice,
    PrecisionError,
    ReduceOnlyRejected,
    WouldTriggerImmediately,
)
from bot.venues.ccxt.registry import builtin_instrument

BINANCE = builtin_instrument("binancecoinm")
T0 = 1_600_000_000_000 - 1_600_000_000_000 % EIGHT_HOURS_MS + 60_000  # just after a funding time
EXACT = EngineSettings(slippage_bps=0.0, spread_bps=0.0, leverage=10.0)


def engine(wallet_btc: float = 1.0, price: float = 50_000.0, settings: EngineSettings = EXACT) -> PaperEngine:
    e = PaperEngine(BINANCE, settings, wallet_btc=wallet_btc, now_ms=T0)
    e.move(price)
    return e


def sell(cid: str, contracts: int, **kw: object) -> OrderRequest:
    return OrderRequest(cid, Side.SELL, OrderType.MARKET, contracts, **kw)  # type: ignore[arg-type]


def test_market_short_fills_at_the_bid_and_pays_the_taker_fee() -> None:
    e = engine()
    order = e.submit(sell("s1", 100))
    assert order.status is OrderStatus.FILLED and order.average_price == 50_000.0
    # $10,000 face at 50,000 is 0.2 BTC; the 0.05 % taker fee is 0.0001 BTC.
    assert e.fees_btc == pytest.approx(0.0001)
    assert e.wallet_btc == pytest.approx(1.0 - 0.0001)
    assert (e.contracts, e.entry_price) == (-100, 50_000.0)


def test_short_gains_btc_when_price_falls_and_realises_it_on_close() -> None:
    e = engine()
    e.submit(sell("s1", 100))
    e.move(40_000.0)
    # 10,000 * (1/40,000 - 1/50,000) = 0.05 BTC.
    assert e.unrealized_pnl_btc() == pytest.approx(0.05)
    e.submit(OrderRequest("b1", Side.BUY, OrderType.MARKET, 100, reduce_only=True))
    assert e.contracts == 0
    assert e.realized_pnl_btc == pytest.approx(0.05)
    assert e.wallet_btc == pytest.approx(1.0 + 0.05 - 0.0001 - 10_000 / 40_000 * 0.0005)


def test_adding_to_a_short_averages_the_entry_harmonically() -> None:
    e = engine()
    e.submit(sell("s1", 100))
    e.move(40_000.0)
    e.submit(sell("s2", 100))
    assert e.entry_price == pytest.approx(200 / (100 / 50_000 + 100 / 40_000))  # 44,444.44, not 45,000


def test_market_orders_pay_spread_and_slippage() -> None:
    e = engine(settings=EngineSettings(slippage_bps=2.0, spread_bps=2.0))
    e.submit(sell("s1", 10))
    assert e.position().entry_price == pytest.approx(50_000 * (1 - 0.0001) * (1 - 0.0002))


def test_resting_limit_fills_at_its_price_as_maker_when_the_last_price_reaches_it() -> None:
    e = engine()
    e.submit(OrderRequest("l1", Side.SELL, OrderType.LIMIT, 100, price=51_000.0))
    assert e.move(50_900.0) == 0 and e.contracts == 0
    assert e.move(51_200.0) == 1
    assert (e.contracts, e.entry_price) == (-100, 51_000.0)
    assert e.fees_btc == pytest.approx(10_000 / 51_000 * 0.0001)


def test_marketable_limit_fills_at_once_as_taker() -> None:
    e = engine()
    order = e.submit(OrderRequest("l1", Side.SELL, OrderType.LIMIT, 100, price=49_000.0))
    assert order.status is OrderStatus.FILLED and order.average_price == 50_000.0
    assert e.fees_btc == pytest.approx(10_000 / 50_000 * 0.0005)


def test_positive_funding_is_paid_by_longs_to_shorts_every_8_hours() -> None:
    short = engine()
    short.submit(sell("s1", 100))
    long_ = engine()
    long_.submit(OrderRequest("b1", Side.BUY, OrderType.MARKET, 100))
    for e in (short, long_):
        assert e.advance_time(T0 + EIGHT_HOURS_MS - 120_000) == 0.0  # before the next boundary: nothing
        e.advance_time(T0 + 2 * EIGHT_HOURS_MS)  # crosses two boundaries
    # 10,000 USD / 50,000 * 0.0001 = 0.00002 BTC per payment.
    assert short.funding_btc == pytest.approx(2 * 0.00002)
    assert long_.funding_btc == pytest.approx(-2 * 0.00002)


def test_funding_follows_a_rate_series() -> None:
    e = engine()
    e.submit(sell("s1", 100))
    boundary = (T0 // EIGHT_HOURS_MS + 1) * EIGHT_HOURS_MS
    e.set_funding_series([boundary], [-0.001])  # shorts pay when the rate is negative
    e.advance_time(boundary)
    assert e.funding_btc == pytest.approx(-10_000 / 50_000 * 0.001)


def test_each_funding_payment_is_kept_with_its_rate_and_position_and_survives_a_restart() -> None:
    e = engine()
    e.submit(sell("s1", 100))
    first = (T0 // EIGHT_HOURS_MS + 1) * EIGHT_HOURS_MS
    e.set_funding_series([first + EIGHT_HOURS_MS], [-0.0003])
    e.advance_time(first + EIGHT_HOURS_MS + 1)  # two boundaries: the fixed rate, then the series' rate
    assert e.funding_payments() == [
        FundingPayment(first, pytest.approx(0.00002), 0.0001, -100),  # type: ignore[arg-type]
        FundingPayment(first + EIGHT_HOURS_MS, pytest.approx(-0.00006), -0.0003, -100),  # type: ignore[arg-type]
    ]
    assert sum(p.amount_btc for p in e.funding_payments()) == pytest.approx(e.funding_btc)
    assert e.funding_payments(since_ms=first + 1) == e.funding_payments()[1:]
    restored = PaperEngine.from_dict(json.loads(json.dumps(e.to_dict())))
    assert restored.funding_payments() == e.funding_payments()
    older = {k: v for k, v in e.to_dict().items() if k != "funding_payments"}  # saved before payments were kept
    assert PaperEngine.from_dict(older).funding_payments() == []


def test_stop_triggers_on_the_mark_not_the_last_price() -> None:
    e = engine()
    e.submit(sell("s1", 100))
    e.submit(OrderRequest("stop", Side.BUY, OrderType.STOP_MARKET, 100, trigger_price=52_000.0, reduce_only=True))
    e.update_market(mark=51_000.0, last=53_000.0)  # a wick in the last price: the mark stays below
    assert e.contracts == -100
    e.update_market(mark=52_500.0)
    assert e.contracts == 0
    assert e.order("stop") is not None and e.order("stop").status is OrderStatus.FILLED  # type: ignore[union-attr]
    assert e.fills()[-1].price == 53_000.0  # a stop fills as a market order on the book


def test_stop_fills_at_its_trigger_on_a_continuous_path_and_at_the_price_after_a_gap() -> None:
    e = engine()
    e.submit(sell("s1", 100))
    e.submit(OrderRequest("stop", Side.BUY, OrderType.STOP_MARKET, 50, trigger_price=52_000.0, reduce_only=True))
    e.submit(OrderRequest("stop2", Side.BUY, OrderType.STOP_MARKET, 50, trigger_price=53_000.0, reduce_only=True))
    e.move(52_500.0)
    assert e.fills()[-1].price == pytest.approx(52_000.0)
    e.move(55_000.0, continuous=False)
    assert e.fills()[-1].price == pytest.approx(55_000.0)
    assert e.contracts == 0


def test_reduce_only_stop_is_cut_to_the_position_and_expires_when_flat() -> None:
    e = engine()
    e.submit(sell("s1", 30))
    e.submit(OrderRequest("stop", Side.BUY, OrderType.STOP_MARKET, 100, trigger_price=52_000.0, reduce_only=True))
    e.submit(OrderRequest("late", Side.BUY, OrderType.STOP_MARKET, 10, trigger_price=53_000.0, reduce_only=True))
    e.move(54_000.0)
    assert e.contracts == 0  # cut to 30, never flipped long
    assert e.order("late").status is OrderStatus.CANCELED  # type: ignore[union-attr]


def test_errors_mirror_the_exchange() -> None:
    e = engine(wallet_btc=0.01)
    with pytest.raises(ReduceOnlyRejected) as exc:
        e.submit(OrderRequest("r", Side.BUY, OrderType.MARKET, 10, reduce_only=True))
    assert exc.value.code == -2022 and isinstance(exc.value, OrderRejected)
    with pytest.raises(WouldTriggerImmediately):
        e.submit(OrderRequest("t", Side.BUY, OrderType.STOP_MARKET, 1, trigger_price=49_000.0))
    with pytest.raises(PrecisionError):
        e.submit(OrderRequest("p", Side.SELL, OrderType.LIMIT, 1, price=50_000.05))
    # 100 contracts at 10x need 0.02 BTC of margin; the wallet has 0.01.
    with pytest.raises(InsufficientMargin):
        e.submit(sell("m", 100))
    assert e.contracts == 0 and e.fill_count == 0 and e.open_orders() == ()
    with pytest.raises(NoMarketPrice):
        PaperEngine(BINANCE, EXACT, 1.0).submit(sell("x", 1))


def test_reduce_only_that_would_increase_a_short_is_rejected() -> None:
    e = engine()
    e.submit(sell("s1", 10))
    with pytest.raises(ReduceOnlyRejected):
        e.submit(sell("s2", 10, reduce_only=True))


def test_hedge_is_liquidated_at_its_liquidation_price_when_margin_runs_out() -> None:
    e = engine(wallet_btc=0.02, settings=EngineSettings(slippage_bps=0, leverage=20.0))
    e.submit(sell("s1", 100))
    wallet = 0.02 - 0.0001
    face = 10_000.0
    liq = face * (1 - 0.004) / (face / 50_000 - wallet)  # about 55,303
    assert e.liquidation_price() == pytest.approx(liq)
    e.move(liq * 0.999)
    assert e.contracts == -100
    e.move(60_000.0)
    assert e.contracts == 0 and e.liquidations == 1
    assert e.fills()[-1].price == pytest.approx(liq)
    # Closed at the liquidation price the account is left with its maintenance margin, which is taken.
    assert e.wallet_btc == pytest.approx(0.0, abs=1e-9)


def test_isolated_margin_limits_the_loss_to_the_position_margin() -> None:
    e = engine(wallet_btc=1.0, settings=EngineSettings(slippage_bps=0, leverage=20.0, margin_mode="isolated"))
    e.submit(sell("s1", 100))
    margin = 10_000 / 50_000 / 20  # 0.01 BTC
    assert e.isolated_margin_btc == pytest.approx(margin)
    liq = e.liquidation_price()
    assert liq == pytest.approx(10_000 * 0.996 / (0.2 - margin))
    e.move(70_000.0, continuous=False)  # a gap far beyond the liquidation price
    assert e.contracts == 0
    assert e.wallet_btc == pytest.approx(1.0 - 0.0001 - margin)


def test_same_client_id_never_fills_twice() -> None:
    e = engine()
    first = e.submit(sell("s1", 100))
    again = e.submit(sell("s1", 100))
    assert again == first and e.fill_count == 1 and e.contracts == -100


def test_restart_from_saved_state_gives_the_same_account_and_no_duplicate_fill() -> None:
    e = engine()
    e.submit(sell("entry", 100))
    stop = OrderRequest("stop", Side.BUY, OrderType.STOP_MARKET, 100, trigger_price=55_000.0, reduce_only=True)
    e.submit(stop)
    e.move(48_000.0)
    saved = json.loads(json.dumps(e.to_dict()))
    restored = PaperEngine.from_dict(saved)
    assert restored.to_dict() == e.to_dict()
    # The bot restarts and replays its last decision: same client ids, nothing new happens.
    restored.submit(sell("entry", 100))
    restored.submit(stop)
    assert restored.fill_count == 1 and restored.contracts == -100 and len(restored.open_orders()) == 1
    # The restored stop still protects the position.
    restored.move(56_000.0)
    assert restored.contracts == 0 and restored.fills()[-1].price == pytest.approx(55_000.0)


def test_withdraw_only_what_is_free() -> None:
    e = engine(wallet_btc=0.1)
    e.submit(sell("s1", 100))  # needs 0.02 BTC at 10x
    with pytest.raises(InsufficientMargin):
        e.withdraw(0.09)
    e.withdraw(0.05)
    assert e.wallet_btc == pytest.approx(0.1 - 0.0001 - 0.05)
    assert math.isfinite(e.liquidation_price())
