"""PaperEngine.amend: Binance's PUT order (re-size and re-price a resting limit), added for the devnet exchange."""

from __future__ import annotations

import pytest

from bot.domain.orders import OrderRequest, OrderStatus, OrderType, Side
from bot.paper import EngineSettings, PaperEngine
from bot.paper.errors import InsufficientMargin, PrecisionError
from bot.venues.ccxt.registry import builtin_instrument

EXACT = EngineSettings(slippage_bps=0.0, spread_bps=0.0, leverage=10.0)


def resting_limit_short(wallet_btc: float = 1.0) -> PaperEngine:
    e = PaperEngine(builtin_instrument("binancecoinm"), EXACT, wallet_btc=wallet_btc, now_ms=60_000)
    e.move(50_000.0)
    e.submit(OrderRequest("L1", Side.SELL, OrderType.LIMIT, 10, price=51_000.0))
    return e


def test_amend_moves_a_resting_limit_and_it_fills_at_its_new_price() -> None:
    e = resting_limit_short()
    amended = e.amend("L1", 20, 50_500.0)
    assert amended is not None and (amended.contracts, amended.price, amended.status) == (
        20,
        50_500.0,
        OrderStatus.OPEN,
    )
    e.move(50_600.0)
    assert e.position().contracts == -20 and e.position().entry_price == 50_500.0


def test_amend_through_the_book_fills_at_once_as_taker() -> None:
    e = resting_limit_short()
    amended = e.amend("L1", 10, 49_000.0)  # a sell limit under the bid
    assert amended is not None and amended.status is OrderStatus.FILLED
    assert e.position().contracts == -10 and e.open_orders() == ()


def test_amend_is_checked_like_a_new_order() -> None:
    e = resting_limit_short(wallet_btc=0.002)
    with pytest.raises(PrecisionError):
        e.amend("L1", 10, 50_500.05)
    with pytest.raises(InsufficientMargin):
        e.amend("L1", 10_000, 50_500.0)
    assert e.amend("nope", 1, 50_000.0) is None
    e.cancel("L1")
    with pytest.raises(ValueError):
        e.amend("L1", 10, 50_500.0)
