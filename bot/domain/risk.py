"""The risk layer outside the strategies: it clips a plan that breaks a limit and says why."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.domain.fast_init import positional_constructor
from bot.domain.instruments import Instrument
from bot.domain.plan import HedgePlan, StopTranche, make_plan, make_stop_tranche
from bot.domain.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Limits every plan is held to, whatever the strategy."""

    max_leverage: float = 20.0
    max_notional_usd: float = 250_000.0
    max_capital_at_risk: float = 0.05  # loss to the protective stop / total capital
    default_stop_pct: float = 0.10


@dataclass(frozen=True, slots=True)
class RiskCheck:
    plan: HedgePlan
    clipped: tuple[str, ...]


_make_check: Callable[[HedgePlan, tuple[str, ...]], RiskCheck] = positional_constructor(RiskCheck)


def apply_limits(plan: HedgePlan, snapshot: Snapshot, limits: RiskLimits, leverage_cap: float) -> RiskCheck:
    """`plan` within `limits` and the strategy's `leverage_cap`, with a reason for each clip."""
    return RiskLayer(limits, leverage_cap, snapshot.instrument).check(plan, snapshot)


class RiskLayer:
    """`apply_limits` for one set of limits, strategy cap and instrument, with what they fix computed once.

    A replay checks a plan on every bar; this keeps the per-bar work to the plan and the snapshot.
    """

    __slots__ = ("_cap", "_max_by_notional", "_size", "_taker_fee", "instrument", "leverage_cap", "limits")

    def __init__(self, limits: RiskLimits, leverage_cap: float, instrument: Instrument) -> None:
        self.limits = limits
        self.leverage_cap = leverage_cap
        self.instrument = instrument
        self._cap = min(leverage_cap, limits.max_leverage, instrument.max_leverage)
        self._size = instrument.contract_size_usd
        self._max_by_notional = int(limits.max_notional_usd // self._size)
        self._taker_fee = instrument.taker_fee

    def check(self, plan: HedgePlan, snapshot: Snapshot) -> RiskCheck:
        """`plan` within the limits, with a reason for each clip (the no-clip path allocates nothing)."""
        if snapshot.instrument is not self.instrument:
            return RiskLayer(self.limits, self.leverage_cap, snapshot.instrument).check(plan, snapshot)
        limits = self.limits
        reasons: list[str] = []
        size = self._size
        price = snapshot.btc_price

        leverage = plan.leverage
        cap = self._cap
        if leverage > cap:
            reasons.append(f"leverage {leverage:g}x above cap {cap:g}x")
            leverage = cap

        contracts = plan.contracts
        max_by_notional = self._max_by_notional
        if contracts > max_by_notional:
            reasons.append(f"{contracts} contracts exceed max notional {limits.max_notional_usd:,.0f} USD")
            contracts = max_by_notional

        # Margin on the futures leg: the account cannot carry more than equity x leverage, less the taker fee
        # the order pays (without that headroom an exchange rejects the whole order at the cap).
        equity_usd = snapshot.hedge.equity_btc * price  # Snapshot.hedge_equity_usd
        if equity_usd > 0:
            max_by_margin = int(equity_usd * leverage / (1.0 + leverage * self._taker_fee) // size)
            if contracts > max_by_margin:
                reasons.append(f"{contracts} contracts need more margin than {equity_usd:,.0f} USD at {leverage:g}x")
                contracts = max_by_margin

        stops = plan.stops
        stopped = 0
        for tranche in stops:
            stopped += tranche.contracts
        if contracts < stopped:
            stops = _shrink_stops(stops, contracts)
        if contracts > stopped:
            default = price * (1.0 + limits.default_stop_pct)
            missing = contracts - stopped
            stops = (*stops, StopTranche(default, missing, "risk-default"))
            reasons.append(
                f"{missing} contracts without a protective stop: added one at {default:,.1f}"
                f" (+{limits.default_stop_pct:.0%})"
            )
        stop: float | None = None
        for tranche in stops:
            if stop is None or tranche.price > stop:
                stop = tranche.price

        if contracts > 0 and stop is not None and stop > price:
            # What a rise to the stop costs: the account's BTC equity gains what the short loses on the part
            # covering it, and the collateral gains on the part hedging it. Only the short beyond both is
            # exposed: loss = (stop/P - 1) * (N - equity_usd - collateral_usd).
            lending = snapshot.lending
            capital = max(0.0, lending.total_collateral_usd - lending.debt_usd) + equity_usd  # total_capital_usd
            rise = stop / price - 1.0
            covered = equity_usd + lending.collateral_usd
            loss = rise * max(0.0, contracts * size - covered)
            budget = limits.max_capital_at_risk * capital
            if capital > 0 and loss > budget:
                allowed = max(0, int((budget / rise + covered) // size))
                reasons.append(
                    f"loss to stop {loss:,.0f} USD above {limits.max_capital_at_risk:.0%} of capital: "
                    f"{contracts} -> {allowed} contracts"
                )
                contracts = allowed

        conditional = plan.conditional
        if conditional:
            conditional = tuple(c for c in conditional if c.stop_price > c.trigger_price)
            if len(conditional) != len(plan.conditional):
                reasons.append("dropped conditional entries whose stop is not above their trigger")

        if not reasons:
            return _make_check(plan, ())
        stops = _shrink_stops(stops, contracts)
        reason = f"{plan.reason}; risk: {'; '.join(reasons)}"
        if type(plan) is HedgePlan:  # plan.with_(...), built fast: a replay clips on many bars
            clipped = make_plan(
                plan.hedge_usd,
                contracts,
                leverage,
                stops,
                plan.entry,
                plan.limit_offset_bps,
                plan.max_step_contracts,
                conditional,
                reason,
                plan.state,
            )
        else:
            clipped = plan.with_(
                leverage=leverage, contracts=contracts, stops=stops, conditional=conditional, reason=reason
            )
        return _make_check(clipped, tuple(reasons))


def _shrink_stops(stops: tuple[StopTranche, ...], contracts: int) -> tuple[StopTranche, ...]:
    """Stops covering at most `contracts`, dropping from the last tranche first."""
    out: list[StopTranche] = []
    left = contracts
    for tranche in stops:
        if left <= 0:
            break
        take = min(tranche.contracts, left)
        out.append(tranche if take == tranche.contracts else make_stop_tranche(tranche.price, take, tranche.label))
        left -= take
    return tuple(out)
