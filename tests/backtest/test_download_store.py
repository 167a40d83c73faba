"""The files a download appends to: a killed run's half-written rows are cut back to whole ones, the files load
with the backtest's loaders whatever the number of runs, and gaps are counted in the series' own step."""

from __future__ import annotations

import time
from pathlib import Path

from bot.backtest.data import load_candles, load_funding, parse_time_ms
from bot.backtest.store import FUNDING_HEADER, OHLCV_HEADER, Appender, find_gaps, iso_time, read_times

T0 = parse_time_ms("2021-05-01T00:00:00Z")
HOUR = 3_600_000


def test_a_plain_file_loses_only_the_line_a_kill_cut(tmp_path: Path) -> None:
    path = tmp_path / "x_funding.csv"
    path.write_text("timestamp,funding_rate\n2021-05-01T08:00:00Z,0.0001\n2021-05-01T16:00:00Z,0.00")
    assert read_times(path, FUNDING_HEADER) == [T0 + 8 * HOUR]
    assert path.read_text() == "timestamp,funding_rate\n2021-05-01T08:00:00Z,0.0001\n"


def test_a_gzip_file_of_many_runs_loads_in_one_pass(tmp_path: Path) -> None:
    path = tmp_path / "x_1h.csv.gz"
    for run in range(300):  # a run a day for most of a year: one gzip member each
        out = Appender(path, OHLCV_HEADER)
        for page in range(2):
            t = T0 + (run * 2 + page) * HOUR
            out.write([[iso_time(t), "100", "110", "90", "105", "1.5"]])
        out.close()
    started = time.perf_counter()
    assert len(read_times(path, OHLCV_HEADER)) == 600
    assert len(load_candles(path)) == 600
    assert time.perf_counter() - started < 2.0


def test_funding_times_a_few_milliseconds_late_are_not_gaps(tmp_path: Path) -> None:
    times = [T0 + 8 * HOUR * i + (3 if i % 2 else 0) for i in range(10)]
    del times[4:6]
    gaps = find_gaps(times)
    assert (gaps.count, gaps.missing, gaps.largest_missing) == (1, 2, 2)
    path = tmp_path / "x_funding.csv"
    out = Appender(path, FUNDING_HEADER)
    out.write([[iso_time(t), "0.0001"] for t in times])
    out.close()
    assert read_times(path, FUNDING_HEADER) == times  # written to the millisecond when it has one
    assert load_funding(path).times_ms == times
