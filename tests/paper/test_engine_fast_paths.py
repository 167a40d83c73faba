"""The replay's shortcuts in the paper engine give what the plain calls give."""

from __future__ import annotations

import random

from bot.domain.orders import OrderRequest, OrderType, Side
from bot.paper import EngineSettings, PaperEngine
from bot.venues.ccxt.registry import builtin_instrument

BINANCE = builtin_instrument("binancecoinm")
T0 = 1_600_000_000_000
SETTINGS = EngineSettings(slippage_bps=2.0, spread_bps=2.0, leverage=10.0)


def _short_with_stop(stop: float) -> PaperEngine:
    e = PaperEngine(BINANCE, SETTINGS, wallet_btc=0.4, now_ms=T0)
    e.move(50_000.0)
    e.submit(OrderRequest("s", Side.SELL, OrderType.MARKET, 150))
    e.submit(OrderRequest("stop", Side.BUY, OrderType.STOP_MARKET, 150, trigger_price=stop, reduce_only=True))
    return e


def _state(e: PaperEngine) -> tuple[object, ...]:
    return (e.mark, e.last, e.bid, e.ask, e.contracts, e.entry_price, e.wallet_btc, e.fill_count, e.open_orders())


def test_move_bar_is_move_high_then_low_then_close() -> None:
    rng = random.Random(7)
    triggered = 0
    for _ in range(300):
        stop = round(rng.uniform(50_100.0, 53_000.0), 1)
        fast, slow = _short_with_stop(stop), _short_with_stop(stop)
        price = 50_000.0
        for _ in range(20):
            close = price * (1 + rng.gauss(0.0, 0.004))
            high = max(price, close) * (1 + abs(rng.gauss(0.0, 0.002)))
            low = min(price, close) * (1 - abs(rng.gauss(0.0, 0.002)))
            fills = fast.move_bar(high, low, close)
            assert fills == slow.move(high) + slow.move(low) + slow.move(close)
            assert _state(fast) == _state(slow)
            triggered += fills
            price = close
    assert triggered > 20  # the bars crossed stops, not only the quiet fast path


def test_funding_rate_until_gives_the_rate_and_when_it_next_changes() -> None:
    e = PaperEngine(BINANCE, SETTINGS, wallet_btc=0.4, now_ms=T0)
    assert e.funding_rate_until(T0) == (SETTINGS.fixed_funding_rate, float("inf"))
    e.set_funding_series([T0, T0 + 100, T0 + 200], [0.0001, -0.0002, 0.0003])
    assert e.funding_rate_until(T0 - 1) == (SETTINGS.fixed_funding_rate, T0)
    assert e.funding_rate_until(T0 + 150) == (-0.0002, T0 + 200)
    assert e.funding_rate_until(T0 + 200) == (0.0003, float("inf"))
    for t in range(T0 - 5, T0 + 205, 7):
        assert e.funding_rate_until(t)[0] == e.funding_rate_at(t)
