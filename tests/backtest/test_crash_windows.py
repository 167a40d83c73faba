"""The replay on the four shared crash windows: what a user would check."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from bot.backtest.data import Candles, align, load_candles, load_funding, parse_time_ms
from bot.backtest.run import Backtest, LendingSetup, backtest
from bot.plugins import loader as plugins
from bot.venues.ccxt.registry import builtin_instrument

WINDOWS = {
    # name: (BTC file, collateral file, start, end)
    "covid-2020-03": ("binance_BTCUSDT_1h.csv.gz", "binance_ETHUSDT_1h.csv.gz", "2020-03-05", "2020-03-19"),
    "may-2021": (
        "binance_BTCUSDT_5m_20201201-20210717.csv.gz",
        "binance_ETHUSDT_5m_20201201-20210717.csv.gz",
        "2021-05-12",
        "2021-05-26",
    ),
    "luna-2022-05": (
        "binance_BTCUSDT_5m_20220101-20220804.csv.gz",
        "binance_ETHUSDT_5m_20220101-20220804.csv.gz",
        "2022-05-03",
        "2022-05-17",
    ),
    "3ac-2022-06": (
        "binance_BTCUSDT_5m_20220101-20220804.csv.gz",
        "binance_ETHUSDT_5m_20220101-20220804.csv.gz",
        "2022-06-08",
        "2022-06-22",
    ),
}


@cache
def _candles(path: Path) -> Candles:
    return load_candles(path)


@cache
def _run(shared: Path, window: str, reserve_usd: float = 0.0) -> Backtest:
    btc_file, coll_file, start, end = WINDOWS[window]
    start_ms = parse_time_ms(start)
    bars = align(
        _candles(shared / btc_file), _candles(shared / coll_file), start_ms - 7 * 86_400_000, parse_time_ms(end)
    )
    strategies = [("dynamic", plugins.load("dynamic")), ("static50", plugins.load("percentage", {"hedge_ratio": 0.5}))]
    funding = load_funding(shared / "binance_BTCUSDT_perp_funding_8h.csv")
    setup = LendingSetup(reserve_usd=reserve_usd)
    return backtest(bars, start_ms, setup, strategies, builtin_instrument("binancecoinm"), funding)


@pytest.mark.parametrize("window", list(WINDOWS))
def test_unhedged_loan_is_liquidated_on_the_bar_where_the_collateral_low_crosses_its_liquidation_price(
    shared_data: Path, window: str
) -> None:
    result = _run(shared_data, window)
    bars, start = result.bars, result.start
    opens, lows = bars.collateral[0], bars.collateral[2]
    # HF 1.5 on 100k USD at LT 0.825: 55k USD of debt, liquidated when the collateral has lost a third.
    amount = 100_000 / opens[start]
    liq_price = 55_000 / (amount * 0.825)
    first = next(i for i in range(start, len(bars)) if lows[i] < liq_price)
    debt = result.unhedged_series.debt_usd
    k = first - start
    assert debt[k - 1] == pytest.approx(55_000) and debt[k] < 55_000
    assert result.unhedged.liquidated and result.unhedged.liquidation_events >= 1
    assert result.unhedged.liquidation_penalty_usd > 0
    assert result.unhedged.min_health_factor <= 1.0 + 1e-9


@pytest.mark.parametrize("window", list(WINDOWS))
def test_every_step_adds_up(shared_data: Path, window: str) -> None:
    result = _run(shared_data, window)
    bars, start = result.bars, result.start
    btc_close, coll_close = bars.btc[3], bars.collateral[3]
    u = result.unhedged_series
    for k in range(result.window_bars):
        i = start + k
        assert u.equity_usd[k] == pytest.approx(u.collateral_amount[k] * coll_close[i] - u.debt_usd[k] + 20_000)
    for run in result.runs:
        s = run.series
        for k in range(result.window_bars):
            i = start + k
            # Total equity = collateral - debt + futures equity, at every bar.
            expected = s.collateral_amount[k] * coll_close[i] - s.debt_usd[k] + s.futures_btc[k] * btc_close[i]
            assert s.equity_usd[k] == pytest.approx(expected, rel=1e-12)
        last = len(bars) - 1
        assert run.portfolio.final_equity_usd == pytest.approx(s.equity_usd[-1])
        # The hedge's P&L is what the futures account is worth now: nothing moves from it to the loan.
        assert run.hedge.hedge_pnl_usd == pytest.approx(s.futures_btc[-1] * btc_close[last] - 20_000)
        assert s.debt_usd[-1] <= 55_000 + 1e-6
        assert run.hedge.defense_txs == 0 and run.hedge.reserve_left_usd == 0
        assert run.effectiveness == pytest.approx(1 - run.portfolio.max_drawdown_usd / result.unhedged.max_drawdown_usd)
        assert not run.hedge.hedge_liquidated


@pytest.mark.parametrize("window", list(WINDOWS))
def test_hedges_cut_the_crash_drawdown(shared_data: Path, window: str) -> None:
    """Both hedges cut the drawdown in each crash. Which one cuts it more is not claimed from three windows:
    the walk-forward over every window (benchmarks/walk_forward.py) finds that, with the capital rules that
    keep its account alive, the default does not beat static 50 % out of sample (issue 12)."""
    result = _run(shared_data, window)
    dynamic, static = result.runs
    assert static.effectiveness > 0.1 and dynamic.effectiveness > 0.1
    assert dynamic.portfolio.liquidation_penalty_usd <= result.unhedged.liquidation_penalty_usd


@pytest.mark.parametrize("window", list(WINDOWS))
def test_the_hedge_alone_does_not_stop_a_liquidation_and_the_guardian_does(shared_data: Path, window: str) -> None:
    """Issue 11: the replay's old instant margin-to-debt rescue is gone; only the guardian's reserve defends."""
    alone = _run(shared_data, window)
    assert all(run.portfolio.liquidated for run in alone.runs)  # a futures gain cannot raise an HF
    guarded = _run(shared_data, window, 30_000.0)
    for run in guarded.runs:
        h = run.hedge
        assert h.defense_txs >= 1
        assert h.defended_usd + h.defense_txs * 5.0 == pytest.approx(30_000.0 - h.reserve_left_usd)
        # Equity counts the reserve left: loan + futures + reserve.
        s, bars = run.series, guarded.bars
        last = len(bars) - 1
        expected = s.collateral_amount[-1] * bars.collateral[3][last] - s.debt_usd[-1]
        expected += s.futures_btc[-1] * bars.btc[3][last] + h.reserve_left_usd
        assert s.equity_usd[-1] == pytest.approx(expected)
        assert run.portfolio.liquidation_penalty_usd < guarded.unhedged.liquidation_penalty_usd
