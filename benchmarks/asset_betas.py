"""The ETH-class fallback beta: ETH's rolling one-week beta to BTC on the shared hourly data (2018-2022).

The bot measures each asset's beta to BTC itself (a one-week rolling window of its oracle price against the
mark); until it has a day of returns, or when the estimate's correlation is under 0.5, it uses a fallback
per asset class (bot/domain/lending/betas.py). This prints the figures the ETH class's fallback rests on:
the median, quartiles and share above 1 of the one-week beta over every hour of the data.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot.backtest.data import SHARED_DATA_DIR as DATA  # noqa: E402
from bot.backtest.data import align, load_candles  # noqa: E402
from bot.domain.hedge_ratio import RollingHedgeRatio  # noqa: E402

WINDOW_H = 7 * 24


def main() -> None:
    bars = align(load_candles(DATA / "binance_BTCUSDT_1h.csv.gz"), load_candles(DATA / "binance_ETHUSDT_1h.csv.gz"))
    rolling = RollingHedgeRatio(WINDOW_H)
    betas = []
    btc_close, eth_close = bars.btc[3], bars.collateral[3]
    for i in range(len(bars)):
        rolling.update(eth_close[i], btc_close[i])
        value = rolling.value()
        if value.samples >= WINDOW_H:
            betas.append(value.beta)
    q1, median, q3 = statistics.quantiles(betas, n=4)
    above = sum(b > 1.0 for b in betas) / len(betas)
    print(f"ETH on BTC, one-week rolling beta on 1 h bars, {len(betas):,} hours of the shared data:")
    print(f"median {median:.2f}, quartiles {q1:.2f} .. {q3:.2f}, above 1 in {above:.0%} of hours")


if __name__ == "__main__":
    main()
