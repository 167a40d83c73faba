"""The risk layer outside the strategies: it clips a plan that breaks a limit and says why."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.plan import HedgePlan, StopTranche
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


def total_capital_usd(snapshot: Snapshot) -> float:
    """Lending equity (collateral - debt) plus the futures account's equity, in USD."""
    lending = snapshot.lending.total_collateral_usd - snapshot.lending.debt_usd
    return max(0.0, lending) + snapshot.hedge_equity_usd


def apply_limits(plan: HedgePlan, snapshot: Snapshot, limits: RiskLimits, leverage_cap: float) -> RiskCheck:
    """`plan` within `limits` and the strategy's `leverage_cap`, with a reason for each clip."""
    reasons: list[str] = []
    size = snapshot.instrument.contract_size_usd
    price = snapshot.btc_price

    leverage = plan.leverage
    cap = min(leverage_cap, limits.max_leverage, snapshot.instrument.max_leverage)
    if leverage > cap:
        reasons.append(f"leverage {leverage:g}x above cap {cap:g}x")
        leverage = cap

    contracts = plan.contracts
    max_by_notional = int(limits.max_notional_usd // size)
    if contracts > max_by_notional:
        reasons.append(f"{contracts} contracts exceed max notional {limits.max_notional_usd:,.0f} USD")
        contracts = max_by_notional

    # Margin on the futures leg: the account cannot carry more than equity x leverage, less the taker fee
    # the order pays (without that headroom an exchange rejects the whole order at the cap).
    equity_usd = snapshot.hedge_equity_usd
    if equity_usd > 0:
        max_by_margin = int(equity_usd * leverage / (1.0 + leverage * snapshot.instrument.taker_fee) // size)
        if contracts > max_by_margin:
            reasons.append(f"{contracts} contracts need more margin than {equity_usd:,.0f} USD at {leverage:g}x")
            contracts = max_by_margin

    stops = plan.stops
    stopped = plan.stopped_contracts
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
    stop = max((tranche.price for tranche in stops), default=None)

    if contracts > 0 and stop is not None and stop > price:
        # What a rise to the stop costs: the account's BTC equity gains what the short loses on the part
        # covering it, and the collateral gains on the part hedging it. Only the short beyond both is
        # exposed: loss = (stop/P - 1) * (N - equity_usd - collateral_usd).
        capital = total_capital_usd(snapshot)
        rise = stop / price - 1.0
        covered = equity_usd + snapshot.lending.collateral_usd
        loss = rise * max(0.0, contracts * size - covered)
        budget = limits.max_capital_at_risk * capital
        if capital > 0 and loss > budget:
            allowed = max(0, int((budget / rise + covered) // size))
            reasons.append(
                f"loss to stop {loss:,.0f} USD above {limits.max_capital_at_risk:.0%} of capital: "
                f"{contracts} -> {allowed} contracts"
            )
            contracts = allowed

    conditional = tuple(c for c in plan.conditional if c.stop_price > c.trigger_price)
    if len(conditional) != len(plan.conditional):
        reasons.append("dropped conditional entries whose stop is not above their trigger")

    if not reasons:
        return RiskCheck(plan=plan, clipped=())
    clipped = plan.with_(
        leverage=leverage,
        contracts=contracts,
        stops=_shrink_stops(stops, contracts),
        conditional=conditional,
        reason=f"{plan.reason}; risk: {'; '.join(reasons)}",
    )
    return RiskCheck(plan=clipped, clipped=tuple(reasons))


def _shrink_stops(stops: tuple[StopTranche, ...], contracts: int) -> tuple[StopTranche, ...]:
    """Stops covering at most `contracts`, dropping from the last tranche first."""
    out: list[StopTranche] = []
    left = contracts
    for tranche in stops:
        if left <= 0:
            break
        take = min(tranche.contracts, left)
        out.append(tranche if take == tranche.contracts else StopTranche(tranche.price, take, tranche.label))
        left -= take
    return tuple(out)
