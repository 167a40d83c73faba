"""Cross-hedge ratio: rolling beta and correlation of the collateral's returns on BTC's returns.

The minimum-variance hedge of X USD of collateral is beta * X USD of BTC short, where beta =
cov(r_collateral, r_btc) / var(r_btc). Correlation says how much of the risk that hedge removes
(1 - rho^2 of the variance is left).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HedgeRatio:
    """A beta/correlation estimate and how many returns it rests on."""

    beta: float
    correlation: float
    samples: int

    @property
    def residual_variance_share(self) -> float:
        """Share of the collateral's return variance a beta hedge leaves unhedged."""
        return 1.0 - self.correlation**2


def estimate(collateral_prices: Sequence[float], btc_prices: Sequence[float]) -> HedgeRatio:
    """Beta and correlation over the whole of two aligned price series."""
    if len(collateral_prices) != len(btc_prices):
        raise ValueError(f"series differ in length: {len(collateral_prices)} vs {len(btc_prices)}")
    rolling = RollingHedgeRatio(window=max(len(btc_prices), 2))
    for c, b in zip(collateral_prices, btc_prices, strict=True):
        rolling.update(c, b)
    return rolling.value()


class RollingHedgeRatio:
    """Beta and correlation over the last `window` returns, updated in O(1) per price pair."""

    __slots__ = ("_n", "_prev_b", "_prev_c", "_returns", "_sb", "_sbb", "_sc", "_scb", "_scc", "window")

    def __init__(self, window: int) -> None:
        if window < 2:
            raise ValueError(f"window must be at least 2 returns, got {window}")
        self.window = window
        self._returns: deque[tuple[float, float]] = deque()
        self._prev_c = math.nan
        self._prev_b = math.nan
        self._sc = self._sb = self._scc = self._sbb = self._scb = 0.0
        self._n = 0

    def update(self, collateral_price: float, btc_price: float) -> None:
        """Take the next aligned pair of prices."""
        if self._prev_c == self._prev_c:  # not NaN: there is a previous price
            rc = math.log(collateral_price / self._prev_c)
            rb = math.log(btc_price / self._prev_b)
            self._returns.append((rc, rb))
            self._sc += rc
            self._sb += rb
            self._scc += rc * rc
            self._sbb += rb * rb
            self._scb += rc * rb
            self._n += 1
            if self._n > self.window:
                oc, ob = self._returns.popleft()
                self._sc -= oc
                self._sb -= ob
                self._scc -= oc * oc
                self._sbb -= ob * ob
                self._scb -= oc * ob
                self._n -= 1
        self._prev_c = collateral_price
        self._prev_b = btc_price

    def value(self, default_beta: float = 1.0) -> HedgeRatio:
        """The current estimate; `default_beta` and zero correlation until two returns are in."""
        n = self._n
        if n < 2:
            return HedgeRatio(default_beta, 0.0, n)
        var_b = self._sbb - self._sb * self._sb / n
        var_c = self._scc - self._sc * self._sc / n
        cov = self._scb - self._sc * self._sb / n
        if var_b <= 1e-18 or var_c <= 1e-18:
            return HedgeRatio(default_beta, 0.0, n)
        return HedgeRatio(cov / var_b, max(-1.0, min(1.0, cov / math.sqrt(var_b * var_c))), n)
