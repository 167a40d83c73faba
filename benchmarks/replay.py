"""Replay speed on a realistic year: 1-minute BTC + ETH bars from 2021-04-21 to 2022-04-21 built from the
shared data (`bot.backtest.data.shared_minutes`: the 1m file where it covers, the 5m files, else the hourly
bars, each coarse bar expanded into minute bars that keep its open, high, low and close), through the full
pipeline (triggers, guards, strategy, risk layer, reconciler, executor rules, paper engine, lending sim).

The bot's own settings, as `hedgebot backtest` takes them (the change policy's band and cooldown, the
reconciler, the triggers, the guards). Strategies that declare wake-ups (`HedgePlan.wake`) are replayed
only on the bars where something can change (`--every-bar` turns that off: a decision on every trigger).
For each strategy: bar-steps/s (median of --runs) by the wall clock and by the process's CPU time (the
machine is shared: CPU time is what the replay itself costs), decisions per bar, the orders sent and what
the run ended with. Last line: the slowest strategy's rates and the peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.backtest.data import SHARED_DATA_DIR as DATA  # noqa: E402
from bot.backtest.data import format_time, load_funding, parse_time_ms, shared_minutes  # noqa: E402
from bot.backtest.run import LendingSetup, ReplaySettings, run_hedged  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.plugins import loader as plugins  # noqa: E402
from bot.runtime.config import EngineConfig  # noqa: E402
from bot.venues.ccxt.registry import builtin_instrument  # noqa: E402
from strategies import BUILTIN  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--start", default="2021-04-21")
    parser.add_argument("--end", default="2022-04-21")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--strategies", default=",".join(BUILTIN), help="comma-separated names")
    parser.add_argument("--health-factor", type=float, default=3.0, help="the loan's starting health factor")
    parser.add_argument("--every-bar", action="store_true", help="ignore wake-ups: decide on every trigger")
    args = parser.parse_args()
    began = time.perf_counter()
    bars, btc_src, eth_src = shared_minutes(parse_time_ms(args.start), parse_time_ms(args.end))
    print(
        f"{len(bars):,} one-minute bars {format_time(bars.ts_ms[0])} .. {format_time(bars.ts_ms[-1])}"
        f" (built in {time.perf_counter() - began:.1f} s; BTC from {btc_src.describe()}; ETH from"
        f" {eth_src.describe()}; {len(bars.gaps)} gaps); BTC {bars.btc[0][0]:,.0f} -> {bars.btc[3][-1]:,.0f},"
        f" ETH {bars.collateral[0][0]:,.0f} -> {bars.collateral[3][-1]:,.0f}"
    )
    funding = load_funding(DATA / "binance_BTCUSDT_perp_funding_8h.csv")
    instrument = builtin_instrument("binancecoinm")
    setup = LendingSetup(start_health_factor=args.health_factor)
    config = EngineConfig.from_settings(load_settings(None))
    settings = ReplaySettings(
        risk=config.risk,
        reconcile=config.reconcile,
        change=config.change,
        triggers=config.triggers,
        guard=config.guard,
        wake_ups=not args.every_bar,
    )
    slowest = slowest_cpu = float("inf")
    for name in args.strategies.split(","):
        rates, cpu_rates = [], []
        for _ in range(args.runs):
            strategy = plugins.load(name)
            t0, c0 = time.perf_counter(), time.process_time()
            portfolio, stats, _, fills = run_hedged(bars, 0, 0, setup, strategy, instrument, funding, settings)
            rates.append(len(bars) / (time.perf_counter() - t0))
            cpu_rates.append(len(bars) / max(1e-9, time.process_time() - c0))
        rate, cpu_rate = statistics.median(rates), statistics.median(cpu_rates)
        slowest, slowest_cpu = min(slowest, rate), min(slowest_cpu, cpu_rate)
        print(
            f"strategy={name} bar_steps_per_s={rate:.0f} cpu_bar_steps_per_s={cpu_rate:.0f}"
            f" decisions={stats.decisions}"
            f" decisions_per_bar={stats.decisions / len(bars):.4f} orders={stats.orders} fills={len(fills)}"
            f" hedge_liquidated={stats.hedge_liquidated} loan_liquidated={portfolio.liquidated}"
            f" hedge_pnl_usd={stats.hedge_pnl_usd:.0f}"
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"bar_steps_per_s={slowest:.0f} cpu_bar_steps_per_s={slowest_cpu:.0f} peak_rss_mb={peak_mb:.0f}")


if __name__ == "__main__":
    main()
