"""Scoring on the shared data runs the bot's own replay: the same figures as `backtest` on the same window,
the same results on one process and on two."""

from __future__ import annotations

from functools import cache

import pytest

from bot.backtest.data import SHARED_DATA_DIR, AlignedBars, align, load_candles, load_funding, parse_time_ms
from bot.backtest.run import backtest
from bot.evaluate import (
    EVALUATION_SETUP,
    StrategySpec,
    bot_replay_settings,
    evaluate,
    fortnights,
    score_window,
    walk_forward_splits,
    whole_history,
)
from bot.venues.ccxt.registry import builtin_instrument

pytestmark = pytest.mark.skipif(not SHARED_DATA_DIR.is_dir(), reason="the shared market data is not mounted")
INSTRUMENT = builtin_instrument("binancecoinm")
STATIC = StrategySpec("percentage", {"hedge_ratio": 0.5}, "static 50 %")


@cache
def bars(start: str = "2020-02-01", end: str = "2020-05-01") -> AlignedBars:
    return align(
        load_candles(SHARED_DATA_DIR / "binance_BTCUSDT_1h.csv.gz"),
        load_candles(SHARED_DATA_DIR / "binance_ETHUSDT_1h.csv.gz"),
        parse_time_ms(start),
        parse_time_ms(end),
    )


def test_a_window_scores_as_the_backtest_of_that_window_with_the_guardian_reserve() -> None:
    covid = next(w for w in fortnights(bars()) if w.start_ms <= parse_time_ms("2020-03-10") < w.end_ms)
    assert covid.crash
    score = score_window(STATIC, bars(), covid, INSTRUMENT)
    direct = backtest(
        align(
            load_candles(SHARED_DATA_DIR / "binance_BTCUSDT_1h.csv.gz"),
            load_candles(SHARED_DATA_DIR / "binance_ETHUSDT_1h.csv.gz"),
            covid.start_ms - 7 * 86_400_000,
            covid.end_ms,
        ),
        covid.start_ms,
        EVALUATION_SETUP,
        [("static", STATIC.build())],
        INSTRUMENT,
        None,
        bot_replay_settings(),
    )
    assert EVALUATION_SETUP.reserve_usd == 20_000
    assert score.effectiveness == direct.runs[0].effectiveness
    assert score.cost_usd == direct.unhedged.final_equity_usd - direct.runs[0].portfolio.final_equity_usd
    assert score.liquidated == direct.runs[0].portfolio.liquidated
    assert score.bars == direct.window_bars > 13 * 24  # one hour of that fortnight is missing from the data


def test_two_processes_give_what_one_gives() -> None:
    funding = load_funding(SHARED_DATA_DIR / "binance_BTCUSDT_perp_funding_8h.csv")
    specs = [STATIC, StrategySpec("dynamic")]
    windows = fortnights(bars())[:4]
    one = evaluate(specs, bars(), INSTRUMENT, funding, windows=windows, history=False, processes=1)
    two = evaluate(specs, bars(), INSTRUMENT, funding, windows=windows, history=False, processes=2)
    assert one.scores == two.scores and one.summaries == two.summaries
    assert [s.window for s in one.scores["dynamic"]] == windows


def test_whole_history_reports_the_hedge_accounts_low() -> None:
    run = whole_history(STATIC, bars(), INSTRUMENT)
    assert run.hedge_min_equity_usd <= run.hedge_final_equity_usd or run.wiped
    assert run.wiped == (run.hedge_min_equity_usd <= 0.1 * EVALUATION_SETUP.hedge_capital_usd or run.hedge_liquidated)


def test_a_bad_parameter_fails_before_any_replay() -> None:
    from bot.errors import UsageError

    with pytest.raises(UsageError, match="hedge_ratio"):
        evaluate([StrategySpec("percentage", {"hedge_ratio": 9})], bars(), INSTRUMENT, processes=1)
    assert walk_forward_splits(bars().ts_ms[0], bars().ts_ms[-1], parse_time_ms("2020-04-01"))
