"""The one decision step: snapshot -> strategy -> plan check -> risk layer -> change test -> actions. Pure.

The engine (live and dry-run) and the backtest both call it; they differ only in the edges plugged in
(a live or paper venue, a chain or a simulated loan, the wall clock or the bar clock). So a backtest
figure is evidence about the bot: the same plan check, the same risk layer, the same change test (the
reconciler with the same settings, against the orders the venue really holds), and the same triggers.

`Triggers` says when a decision is due; `DecisionStep.decide` makes it; `DecisionStep.actions` turns
it into orders once the edge has given it a sequence number (the journal's, live; a counter, replayed).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from bot.domain.orders import AccountState
from bot.domain.plan import FLAT, HedgePlan, plan_problem
from bot.domain.rebalance import ChangePolicy, hold_within_band
from bot.domain.risk import RiskLimits, apply_limits
from bot.domain.snapshot import EMPTY_STATE, Snapshot, StrategyState
from bot.venues.reconcile import Action, ReconcileSettings, reconcile
from strategies.base import Strategy


@dataclass(frozen=True, slots=True)
class Triggers:
    """When a decision is due: a mark move, an oracle move, a fill, or the heartbeat, whichever first."""

    price_trigger: float = 0.002  # BTC mark move since the last decision (fraction)
    # Chainlink's ETH/USD answer moves on a 0.5 % deviation: a smaller move of the collateral is not news.
    collateral_trigger: float = 0.005
    heartbeat_ms: int = 30_000

    def why(self, last: Decided | None, now_ms: int, btc: float, collateral: float, fills: int) -> str | None:
        """The trigger that fires now (the first decision always does), or None."""
        if last is None:
            return "start"
        if fills != last.fills:
            return "fill"
        if abs(btc / last.btc - 1.0) >= self.price_trigger:
            return "price"
        if abs(collateral / last.collateral - 1.0) >= self.collateral_trigger:
            return "block"
        if now_ms - last.ts_ms >= self.heartbeat_ms:
            return "heartbeat"
        return None


@dataclass(frozen=True, slots=True)
class Decided:
    """What the last decision was made on: the reference the triggers measure from."""

    ts_ms: int
    btc: float
    collateral: float
    fills: int


@dataclass(frozen=True, slots=True)
class Decision:
    """One decision: the plan after the risk layer, why it was clipped, and whether it changes anything."""

    snapshot: Snapshot
    account: AccountState
    plan: HedgePlan | None  # None when the strategy failed (`problem` says how)
    clipped: tuple[str, ...] = ()
    problem: str | None = None
    changed: bool = False  # a new plan, or orders to send: journal it and act


@dataclass
class DecisionStep:
    """The strategy with its state, the limits and the reconciler's settings; remembers the last plan."""

    strategy: Strategy[Any]
    limits: RiskLimits
    reconcile_settings: ReconcileSettings
    change: ChangePolicy = field(default_factory=ChangePolicy)  # when a resize is worth an order (B15)
    state: StrategyState = field(default_factory=lambda: EMPTY_STATE)
    last_plan: HedgePlan | None = None

    def decide(self, snapshot: Snapshot, account: AccountState, last_fill_ms: int | None = None) -> Decision:
        """The decision on `snapshot` (built with this step's `state`) and the venue's `account`; `last_fill_ms`
        is when the hedge last traded (the change policy's cooldown counts from it)."""
        try:
            wanted = self.strategy.decide(snapshot)
            problem = plan_problem(wanted)
        except Exception as exc:  # a plugin's bug must never reach a venue, live or replayed
            wanted, problem = None, f"raised {type(exc).__name__}: {exc}"
        if problem is not None or wanted is None:
            return Decision(snapshot, account, None, problem=f"strategy {self.strategy.name} {problem}")
        if not snapshot.lending.hedgeable:  # a BTC short does not protect it: hold none, whatever the strategy asks
            wanted = replace(
                FLAT, leverage=wanted.leverage, reason=snapshot.lending.not_hedgeable_reason, state=wanted.state
            )
        # A resize too small to be worth an order, or too soon after the last trade, holds the short it has.
        wanted = hold_within_band(wanted, snapshot.hedge.short_contracts, self.change, snapshot.now_ms, last_fill_ms)
        checked = apply_limits(wanted, snapshot, self.limits, self.strategy.leverage_cap)
        plan = checked.plan
        self.state = plan.state
        # Unchanged plan and nothing to send: not worth a journal row (heartbeats would fill it).
        probe = reconcile(plan, account, snapshot.instrument, 0, self.reconcile_settings)
        changed = plan != self.last_plan or bool(probe)
        return Decision(snapshot, account, plan, checked.clipped, None, changed)

    def actions(self, decision: Decision, seq: int) -> list[Action]:
        """The orders that take the venue from `decision.account` to its plan, with ids from `seq`."""
        assert decision.plan is not None
        self.last_plan = decision.plan
        return reconcile(decision.plan, decision.account, decision.snapshot.instrument, seq, self.reconcile_settings)
