"""What the hedge does and what the guardian adds, on the four shared crashes.

Standard position: 100k USD of ETH at HF 1.5 (LT 0.825, bonus 5 %), 20k USD of hedge capital on the
exchange, and (where a guardian runs) a 20k USD reserve on chain with the default trigger 1.15 and
target 1.35, 5 USD of gas a transaction. Each lane holds the same 40k USD of capital: what is not in the
hedge or the reserve is cash. Prints a Markdown table (the one in the README's "How hedgebot defends a
loan"). The replay is the bot's own decision step; nothing moves from the exchange to the chain.
"""

from __future__ import annotations

import sys
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.backtest.data import SHARED_DATA_DIR as DATA  # noqa: E402
from bot.backtest.data import Candles, align, load_candles, load_funding, parse_time_ms  # noqa: E402
from bot.backtest.run import Backtest, LendingSetup, backtest  # noqa: E402
from bot.plugins import loader as plugins  # noqa: E402
from bot.venues.ccxt.registry import builtin_instrument  # noqa: E402

RESERVE_USD = 20_000.0
H1 = ("binance_BTCUSDT_1h.csv.gz", "binance_ETHUSDT_1h.csv.gz")
M5_21 = ("binance_BTCUSDT_5m_20201201-20210717.csv.gz", "binance_ETHUSDT_5m_20201201-20210717.csv.gz")
M5_22 = ("binance_BTCUSDT_5m_20220101-20220804.csv.gz", "binance_ETHUSDT_5m_20220101-20220804.csv.gz")
# Four well-known crashes, on the finest shared data that holds each.
CRASHES = {
    "2020-03 COVID (1h)": (H1, "2020-03-05", "2020-03-19"),
    "2021-05 (5m)": (M5_21, "2021-05-12", "2021-05-26"),
    "2022-05 LUNA (5m)": (M5_22, "2022-05-03", "2022-05-17"),
    "2022-06 3AC (5m)": (M5_22, "2022-06-08", "2022-06-22"),
}


@cache
def _candles(name: str) -> Candles:
    return load_candles(DATA / name)


def run(window: tuple[tuple[str, str], str, str], strategy: str, params: dict[str, float], reserve: float) -> Backtest:
    (btc, coll), start, end = window
    start_ms = parse_time_ms(start)
    bars = align(_candles(btc), _candles(coll), start_ms - 7 * 86_400_000, parse_time_ms(end))
    funding = load_funding(DATA / "binance_BTCUSDT_perp_funding_8h.csv")
    setup = LendingSetup(reserve_usd=reserve)
    return backtest(
        bars, start_ms, setup, [(strategy, plugins.load(strategy, params))], builtin_instrument("binancecoinm"), funding
    )


LANES = [
    ("no hedge, no guardian", "percentage", {"hedge_ratio": 0.0}, 0.0),
    ("hedge alone (dynamic)", "dynamic", {}, 0.0),
    ("guardian alone", "percentage", {"hedge_ratio": 0.0}, RESERVE_USD),
    ("hedge + guardian", "dynamic", {}, RESERVE_USD),
]


def table() -> list[str]:
    lines = [
        "| crash | lane | liquidations | penalty (USD) | min HF | guardian txs | repaid (USD) | final equity (USD) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for title, window in CRASHES.items():
        for lane, strategy, params, reserve in LANES:
            result = run(window, strategy, params, reserve)
            r = result.runs[0]
            p, h = r.portfolio, r.hedge
            # The unhedged account holds the hedge capital and the reserve as cash: 40k in every lane.
            final = p.final_equity_usd + (RESERVE_USD - reserve)
            lines.append(
                f"| {title} | {lane} | {p.liquidation_events} | {p.liquidation_penalty_usd:,.0f} | "
                f"{p.min_health_factor:.3f} | {h.defense_txs} | {h.defended_usd:,.0f} | {final:,.0f} |"
            )
    return lines


if __name__ == "__main__":
    print("\n".join(table()))
