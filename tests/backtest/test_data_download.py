"""`hedgebot data download` against the local Binance COIN-M server, through the real ccxt client over HTTP.

The server runs on its own event loop in a thread, on a clock the test moves: two days and a half hour of
one-minute marks from 2021-05-01 with three hours missing, so there are closed hourly bars, a gap and funding
times to fetch. The command runs as a user runs it (`bot.cli.main`), and the backtest's own loaders read the
files it writes.
"""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.backtest.data import load_candles, load_funding, parse_time_ms
from bot.backtest.download import Result, Series
from bot.backtest.store import file_name
from bot.cli import main
from bot.commands import data_cmd
from bot.commands.demo_cmd import DEMO_FILES
from bot.devnet.exchange import ExchangeServer

pytestmark = pytest.mark.integration

T0 = parse_time_ms("2021-05-01T00:00:00Z")
HOUR = 3_600_000
MISSING_HOURS = range(10, 13)  # no mark at all from 10:00 to 12:59 on the first day: an outage
BTC_FILE = "binancecoinm_BTCUSD_PERP_1h.csv.gz"
MARK_FILE = "binancecoinm_BTCUSD_PERP_mark_1h.csv.gz"
FUNDING_FILE = "binancecoinm_BTCUSD_PERP_funding.csv"


