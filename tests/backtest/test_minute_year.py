"""The realistic minute series: built from the shared 1m, 5m and 1h files, each coarse bar expanded to minute
bars that aggregate back to it exactly, BTC and ETH aligned."""

from __future__ import annotations

from array import array

import pytest

from bot.backtest.data import (
    SHARED_DATA_DIR,
    Candles,
    expand,
    load_candles,
    minute_candles,
    ohlcv_files,
    parse_time_ms,
    resample,
    shared_minutes,
)

pytestmark = pytest.mark.skipif(not SHARED_DATA_DIR.is_dir(), reason="needs the shared market data")
HOUR = 3_600_000


def bars(*rows: tuple[float, float, float, float], bar_ms: int = HOUR) -> Candles:
    t0 = parse_time_ms("2021-06-01")
    cols = list(zip(*rows, strict=True))
    return Candles(
        "test", array("q", [t0 + i * bar_ms for i in range(len(rows))]), *(array("d", c) for c in cols), bar_ms
    )


def test_each_expanded_bar_aggregates_back_to_itself() -> None:
    # Rising, falling, flat, opening at its low, closing at its high, a tiny leg beside a long one.
    coarse = bars(
        (100.0, 110.0, 95.0, 105.0),
        (105.0, 107.0, 90.0, 91.0),
        (91.0, 91.0, 91.0, 91.0),
        (91.0, 99.0, 91.0, 98.0),
        (98.0, 99.5, 97.0, 99.5),
        (99.5, 99.5000001, 60.0, 60.0000001),
    )
    for k_ms in (60_000, 300_000, 1_200_000):
        fine = expand(coarse, k_ms)
        assert len(fine) == len(coarse) * HOUR // k_ms
        back = resample(fine, HOUR)
        for name in ("ts_ms", "open", "high", "low", "close"):
            assert list(getattr(back, name)) == list(getattr(coarse, name)), (k_ms, name)
        # A straight path inside each sub-bar: its high and low are its open and close.
        for i in range(len(fine)):
            assert fine.high[i] == max(fine.open[i], fine.close[i])
            assert fine.low[i] == min(fine.open[i], fine.close[i])
        assert all(fine.open[i + 1] == fine.close[i] for i in range(len(fine) - 1) if (i + 1) % (HOUR // k_ms))


def test_a_rising_bar_visits_its_low_before_its_high_and_a_falling_one_the_reverse() -> None:
    up, down = expand(bars((100.0, 110.0, 95.0, 105.0)), 300_000), expand(bars((105.0, 107.0, 90.0, 91.0)), 300_000)
    assert list(up.low).index(95.0) < list(up.high).index(110.0)
    assert list(down.high).index(107.0) < list(down.low).index(90.0)


def test_hours_come_from_the_finest_file_that_holds_them_whole() -> None:
    files = ohlcv_files(SHARED_DATA_DIR, "BTC")
    hourly = [f for f in files if "_1h" in f.name]
    five = [f for f in files if "_5m_2020" in f.name]
    one = [f for f in files if "_1m_" in f.name]
    # 2021-04-19 is hourly and 5m only; 2021-04-21 is in the 1m file as well.
    start, end = parse_time_ms("2021-04-19"), parse_time_ms("2021-04-22")
    minutes, used = minute_candles(hourly + five + one, start, end)
    # Three hours miss 5m bars (a Binance incident): one comes from the hourly file, and the other two
    # (2021-04-20 02:00 and 03:00) are in no file: they stay missing, a gap.
    assert used.hours_by_bar_ms == {60_000: 27, 300_000: 42, HOUR: 1}
    hours = {t // HOUR * HOUR for t in minutes.ts_ms}
    assert sorted(set(range(start, end, HOUR)) - hours) == [
        parse_time_ms("2021-04-20T02:00"),
        parse_time_ms("2021-04-20T03:00"),
    ]
    source_1m = load_candles(one[0])
    first_1m = parse_time_ms("2021-04-20T21:00")
    i = list(minutes.ts_ms).index(first_1m)
    j = list(source_1m.ts_ms).index(first_1m)
    assert minutes.close[i : i + 60] == source_1m.close[j : j + 60]  # 1m hours are the file's own bars
    five_back = resample(minutes, 300_000)
    src5 = load_candles(five[0])
    k = list(src5.ts_ms).index(start)
    assert five_back.close[:240] == src5.close[k : k + 240] and five_back.high[:240] == src5.high[k : k + 240]
    # Built from the hourly file alone, the minutes aggregate back to it exactly.
    only_hourly, used_h = minute_candles(hourly, start, end)
    assert used_h.hours_by_bar_ms == {HOUR: 70}
    back = resample(only_hourly, HOUR)
    src = load_candles(hourly[0])
    rows = [i for i, t in enumerate(src.ts_ms) if start <= t < end]
    for name in ("ts_ms", "open", "high", "low", "close"):
        assert list(getattr(back, name)) == [getattr(src, name)[i] for i in rows]


def test_btc_and_eth_minutes_are_aligned_over_the_span() -> None:
    aligned, btc, eth = shared_minutes(parse_time_ms("2021-07-16"), parse_time_ms("2021-07-19"))
    assert aligned.bar_ms == 60_000 and len(aligned) == 3 * 1440
    assert btc.hours_by_bar_ms == eth.hours_by_bar_ms == {300_000: 45, HOUR: 27}
    assert aligned.gaps == ()
