"""`hedgebot data download`: candles, mark candles and funding rates from an exchange's public endpoints, into
the files `hedgebot backtest` reads; a rerun resumes where the files end."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from bot.backtest.data import format_time, parse_time_ms
from bot.backtest.download import (
    KINDS,
    Result,
    download,
    no_data_message,
    plan_downloads,
    public_exchange,
    venue_now_ms,
)
from bot.backtest.store import iso_time
from bot.errors import UsageError
from bot.ops.output import print_json, progress_bar


def register(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("data", help="market data for the backtest: download candles and funding rates")
    dsub = p.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    d = dsub.add_parser(
        "download",
        help="download candles, mark candles and funding rates through ccxt's public endpoints (no key)",
        description="Download OHLCV, mark-price candles and funding-rate history into the CSV files `hedgebot"
        " backtest` reads, one file per series in --out. A rerun appends after each file's last row (never a row"
        " twice). Missing bars are reported as gaps, never filled.",
    )
    d.add_argument(
        "--symbol",
        action="extend",
        nargs="+",
        required=True,
        metavar="SYMBOL",
        help="ccxt symbols (or the venue's ids), e.g. BTC/USD:BTC ETH/USD:ETH; BTC/USDT for spot",
    )
    d.add_argument("--timeframe", default="1h", help="bar length, one of the venue's (default 1h)")
    d.add_argument("--since", required=True, help="first bar, ISO time or date (UTC)")
    d.add_argument("--until", help="end of the range, exclusive (default: now)")
    d.add_argument(
        "--kind",
        action="extend",
        nargs="+",
        choices=KINDS,
        metavar="KIND",
        help="what to download: ohlcv (default), mark (mark-price candles), funding (funding-rate history)",
    )
    d.add_argument("--exchange", default="binancecoinm", help="ccxt exchange id (default binancecoinm)")
    d.add_argument("--api-url", help="send the requests to this Binance-compatible server (the local devnet exchange)")
    d.add_argument("--out", type=Path, default=Path("data"), help="folder of the files (default ./data)")
    d.add_argument("--json", action="store_true", help="print one JSON object")
    d.set_defaults(func=run_download)


def run_download(args: argparse.Namespace) -> int:
    since_ms = parse_time_ms(args.since)
    until_ms = parse_time_ms(args.until) if args.until else None
    if until_ms is not None and until_ms <= since_ms:
        raise UsageError(f"--until {args.until} is not after --since {args.since}")
    return asyncio.run(_download(args, since_ms, until_ms))


class _Progress:
    """One bar per series on stderr, each finished with a newline when the next starts."""

    def __init__(self) -> None:
        self.label: str | None = None

    def __call__(self, label: str, done: int, total: int) -> None:
        if self.label is not None and label != self.label:
            print(file=sys.stderr)
        self.label = label
        progress_bar(done, total, label, sys.stderr)

    def close(self) -> None:
        if self.label is not None:
            print(file=sys.stderr)


async def _download(args: argparse.Namespace, since_ms: int, until_ms: int | None) -> int:
    exchange = public_exchange(args.exchange, args.api_url)
    try:
        plan = await plan_downloads(
            exchange,
            list(dict.fromkeys(args.symbol)),
            args.timeframe,
            list(dict.fromkeys(args.kind or ["ohlcv"])),
            args.out,
        )
        now_ms = await venue_now_ms(exchange, plan[0].symbol)
        until = min(until_ms, now_ms) if until_ms is not None else now_ms
        if until <= since_ms:
            raise UsageError(f"--since {args.since} is in the future (the venue's clock reads {format_time(now_ms)})")
        progress = _Progress() if sys.stderr.isatty() else None
        try:
            results = await download(exchange, plan, since_ms, until, now_ms, progress)
        finally:
            if progress is not None:
                progress.close()
    finally:
        await exchange.close()
    if args.json:
        print_json(
            {
                "exchange": exchange.id,
                "since": iso_time(since_ms),
                "until": iso_time(until),
                "series": [r.as_dict() for r in results],
            }
        )
    else:
        print_summary(results)
    empty = [r for r in results if r.rows_in_range == 0]
    if empty:
        raise UsageError(no_data_message(exchange, empty, since_ms, until))
    return 0


def print_summary(results: list[Result]) -> None:
    """What each file holds now, its gaps, and the backtest command for the files when there is one."""
    for r in results:
        s = r.series
        unit = "funding times" if s.kind == "funding" else "bars"
        span = (
            f", {format_time(r.first_ms)} .. {format_time(r.last_ms)}"
            if r.first_ms is not None and r.last_ms is not None
            else ""
        )
        print(f"{s.label} -> {s.path}")
        print(f"  {r.rows_before + r.rows_added} rows ({r.rows_added} new){span}; {r.gaps.describe(unit)}")
        if r.dropped:
            print(f"  {r.dropped} rows dropped: a missing or inconsistent price, or an absurd rate")
        for note in r.notes:
            print(f"  note: {note}")
    _print_backtest_hint(results)


def _print_backtest_hint(results: list[Result]) -> None:
    """The backtest command these files make, when there is a BTC series and a collateral one."""
    candles = {r.series.symbol.split("/")[0]: r.series.path for r in results if r.series.kind == "ohlcv"}
    funding = {r.series.symbol.split("/")[0]: r.series.path for r in results if r.series.kind == "funding"}.get("BTC")
    btc = candles.pop("BTC", None)
    if btc is None or not candles:
        return
    asset, collateral = next(iter(candles.items()))
    funding_arg = f" --funding-data {funding}" if funding else ""
    print(
        f"backtest them: hedgebot backtest --btc-data {btc} --collateral-data {collateral}"
        f" --collateral-asset {asset}{funding_arg}"
    )
