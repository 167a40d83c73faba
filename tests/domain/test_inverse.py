"""Inverse contract math: hand-computed cases and the identities that must hold for any input."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.domain import inverse

prices = st.floats(min_value=1_000, max_value=500_000, allow_nan=False)
counts = st.integers(min_value=1, max_value=100_000)
sizes = st.sampled_from([1.0, 10.0, 100.0])


def test_short_pnl_matches_the_textbook_formula() -> None:
    # 50 BTCUSD_PERP (100 USD) short from 60,000 to 50,000: 5,000 * (1/50,000 - 1/60,000) BTC.
    pnl = inverse.pnl_btc(-50, 100.0, 60_000.0, 50_000.0)
    assert pnl == pytest.approx(5_000 * (1 / 50_000 - 1 / 60_000))
    assert pnl == pytest.approx(0.0166666667)
    assert inverse.pnl_usd(-50, 100.0, 60_000.0, 50_000.0) == pytest.approx(833.3333333)


def test_notional_conversions() -> None:
    assert inverse.usd_notional(50, 100.0) == 5_000.0
    assert inverse.btc_notional(50, 100.0, 60_000.0) == pytest.approx(0.0833333333)
    assert inverse.contracts_for_usd(5_000.0, 100.0) == 50.0


@given(counts, sizes, prices, prices)
def test_long_and_short_pnl_are_opposite(n: int, size: float, entry: float, price: float) -> None:
    assert inverse.pnl_btc(n, size, entry, price) == pytest.approx(-inverse.pnl_btc(-n, size, entry, price))


@given(counts, sizes, prices, prices, prices)
def test_pnl_is_path_independent(n: int, size: float, entry: float, mid: float, end: float) -> None:
    # Closing at mid and reopening at mid earns the same BTC as holding from entry to end.
    split = inverse.pnl_btc(-n, size, entry, mid) + inverse.pnl_btc(-n, size, mid, end)
    scale = n * size / min(entry, mid, end)
    assert split == pytest.approx(inverse.pnl_btc(-n, size, entry, end), rel=1e-9, abs=1e-12 * scale)


@given(counts, counts, sizes, prices, prices, prices)
def test_harmonic_entry_keeps_pnl_additive(a: int, b: int, size: float, ea: float, eb: float, p: float) -> None:
    avg = inverse.harmonic_entry(a, ea, b, eb)
    combined = inverse.pnl_btc(-(a + b), size, avg, p)
    separate = inverse.pnl_btc(-a, size, ea, p) + inverse.pnl_btc(-b, size, eb, p)
    scale = (a + b) * size / min(ea, eb, p)  # BTC notional: the size of the rounding error
    assert combined == pytest.approx(separate, rel=1e-9, abs=1e-12 * scale)
    assert min(ea, eb) <= avg * (1 + 1e-12) and avg <= max(ea, eb) * (1 + 1e-12)


@given(counts, sizes, prices)
def test_one_x_short_against_its_own_margin_has_no_delta(n: int, size: float, price: float) -> None:
    margin = inverse.btc_notional(n, size, price)  # 1x: margin worth the short's face value
    assert inverse.net_delta_usd(margin, price, -n, size) == pytest.approx(0.0, abs=1e-6)


@given(counts, sizes, prices, prices, st.floats(min_value=0.0, max_value=2.0))
def test_net_delta_is_the_derivative_of_account_value(
    n: int, size: float, entry: float, price: float, margin: float
) -> None:
    # Account USD value V(P) = (M + pnl(P)) * P; delta = P * dV/dP must equal equity*P - N*S.
    def value(p: float) -> float:
        return (margin + inverse.pnl_btc(-n, size, entry, p)) * p

    h = price * 1e-6
    numeric = price * (value(price + h) - value(price - h)) / (2 * h)
    equity = margin + inverse.pnl_btc(-n, size, entry, price)
    assert inverse.net_delta_usd(equity, price, -n, size) == pytest.approx(numeric, rel=1e-4, abs=1e-3)


def test_margin_requirements() -> None:
    assert inverse.initial_margin_btc(-50, 100.0, 60_000.0, 5.0) == pytest.approx(5_000 / 60_000 / 5)
    assert inverse.maintenance_margin_btc(-50, 100.0, 60_000.0, 0.004) == pytest.approx(5_000 / 60_000 * 0.004)
    with pytest.raises(ValueError, match="leverage"):
        inverse.initial_margin_btc(1, 100.0, 60_000.0, 0.0)


def test_isolated_short_liquidation_price_by_hand() -> None:
    # 5x short of 5,000 USD at 60,000: margin 1/60 BTC. Equity at P equals maintenance at P when
    # 1/60 + 5000/P - 5000/60000 = 0.004 * 5000/P  ->  P = 5000 * 0.996 / (5000/60000 - 1/60) = 74,700.
    margin = inverse.initial_margin_btc(-50, 100.0, 60_000.0, 5.0)
    assert inverse.liquidation_price(-50, 100.0, 60_000.0, margin, 0.004) == pytest.approx(74_700.0)


def test_fully_margined_short_cannot_be_liquidated() -> None:
    assert inverse.liquidation_price(-50, 100.0, 60_000.0, 5_000 / 60_000, 0.004) == math.inf


@given(counts, sizes, prices, st.floats(min_value=1.5, max_value=100.0), st.floats(min_value=0.0, max_value=0.02))
def test_liquidation_price_round_trip(n: int, size: float, entry: float, leverage: float, mmr: float) -> None:
    assume(mmr < 0.9 / leverage)  # otherwise the position is liquidated the moment it opens
    for signed in (-n, n):
        margin = inverse.initial_margin_btc(signed, size, entry, leverage)
        liq = inverse.liquidation_price(signed, size, entry, margin, mmr)
        if not math.isfinite(liq):
            continue
        # At the liquidation price, equity equals maintenance margin.
        equity = margin + inverse.pnl_btc(signed, size, entry, liq)
        expected = inverse.maintenance_margin_btc(signed, size, liq, mmr)
        assert equity == pytest.approx(expected, rel=1e-7, abs=1e-9 * margin)
        back = inverse.margin_for_liquidation_price(signed, size, entry, liq, mmr)
        assert back == pytest.approx(margin, rel=1e-7)
        # A short is liquidated above entry, a long below.
        assert (liq > entry) if signed < 0 else (liq < entry)


def test_funding_sign_positive_rate_pays_shorts() -> None:
    assert inverse.funding_btc(-50, 100.0, 60_000.0, 0.0001) == pytest.approx(5_000 / 60_000 * 0.0001)
    assert inverse.funding_btc(50, 100.0, 60_000.0, 0.0001) < 0
    assert inverse.funding_btc(-50, 100.0, 60_000.0, -0.0001) < 0
