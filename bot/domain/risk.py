"""The risk layer outside the strategies: it clips a plan that breaks a limit and says why."""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.domain.plan import ConditionalEntry, HedgePlan, StopTranche, shrink_stops
from bot.domain.protection import MarginMode, held_short, stop_ceiling
from bot.domain.snapshot import Snapshot


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Limits every plan is held to, whatever the strategy."""

    max_leverage: float = 20.0
    max_notional_usd: float = 250_000.0
    max_capital_at_risk: float = 0.05  # loss to the protective stop / total capital
    default_stop_pct: float = 0.10
    # The venue's margin mode: it decides what backs the short, so where it is liquidated.
    margin_mode: MarginMode = "isolated"
    # A stop sits at least this far (fraction) below the short's liquidation price: room for its market fill.
    liquidation_buffer: float = 0.01
    # ... and at least this far above the mark, or it may trigger as it arrives.
    min_stop_distance: float = 0.002


@dataclass(frozen=True, slots=True)
class RiskCheck:
    plan: HedgePlan
    clipped: tuple[str, ...]


def total_capital_usd(snapshot: Snapshot) -> float:
    """Lending equity (collateral - debt) plus the futures account's equity, in USD."""
    lending = snapshot.lending.total_collateral_usd - snapshot.lending.debt_usd
    return max(0.0, lending) + snapshot.hedge_equity_usd


