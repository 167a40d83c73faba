"""Window generation, the walk-forward split and the aggregation: pure, on built bars and on the shared data."""

from __future__ import annotations

import math
from array import array

import pytest

from bot.backtest.data import AlignedBars, parse_time_ms
from bot.errors import UsageError
from bot.evaluate import (
    Split,
    Summary,
    Window,
    WindowScore,
    choose,
    fortnights,
    objective,
    rising_quarters,
    slice_bars,
    summarize,
    walk_forward_splits,
)

HOUR = 3_600_000
DAY = 24 * HOUR


def hourly(prices: list[float], start_ms: int = 0) -> AlignedBars:
    """Aligned bars whose collateral (and BTC) opens, closes, highs and lows all follow `prices`."""
    n = len(prices)
    ts = array("q", (start_ms + i * HOUR for i in range(n)))
    col = array("d", prices)
    cols = (col, col, col, col)
    return AlignedBars(ts, cols, cols, bytes(n), (), HOUR)


def test_fortnights_step_a_week_after_the_warm_up_and_cover_the_data() -> None:
    bars = hourly([100.0] * (60 * 24))  # 60 days
    got = fortnights(bars)
    assert [w.start_ms // DAY for w in got] == [7, 14, 21, 28, 35, 42]  # the last must end by day 60
    assert all(w.end_ms - w.start_ms == 14 * DAY for w in got)
    assert not any(w.crash for w in got)


def test_a_crash_is_a_drawdown_of_20_percent_from_a_high_to_a_later_low() -> None:
    prices = [100.0] * (28 * 24)
    for i in range(10 * 24, 11 * 24):  # day 10: falls to 79 (-21 %), recovers by day 11
        prices[i] = 79.0
    bars = hourly(prices)
    first = fortnights(bars)[0]  # days 7..21
    assert first.crash and first.collateral_drawdown == pytest.approx(0.21)
    prices[10 * 24 : 11 * 24] = [81.0] * 24
    assert not fortnights(hourly(prices))[0].crash
    rising_first = [100.0 - i * 0.001 for i in range(28 * 24)]  # a low before the high does not count
    assert not fortnights(hourly(rising_first))[0].crash


def test_rising_quarters_are_the_90_day_windows_where_the_collateral_rose() -> None:
    up = [100.0 + i * 0.01 for i in range(200 * 24)]
    down = [100.0 - i * 0.001 for i in range(200 * 24)]
    assert len(rising_quarters(hourly(up))) > 0
    assert all(w.collateral_change > 0 and w.end_ms - w.start_ms == 90 * DAY for w in rising_quarters(hourly(up)))
    assert rising_quarters(hourly(down)) == []


def test_a_window_mostly_missing_from_the_data_is_left_out() -> None:
    bars = hourly([100.0] * (21 * 24))
    kept = slice_bars(bars, 0, 9 * 24)  # only the first 9 days: the day-7 fortnight has 2 of its 14 days
    assert fortnights(kept) == []


def test_slice_bars_drops_a_gap_before_its_first_bar() -> None:
    bars = hourly([1.0, 2.0, 3.0, 4.0])
    gapped = AlignedBars(bars.ts_ms, bars.btc, bars.collateral, bytes([0, 0, 1, 0]), (), HOUR)
    piece = slice_bars(gapped, 2, 4)
    assert list(piece.ts_ms) == [2 * HOUR, 3 * HOUR] and piece.gap_before == bytes([0, 0])
    assert list(piece.collateral[3]) == [3.0, 4.0]


def test_walk_forward_default_chooses_on_2018_2020_and_scores_2021_then_2022() -> None:
    start, end = parse_time_ms("2018-01-01"), parse_time_ms("2022-11-01")
    splits = walk_forward_splits(start, end)
    assert [(s.choose_until_ms, s.score_from_ms, s.score_until_ms) for s in splits] == [
        (parse_time_ms("2021-01-01"), parse_time_ms("2021-01-01"), parse_time_ms("2022-01-01")),
        (parse_time_ms("2022-01-01"), parse_time_ms("2022-01-01"), end),
    ]
    assert all(s.choose_from_ms == start for s in splits)
    rolling = walk_forward_splits(start, end, anchored=False, train_days=365)
    assert rolling[1].choose_from_ms == parse_time_ms("2021-01-01")


def test_a_split_never_chooses_on_a_window_it_scores() -> None:
    split = Split(0, 100 * DAY, 100 * DAY, 200 * DAY)
    ws = [Window("fortnight", d * DAY, (d + 14) * DAY, 0.0, 0.0) for d in range(0, 190, 7)]
    chosen, scored = split.in_sample(ws), split.out_of_sample(ws)
    assert chosen and scored
    assert max(w.end_ms for w in chosen) <= 100 * DAY <= min(w.start_ms for w in scored)


def test_too_little_data_for_the_split_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="too little data"):
        walk_forward_splits(parse_time_ms("2021-06-01"), parse_time_ms("2022-01-01"))


def _score(kind: str, drawdown: float, change: float, eff: float, cost: float, liq: bool = False) -> WindowScore:
    w = Window(kind, 0, DAY, drawdown, change)  # type: ignore[arg-type]
    return WindowScore(w, eff, liq, eff < 0, False, 0.0, 0.0, cost, 24, 60.0)


def test_summary_takes_effectiveness_from_crashes_and_cost_from_rising_quarters() -> None:
    scores = [
        _score("fortnight", 0.3, -0.3, 0.5, 999.0),
        _score("fortnight", 0.25, -0.2, 0.1, 999.0, liq=True),
        _score("fortnight", 0.05, 0.1, -5.0, 999.0),  # not a crash: not in the effectiveness
        _score("quarter", 0.1, 0.3, 9.0, 100.0),
        _score("quarter", 0.1, 0.5, 9.0, 300.0),
        _score("quarter", 0.3, -0.1, 9.0, 5000.0),  # fell: not a rising quarter
    ]
    s = summarize("x", scores)
    assert (s.fortnights, s.crash_windows, s.rising_quarters) == (3, 2, 2)
    assert s.effectiveness_mean == pytest.approx(0.3) and s.effectiveness_worst == pytest.approx(0.1)
    assert s.effectiveness_p10 == pytest.approx(0.14)
    assert (s.liquidation_windows, s.half_capital_lost_windows) == (1, 1)
    assert (s.cost_mean_usd, s.cost_worst_usd) == (200.0, 300.0)
    assert math.isnan(summarize("none", []).effectiveness_mean)


def _summary(label: str, eff: float, p10: float, liq: int, cost: float) -> Summary:
    return Summary(label, 10, 5, eff, eff, p10, p10, liq, 0, 4, cost, cost)


def test_choose_prefers_fewer_liquidations_then_effectiveness_less_cost() -> None:
    a = _summary("a", 0.9, 0.8, 1, 0.0)  # best effectiveness, but a liquidation
    b = _summary("b", 0.5, 0.4, 0, 1_000.0)  # 0.9 - 0.1
    c = _summary("c", 0.6, 0.5, 0, 5_000.0)  # 1.1 - 0.5
    assert objective(b) == pytest.approx(0.8) and objective(c) == pytest.approx(0.6)
    assert choose([a, b, c]).label == "b"
    assert choose([a]).label == "a"
    with pytest.raises(UsageError):
        choose([])