def price_at(ms: int) -> float:
    """A mark that moves every minute: up for an hour, then down."""
    minute = (ms - T0) // 60_000
    return 60_000.0 + 10.0 * (minute % 60) - 5.0 * (minute // 60 % 2) * (minute % 60)


@dataclass
class Venue:
    server: ExchangeServer
    now_ms: int

    def walk_to(self, end_ms: int) -> None:
        """Mark every minute up to `end_ms`, except in the missing hours."""
        while self.now_ms < end_ms:
            self.now_ms += 60_000
            if (self.now_ms - T0) // HOUR not in MISSING_HOURS:
                self.server.set_mark(price_at(self.now_ms))

    def hour_bar(self, open_ms: int) -> tuple[float, float, float, float]:
        """The hourly bar the server's mark samples make (what a download must write)."""
        prices = [p for t, p in self.server.state.history if open_ms <= t < open_ms + HOUR]
        return prices[0], max(prices), min(prices), prices[-1]


@pytest.fixture
def venue() -> Iterator[Venue]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="exchange", daemon=True)
    thread.start()
    v = Venue(None, T0)  # type: ignore[arg-type]
    v.server = ExchangeServer(port=0, mark_price=price_at(T0), clock=lambda: v.now_ms)
    asyncio.run_coroutine_threadsafe(v.server.start(), loop).result(30)
    v.walk_to(T0 + 48 * HOUR + HOUR // 2)
    try:
        yield v
    finally:
        asyncio.run_coroutine_threadsafe(v.server.stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def download(venue: Venue, out: Path, *extra: str) -> list[str]:
    return [
        "data",
        "download",
        "--api-url",
        venue.server.url,
        "--symbol",
        "BTC/USD:BTC",
        "--since",
        "2021-05-01",
        "--out",
        str(out),
        *extra,
    ]


def run_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(argv) == 0, capsys.readouterr().err
    summary: dict[str, object] = json.loads(capsys.readouterr().out)
    return summary


def test_a_download_writes_candles_mark_candles_and_funding_the_backtest_loads(
    venue: Venue, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = run_json(download(venue, tmp_path, "--kind", "ohlcv", "mark", "funding", "--json"), capsys)

    candles = load_candles(tmp_path / BTC_FILE)
    closed = [h for h in range(48) if h not in MISSING_HOURS]  # the bar opening at 48:00 is half done
    assert list(candles.ts_ms) == [T0 + h * HOUR for h in closed]
    assert candles.bar_ms == HOUR
    for i in (0, 9, 13, len(closed) - 1):
        t = candles.ts_ms[i]
        assert (candles.open[i], candles.high[i], candles.low[i], candles.close[i]) == venue.hour_bar(t)
    mark = load_candles(tmp_path / MARK_FILE)
    assert list(mark.ts_ms) == list(candles.ts_ms) and list(mark.close) == list(candles.close)
    funding = load_funding(tmp_path / FUNDING_FILE)
    # Every 8 hours after the first mark, up to the venue's now: 08:00 and 16:00 on the 1st and 2nd, the 2nd
    # and 3rd at 00:00. The outage does not stop funding.
    assert funding.times_ms == [T0 + h * HOUR for h in (8, 16, 24, 32, 40, 48)]
    assert funding.rates == [0.0001] * 6 and funding.interval_ms == 8 * HOUR

    series = {s["kind"]: s for s in summary["series"]}  # type: ignore[attr-defined]
    assert series["ohlcv"]["rows"] == series["ohlcv"]["rows_added"] == 45
    assert series["ohlcv"]["gaps"] == {
        "count": 1,
        "missing": 3,
        "largest": {"after": "2021-05-01T09:00:00Z", "before": "2021-05-01T13:00:00Z", "missing": 3},
    }
    assert series["funding"]["gaps"]["count"] == 0
    assert series["ohlcv"]["path"] == str(tmp_path / BTC_FILE)


def test_the_summary_reports_gaps_and_a_rerun_appends_only_new_rows(
    venue: Venue, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(download(venue, tmp_path)) == 0
    text = capsys.readouterr().out
    assert f"BTC/USD:BTC 1h candles -> {tmp_path / BTC_FILE}" in text
    assert "45 rows (45 new), 2021-05-01T00:00Z .. 2021-05-02T23:00Z" in text
    assert "1 gap, 3 bars missing; the largest 3 bars between 2021-05-01T09:00Z and 2021-05-01T13:00Z" in text
    first_run = (tmp_path / BTC_FILE).read_bytes()

    # Nothing new yet: a rerun adds nothing and changes nothing.
    assert run_json(download(venue, tmp_path, "--json"), capsys)["series"][0]["rows_added"] == 0  # type: ignore[index]
    assert (tmp_path / BTC_FILE).read_bytes() == first_run

    # A day later a run is killed while writing: its gzip member has the 48:00 and 49:00 bars, flushed, and half
    # of the next line, and no end. The rerun keeps the two whole rows and appends the rest after them.
    venue.walk_to(T0 + 72 * HOUR + HOUR // 2)
    killed = io.BytesIO()
    member = gzip.GzipFile(fileobj=killed, mode="wb", mtime=0)
    for hour in (48, 49):
        o, h, lo, c = venue.hour_bar(T0 + hour * HOUR)
        member.write(f"2021-05-03T{hour - 48:02d}:00:00Z,{o},{h},{lo},{c},0\n".encode())
    member.write(b"2021-05-03T02:00:00Z,6")
    member.flush(zlib.Z_SYNC_FLUSH)
    with (tmp_path / BTC_FILE).open("ab") as f:
        f.write(killed.getvalue())

    summary = run_json(download(venue, tmp_path, "--json"), capsys)
    assert summary["series"][0]["rows_added"] == 22  # type: ignore[index]
    grown = (tmp_path / BTC_FILE).read_bytes()
    assert grown.startswith(first_run) and len(grown) > len(first_run)  # appended, not rewritten
    candles = load_candles(tmp_path / BTC_FILE)  # refuses a duplicate or descending row
    assert list(candles.ts_ms) == [T0 + h * HOUR for h in range(72) if h not in MISSING_HOURS]
    i = list(candles.ts_ms).index(T0 + 50 * HOUR)
    assert (candles.open[i], candles.high[i], candles.low[i], candles.close[i]) == venue.hour_bar(T0 + 50 * HOUR)
    assert gzip.decompress(grown).decode().count("timestamp,") == 1  # one header, whatever the runs


def test_a_file_that_starts_late_is_not_backfilled_and_the_summary_says_so(
    venue: Venue, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(download(venue, tmp_path, "--since", "2021-05-02")) == 0
    assert "note" not in capsys.readouterr().out
    assert main(download(venue, tmp_path, "--since", "2021-05-01")) == 0
    assert (
        "note: the file starts at 2021-05-02T00:00Z and the venue has earlier rows: a download only appends;"
        " move the file away to fetch them"
    ) in capsys.readouterr().out
    assert load_candles(tmp_path / BTC_FILE).ts_ms[0] == T0 + 24 * HOUR


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--symbol", "BTC/USD"], "binancecoinm lists no market 'BTC/USD'; close ones: BTC/USD:BTC"),
        (["--timeframe", "7m"], "binancecoinm has no '7m' timeframe; it offers 1s, 1m, 3m, 5m, 15m, 30m, 1h"),
        (["--since", "2021-04-01", "--until", "2021-04-15"], "binancecoinm has no BTC/USD:BTC 1h candles from"),
        (["--until", "2021-04-01"], "--until 2021-04-01 is not after --since 2021-05-01"),
        (["--since", "May 1st"], "'May 1st' is not an ISO-8601 time"),
        (["--exchange", "binancecoin"], "ccxt has no exchange 'binancecoin'; did you mean binancecoinm"),
    ],
)
def test_bad_input_exits_2_and_says_why(
    venue: Venue, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(download(venue, tmp_path, *extra)) == 2
    assert message in capsys.readouterr().err


def test_a_file_of_another_kind_is_never_appended_to(
    venue: Venue, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / FUNDING_FILE).write_text("timestamp,open,high,low,close\n")
    assert main(download(venue, tmp_path, "--kind", "funding")) == 2
    assert "this is not a file `hedgebot data download` appends to" in capsys.readouterr().err
    assert (tmp_path / FUNDING_FILE).read_text() == "timestamp,open,high,low,close\n"


def test_the_demo_without_data_prints_the_download_that_makes_its_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "has no binance_BTCUSDT_1h.csv.gz or binance_ETHUSDT_1h.csv.gz" in err
    # Binance spot's hourly candles from 8 days before the window (the demo's warm-up) to its end: the
    # download names them as ../shared/data does.
    assert (
        "hedgebot data download --exchange binance --symbol BTC/USDT ETH/USDT --timeframe 1h --since 2021-05-04"
        " --until 2021-05-24 --out data\n  hedgebot demo --data data"
    ) in err
    assert [file_name("binance", market, "ohlcv", "1h") for market in ("BTCUSDT", "ETHUSDT")] == list(DEMO_FILES)


def test_the_backtest_without_a_file_prints_the_download_that_makes_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "btc.csv.gz")
    argv = ["backtest", "--btc-data", missing, "--collateral-data", missing, "--collateral-asset", "WETH"]
    assert main([*argv, "--start", "2021-05-12", "--end", "2021-05-26"]) == 2
    assert (
        f"{missing}: no such file. Download candles and funding rates from the exchange's public API with\n"
        "  hedgebot data download --symbol BTC/USD:BTC ETH/USD:ETH --timeframe 1h --kind ohlcv funding"
        " --since 2021-05-05 --until 2021-05-26 --out data\n"
    ) in capsys.readouterr().err


def test_the_summary_names_the_backtest_command_for_a_btc_and_a_collateral_series(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def result(kind: str, symbol: str) -> Result:
        name = file_name("binancecoinm", symbol.split("/")[0] + "USD_PERP", kind, None if kind == "funding" else "1h")
        return Result(Series(kind, symbol, None if kind == "funding" else "1h", HOUR, tmp_path / name))

    data_cmd.print_summary([result("ohlcv", "BTC/USD:BTC"), result("funding", "BTC/USD:BTC"),
                            result("ohlcv", "ETH/USD:ETH"), result("funding", "ETH/USD:ETH")])  # fmt: skip
    assert capsys.readouterr().out.splitlines()[-1] == (
        f"backtest them: hedgebot backtest --btc-data {tmp_path}/binancecoinm_BTCUSD_PERP_1h.csv.gz"
        f" --collateral-data {tmp_path}/binancecoinm_ETHUSD_PERP_1h.csv.gz --collateral-asset ETH"
        f" --funding-data {tmp_path}/binancecoinm_BTCUSD_PERP_funding.csv"
    )