def apply_limits(plan: HedgePlan, snapshot: Snapshot, limits: RiskLimits, leverage_cap: float) -> RiskCheck:
    """`plan` within `limits` and the strategy's `leverage_cap`, with a reason for each clip.

    Whatever the strategy asked, the plan that leaves here protects every contract of the short with a
    stop strictly between the mark and the short's own liquidation price (`bot.domain.protection`), or it
    holds no short at all.
    """
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

    contracts = _within_margin(contracts, leverage, snapshot, reasons)

    stops = plan.stops
    stopped = plan.stopped_contracts
    if contracts < stopped:
        stops = shrink_stops(stops, contracts)
    if contracts > stopped:
        default = price * (1.0 + limits.default_stop_pct)
        missing = contracts - stopped
        stops = (*stops, StopTranche(default, missing, "risk-default"))
        reasons.append(
            f"{missing} contracts without a protective stop: added one at {default:,.1f}"
            f" (+{limits.default_stop_pct:.0%})"
        )

    guard = _StopGuard(snapshot, limits)
    stops = guard.above_mark(stops, reasons)
    stops, contracts, leverage = guard.fit(stops, contracts, leverage, reasons)
    if leverage < plan.leverage and contracts > 0:
        # A lower leverage needs more margin per contract: the account must still carry the short.
        contracts = _within_margin(contracts, leverage, snapshot, reasons)
        stops = shrink_stops(stops, contracts)

    # Capital at risk, priced from the stop as repaired: the loss a rise to it costs.
    stop = max((tranche.price for tranche in stops), default=None)
    if contracts > 0 and stop is not None and stop > price:
        # What a rise to the stop costs: the account's BTC equity gains what the short loses on the part
        # covering it, and the account gains on the part hedging it (its beta-weighted net delta: the hedged
        # collateral's value for a one-collateral view). Only the short beyond both is exposed:
        # loss = (stop/P - 1) * (N - equity_usd - net_delta_usd).
        capital = total_capital_usd(snapshot)
        rise = stop / price - 1.0
        covered = snapshot.hedge_equity_usd + max(0.0, snapshot.lending.net_delta_usd)
        loss = rise * max(0.0, contracts * size - covered)
        budget = limits.max_capital_at_risk * capital
        if capital > 0 and loss > budget:
            allowed = max(0, int((budget / rise + covered) // size))
            reasons.append(
                f"loss to stop {loss:,.0f} USD above {limits.max_capital_at_risk:.0%} of capital: "
                f"{contracts} -> {allowed} contracts"
            )
            contracts = allowed
            stops = shrink_stops(stops, contracts)
            # A smaller short can have a nearer liquidation price (isolated, grown at a higher price): re-check.
            stops, contracts, leverage = guard.fit(stops, contracts, leverage, reasons)

    conditional = tuple(c for c in plan.conditional if c.stop_price > c.trigger_price)
    if len(conditional) != len(plan.conditional):
        reasons.append("dropped conditional entries whose stop is not above their trigger")
    conditional = guard.fit_conditional(conditional, contracts, leverage, reasons)

    if not reasons:
        return RiskCheck(plan=plan, clipped=())
    clipped = plan.with_(
        leverage=leverage,
        contracts=contracts,
        stops=shrink_stops(stops, contracts),
        conditional=conditional,
        reason=f"{plan.reason}; risk: {'; '.join(reasons)}",
    )
    return RiskCheck(plan=clipped, clipped=tuple(reasons))


def stop_ceiling_for(snapshot: Snapshot, limits: RiskLimits, contracts: int, leverage: float) -> float:
    """The highest protective stop `apply_limits` allows for a short of `contracts` reached now at `leverage`."""
    return _StopGuard(snapshot, limits).ceiling(contracts, leverage)


def _within_margin(contracts: int, leverage: float, snapshot: Snapshot, reasons: list[str]) -> int:
    """`contracts`, cut to what the futures account's equity carries at `leverage`."""
    # The account cannot carry more than equity x leverage, less the taker fee the order pays (without that
    # headroom an exchange rejects the whole order at the cap).
    equity_usd = snapshot.hedge_equity_usd
    if equity_usd <= 0:
        return contracts
    size = snapshot.instrument.contract_size_usd
    max_by_margin = int(equity_usd * leverage / (1.0 + leverage * snapshot.instrument.taker_fee) // size)
    if contracts > max_by_margin:
        reasons.append(f"{contracts} contracts need more margin than {equity_usd:,.0f} USD at {leverage:g}x")
        return max_by_margin
    return contracts


class _StopGuard:
    """Puts each protective stop strictly between the mark and the short's liquidation price, or says why not."""

    def __init__(self, snapshot: Snapshot, limits: RiskLimits) -> None:
        self.snapshot = snapshot
        self.limits = limits
        self.price = snapshot.btc_price
        self.floor = self.price * (1.0 + limits.min_stop_distance)

    def ceiling(self, contracts: int, leverage: float) -> float:
        """The highest stop allowed for a short of `contracts` reached now at `leverage`."""
        s = self.snapshot
        mode = self.limits.margin_mode
        held = held_short(s.hedge, self.price, leverage, mode, s.instrument)
        target = held.resized(contracts, self.price, leverage, mode, s.instrument)
        return stop_ceiling(target.liquidation_price(s.instrument), self.limits.liquidation_buffer)

    def above_mark(self, stops: tuple[StopTranche, ...], reasons: list[str]) -> tuple[StopTranche, ...]:
        """Stops at or below the mark would trigger as they arrive: they get the default distance instead."""
        low = [t for t in stops if t.price <= self.price]
        if not low:
            return stops
        default = self.price * (1.0 + self.limits.default_stop_pct)
        reasons.append(
            f"stop at {min(t.price for t in low):,.1f} is not above the mark {self.price:,.1f}: "
            f"moved to {default:,.1f} (+{self.limits.default_stop_pct:.0%})"
        )
        return tuple(StopTranche(default, t.contracts, t.label) if t.price <= self.price else t for t in stops)

    def fit(
        self, stops: tuple[StopTranche, ...], contracts: int, leverage: float, reasons: list[str]
    ) -> tuple[tuple[StopTranche, ...], int, float]:
        """Stops below the liquidation price: tighter stops, else a lower leverage, else a smaller short."""
        if contracts <= 0:
            return (), 0, leverage
        ceiling = self.ceiling(contracts, leverage)
        if ceiling <= self.floor:
            leverage, ceiling = self._lower_leverage(contracts, leverage, ceiling, reasons)
        if ceiling <= self.floor:
            contracts, ceiling = self._smaller_short(contracts, leverage, reasons)
            if contracts == 0:
                return (), 0, leverage
            stops = shrink_stops(stops, contracts)
        high = [t for t in stops if t.price > ceiling]
        if high:
            liq = ceiling / (1.0 - self.limits.liquidation_buffer)
            reasons.append(
                f"stop at {max(t.price for t in high):,.1f} is not below the short's liquidation price "
                f"{liq:,.1f} ({self.limits.margin_mode}, {leverage:g}x): moved to {ceiling:,.1f}"
            )
            stops = tuple(StopTranche(ceiling, t.contracts, t.label) if t.price > ceiling else t for t in stops)
        return stops, contracts, leverage

    def _lower_leverage(
        self, contracts: int, leverage: float, ceiling: float, reasons: list[str]
    ) -> tuple[float, float]:
        """The highest whole leverage under `leverage` whose liquidation price leaves room for a stop."""
        if self.limits.margin_mode != "isolated":
            return leverage, ceiling  # cross margin: the wallet, not the leverage, sets the liquidation price
        for lower in range(math.ceil(leverage) - 1, 0, -1):
            room = self.ceiling(contracts, float(lower))
            if room > self.floor:
                reasons.append(
                    f"no stop fits below the liquidation price at {leverage:g}x: leverage lowered to {lower}x"
                )
                return float(lower), room
        return leverage, ceiling

    def _smaller_short(self, contracts: int, leverage: float, reasons: list[str]) -> tuple[int, float]:
        """The largest short up to `contracts` whose liquidation price leaves room for a stop (0 if none)."""
        lo, hi = 0, contracts  # lo fits (an empty short always does); find the largest that fits
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.ceiling(mid, leverage) > self.floor:
                lo = mid
            else:
                hi = mid - 1
        fitted = self.ceiling(lo, leverage) if lo else math.inf
        held = self.snapshot.hedge.short_contracts
        if lo == 0:
            what = "closing the short" if held else "no short"
            reasons.append(f"no stop fits between the mark {self.price:,.1f} and the short's liquidation price: {what}")
        else:
            reasons.append(f"no stop fits below the liquidation price of {contracts} contracts: {lo} contracts")
        return lo, fitted

    def fit_conditional(
        self, entries: tuple[ConditionalEntry, ...], contracts: int, leverage: float, reasons: list[str]
    ) -> tuple[ConditionalEntry, ...]:
        """Conditional entries whose stop sits below the liquidation price of the short they would make."""
        if not entries:
            return entries
        s = self.snapshot
        mode = self.limits.margin_mode
        after_plan = held_short(s.hedge, self.price, leverage, mode, s.instrument).resized(
            contracts, self.price, leverage, mode, s.instrument
        )
        out: list[ConditionalEntry] = []
        for entry in entries:
            armed = after_plan.resized(
                after_plan.contracts + entry.contracts, entry.trigger_price, leverage, mode, s.instrument
            )
            ceiling = stop_ceiling(armed.liquidation_price(s.instrument), self.limits.liquidation_buffer)
            if ceiling <= entry.trigger_price * (1.0 + self.limits.min_stop_distance):
                reasons.append(f"dropped conditional entry {entry.label}: no stop fits below its liquidation price")
                continue
            if entry.stop_price > ceiling:
                reasons.append(
                    f"conditional entry {entry.label}'s stop {entry.stop_price:,.1f} moved below its "
                    f"liquidation price: {ceiling:,.1f}"
                )
                entry = ConditionalEntry(entry.trigger_price, entry.contracts, ceiling, entry.label)
            out.append(entry)
        return tuple(out)
