"""Each asset's beta to BTC, for sizing a BTC short on a whole Aave account: measured, or a class fallback.

The bot measures every asset of the account itself: at each feature bar (a minute by default) it pairs
the asset's Aave oracle price with the perpetual's mark, and regresses the asset's log returns on BTC's
over a rolling window of one week of bars (`RollingHedgeRatio`, the estimator the features use). The
estimate is trusted from one day of returns and a correlation of at least 0.5; before that, or when the
asset does not follow BTC closely enough for a beta to mean much, its class's fallback is used:

- stablecoins 0 (a USD debt does not move with the market),
- BTC wrappers (WBTC, cbBTC, ...) 1,
- ETH and its staking tokens (WETH, wstETH, weETH, ...) 1.1: ETH's median one-week beta to BTC over
  2018-2022 was 1.11 (quartiles 0.93-1.30; `benchmarks/asset_betas.py` prints it),
- anything else 1.

Pure: the engine feeds it prices and reads betas; nothing here reads a clock or the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.domain.features.tracker import windows_for_bar_length
from bot.domain.hedge_ratio import RollingHedgeRatio

# USD (and EUR) stablecoins: beta 0, measured or not.
STABLECOIN_SYMBOLS = frozenset(
    s.upper()
    for s in ("USDC", "USDT", "DAI", "GHO", "USDS", "sUSDS", "sDAI", "PYUSD", "FRAX", "LUSD", "crvUSD", "USDe", "sUSDe",
              "RLUSD", "USDtb", "USDC.e", "USDbC", "EURC", "EURe", "USD₮0")
)  # fmt: skip
BTC_CLASS = frozenset(s.upper() for s in ("WBTC", "cbBTC", "BTCB", "tBTC", "BTC.b", "LBTC", "eBTC", "FBTC", "BTC"))
ETH_CLASS = frozenset(
    s.upper() for s in ("WETH", "ETH", "wstETH", "weETH", "rETH", "cbETH", "osETH", "ETHx", "rsETH", "ezETH", "stETH")
)
FALLBACK_BETA = {"stablecoin": 0.0, "btc": 1.0, "eth": 1.1, "other": 1.0}
MIN_CORRELATION = 0.5


def asset_class(symbol: str) -> str:
    """ "stablecoin", "btc", "eth" or "other": which fallback beta `symbol` takes."""
    s = symbol.upper()
    if s in STABLECOIN_SYMBOLS:
        return "stablecoin"
    if s in BTC_CLASS:
        return "btc"
    if s in ETH_CLASS:
        return "eth"
    return "other"


@dataclass(frozen=True, slots=True)
class AssetBeta:
    """The beta used for one asset, and where it came from."""

    beta: float
    source: str  # "measured" or "fallback"
    samples: int = 0  # returns the estimate rests on
    correlation: float = 0.0


def fallback_beta(symbol: str, samples: int = 0) -> AssetBeta:
    """`symbol`'s class fallback (a stablecoin's 0 is not a fallback: it is what a USD asset is)."""
    cls = asset_class(symbol)
    return AssetBeta(FALLBACK_BETA[cls], f"fallback: {cls} class" if cls != "stablecoin" else "stablecoin", samples)


class AssetBetas:
    """A rolling beta to BTC per asset, over one week of bars, trusted from one day of them."""

    def __init__(self, bar_ms: int, min_correlation: float = MIN_CORRELATION) -> None:
        bars_per_day, week, _ = windows_for_bar_length(bar_ms)
        self.window_bars = week
        self.min_samples = max(2, int(bars_per_day))
        self.min_correlation = min_correlation
        self._ratios: dict[str, RollingHedgeRatio] = {}

    def update(self, btc_price: float, prices_usd: Mapping[str, float]) -> None:
        """Take one bar: the BTC mark and each asset's oracle price (USD), at the same instant."""
        if not btc_price > 0:
            return
        for symbol, price in prices_usd.items():
            if price > 0:
                key = symbol.upper()
                ratio = self._ratios.get(key)
                if ratio is None:
                    ratio = self._ratios[key] = RollingHedgeRatio(self.window_bars)
                ratio.update(price, btc_price)

    def beta(self, symbol: str) -> AssetBeta:
        """The measured beta of `symbol` when trusted, else its class fallback; stablecoins are 0 always."""
        if asset_class(symbol) == "stablecoin":
            return fallback_beta(symbol)
        ratio = self._ratios.get(symbol.upper())
        if ratio is None:
            return fallback_beta(symbol)
        value = ratio.value()
        if value.samples >= self.min_samples and abs(value.correlation) >= self.min_correlation:
            return AssetBeta(value.beta, "measured", value.samples, value.correlation)
        return fallback_beta(symbol, value.samples)
