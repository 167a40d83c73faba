"""Replay speed: one year of 1-minute BTC + ETH bars through the full pipeline (strategy on every bar, risk
layer, reconciler, paper engine, lending sim). The year is the shared 1m month repeated, each copy scaled
to start where the last one ended. Prints the median bar-steps/s of several runs and the peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from array import array
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.backtest.data import SHARED_DATA_DIR as DATA  # noqa: E402
from bot.backtest.data import AlignedBars, align, load_candles, load_funding  # noqa: E402
from bot.backtest.run import LendingSetup, ReplaySettings, run_hedged  # noqa: E402
from bot.plugins import loader as plugins  # noqa: E402
from bot.venues.ccxt.registry import builtin_instrument  # noqa: E402

MINUTES_PER_YEAR = 525_600


def year_of_minutes(month: AlignedBars, bars: int) -> AlignedBars:
    """`month` repeated to `bars` bars; each copy is scaled to open at the previous copy's close."""
    ts: array[int] = array("q")
    cols = [array("d") for _ in range(8)]
    gaps = bytearray()
    shift = 0
    span = month.ts_ms[-1] - month.ts_ms[0] + month.bar_ms
    scale_b = scale_c = 1.0
    src = [*month.btc, *month.collateral]
    while len(ts) < bars:
        for i in range(len(month)):
            ts.append(month.ts_ms[i] + shift)
            for k in range(8):
                cols[k].append(src[k][i] * (scale_b if k < 4 else scale_c))
            gaps.append(month.gap_before[i])
        shift += span
        scale_b = cols[3][-1] / month.btc[0][0]
        scale_c = cols[7][-1] / month.collateral[0][0]
    del ts[bars:]
    for c in cols:
        del c[bars:]
    return AlignedBars(ts, tuple(cols[:4]), tuple(cols[4:]), bytes(gaps[:bars]), (), month.bar_ms)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=MINUTES_PER_YEAR)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--strategy", default="dynamic")
    args = parser.parse_args()
    month = align(
        load_candles(DATA / "binance_BTCUSDT_1m_20210420-20210520.csv.gz"),
        load_candles(DATA / "binance_ETHUSDT_1m_20210420-20210520.csv.gz"),
    )
    bars = year_of_minutes(month, args.bars)
    funding = load_funding(DATA / "binance_BTCUSDT_perp_funding_8h.csv")
    instrument = builtin_instrument("binancecoinm")
    rates = []
    for run in range(args.runs):
        strategy = plugins.load(args.strategy)
        began = time.perf_counter()
        portfolio, stats, _, _ = run_hedged(
            bars, 0, 0, LendingSetup(start_health_factor=3.0), strategy, instrument, funding, ReplaySettings()
        )
        elapsed = time.perf_counter() - began
        rates.append(len(bars) / elapsed)
        print(
            f"run {run + 1}: {len(bars)} bar-steps in {elapsed:.2f} s = {rates[-1]:,.0f}/s"
            f" (orders {stats.orders}, liquidated {portfolio.liquidated})"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bar_steps_per_s={statistics.median(rates):.0f} peak_rss_mb={peak_mb:.0f}")


if __name__ == "__main__":
    main()
