"""The strategy plugin contract.

A strategy is a small class: typed parameters (a pydantic model), optionally a typed state (a TypedDict),
and one pure method, `decide(snapshot) -> HedgePlan`. It never awaits, logs, reads a clock or touches a
venue, so the same class runs live, in dry-run and over a year of minute bars in a replay.
"""

from __future__ import annotations

import difflib
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from types import NoneType, UnionType
from typing import (
    Any,
    ClassVar,
    Generic,
    TypedDict,
    TypeVar,
    Union,
    cast,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.domain.inverse import pnl_btc
from bot.domain.plan import ConditionalEntry, EntryStyle, HedgePlan, StopTranche, WakeUp
from bot.domain.sizing import hedge_contracts
from bot.domain.snapshot import EMPTY_STATE, Snapshot, StrategyState
from bot.errors import UsageError

__all__ = [
    "INTERFACE_VERSION",
    "CapitalState",
    "ConditionalEntry",
    "EntryStyle",
    "HedgePlan",
    "Snapshot",
    "StopTranche",
    "Strategy",
    "StrategyParams",
    "StrategyState",
    "WakeUp",
]

INTERFACE_VERSION = 3
"""The strategy interface this hedgebot speaks; a plugin states the one it was written for as
`interface_version`, and one newer than this is refused when it loads.

1: the first. 2: the values a strategy reads and returns (`Snapshot`, `LendingView`, `HedgeView`,
`HedgePlan`) take keywords only, so adding a field breaks no plugin; a strategy may declare a typed `State`;
`leverage_cap` defaults to the `le` bound of `Params.leverage`. 3: a plan may say when the strategy next needs
to decide (`HedgePlan.wake`, a `WakeUp`); without one it decides on every trigger, as before, so a plugin
written for 1 or 2 runs unchanged.
"""


class StrategyParams(BaseModel):
    """Parameters every strategy has. Subclass it to add your own; unknown names are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    leverage: float = Field(5.0, gt=0, description="leverage of the short (x), capped by the strategy's cap")
    stop_pct: float = Field(0.15, gt=0, lt=1, description="protective buy-stop distance above the mark (fraction)")
    use_beta: bool = Field(
        True, description="scale the hedge by the collateral's measured beta to BTC (cross-hedge ratio)"
    )
    beta_min: float = Field(0.5, gt=0, description="lowest beta used (the estimate is clamped)")
    beta_max: float = Field(2.0, gt=0, description="highest beta used")
    min_correlation: float = Field(
        0.5, ge=0, le=1, description="below this correlation the beta estimate is not trusted: beta 1 is used"
    )
    max_funding_cost_8h: float = Field(
        0.0005, ge=0, description="when shorts pay more funding than this per 8 h, hedge only the at-risk part"
    )
    # Capital preservation (issue 12): a hedge account that is wiped protects nothing afterwards. These three
    # were set by hand, not searched, so that no built-in's account is wiped over the whole 2018-2022 history
    # (`hedgebot evaluate`): an in-sample choice, said so in docs/backtest.md.
    max_stop_loss: float = Field(
        0.25,
        gt=0,
        le=1,
        description="most of the hedge account's current equity one stop-out may cost: the short is sized to fit",
    )
    reentry_hours: float = Field(
        72.0,
        ge=0,
        description="after a stop-out, stay out this long, unless the price falls back below the stop first",
    )
    reenter_within: float = Field(
        0.25,
        ge=0,
        lt=1,
        description="a stopped-out hedge re-enters at once while the collateral is within this fall of liquidation",
    )


# Room kept between a protective stop and the short's own liquidation price, beyond the risk layer's 1 %:
# a stop is a market order once triggered, and a gap or a thin book fills it above its trigger.
LIQUIDATION_ROOM = 0.02


class CapitalState(TypedDict, total=False):
    """What `Strategy.plan` remembers to tell a stop-out from its own decisions (every strategy's State has it)."""

    held_short: int  # the short held at the last decision (contracts)
    planned_short: int  # the short the last plan asked for
    stopped_ms: int | None  # when the short was last found stopped out (None: not sitting out)
    stopped_at: float | None  # the mark then: re-entry is early once the price is back below it


@dataclass(frozen=True, slots=True)
class StopOut:
    """Whether to stay out after a stop-out, why, and the state that carries it to the next decision."""

    sitting_out: bool
    why: str
    stopped_ms: int | None
    stopped_at: float | None


P = TypeVar("P", bound=StrategyParams)


class Strategy(ABC, Generic[P]):
    """Base class of every strategy, built in or plugged in."""

    name: ClassVar[str]
    summary: ClassVar[str]
    risk_class: ClassVar[str]
    Params: ClassVar[type[StrategyParams]]
    # The highest leverage the strategy accepts. Left out, it is the `le` bound of `Params.leverage`, so the
    # cap is stated once, where a user's --param leverage=... is checked.
    leverage_cap: ClassVar[float]
    # What the strategy remembers from one decision to the next, if anything: a TypedDict of plain values
    # that `decide` returns as the plan's `state` and reads back with `snapshot.state_as(State)`. The journal
    # keeps it as JSON across restarts, so each value is a float, int, str, bool or None.
    State: ClassVar[type[Mapping[str, Any]] | None] = None
    # The strategy interface the class was written for (INTERFACE_VERSION when it was).
    interface_version: ClassVar[int] = INTERFACE_VERSION
    # An opt-in strategy is only used when asked for by name (high-risk ones).
    opt_in: ClassVar[bool] = False
    # False for a trading strategy run beside the hedge (it does not aim to protect the loan): evaluations
    # say so on its row.
    is_hedge: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "leverage_cap" not in vars(cls) and "Params" in vars(cls):
            bound = _leverage_bound(cls.Params)
            if bound is not None:
                cls.leverage_cap = bound
        state = vars(cls).get("State")
        if state is not None:
            _check_state(cls.__name__, state)

    def __init__(self, params: P) -> None:
        self.params = params

    @classmethod
    def from_params(cls, values: Mapping[str, Any] | None = None) -> Strategy[Any]:
        """An instance with `values` validated against `Params`; UsageError names a bad one."""
        try:
            params = cls.Params.model_validate(dict(values or {}))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'params'}: "
                + (
                    "unknown parameter" + _did_you_mean(e["loc"], cls.Params.model_fields)
                    if e["type"] == "extra_forbidden"
                    else f"got {e.get('input')!r}, {e['msg']}"
                )
                for e in exc.errors()
            )
            known = ", ".join(cls.Params.model_fields)
            raise UsageError(f"strategy {cls.name}: {problems} (parameters: {known})") from None
        return cls(cast(Any, params))

    @classmethod
    def describe(cls) -> dict[str, Any]:
        """Name, risk class, leverage cap, each parameter with its type, default and meaning, and the state kept."""
        params = []
        for pname, field in cls.Params.model_fields.items():
            annotation = field.annotation
            params.append(
                {
                    "name": pname,
                    "type": getattr(annotation, "__name__", str(annotation)),
                    "default": field.default,
                    "description": field.description or "",
                }
            )
        state = {} if cls.State is None else get_type_hints(cls.State)
        return {
            "name": cls.name,
            "summary": cls.summary,
            "risk_class": cls.risk_class,
            "leverage_cap": cls.leverage_cap,
            "opt_in": cls.opt_in,
            "is_hedge": cls.is_hedge,
            "interface_version": cls.interface_version,
            "params": params,
            "state": {key: getattr(hint, "__name__", str(hint)) for key, hint in state.items()},
        }

    @abstractmethod
    def decide(self, snapshot: Snapshot) -> HedgePlan:
        """The hedge wanted now. Pure: same snapshot, same plan."""

    # Helpers every strategy uses; they put funding, correlation and margin into each decision.

    def beta(self, snapshot: Snapshot) -> float:
        """BTC USD to short per USD of collateral: the clamped measured beta, or 1 when not trusted."""
        f = snapshot.features
        p = self.params
        if not p.use_beta or f.samples < 24 or abs(f.correlation) < p.min_correlation:
            return 1.0
        return min(p.beta_max, max(p.beta_min, f.beta))

    def exposure_usd(self, snapshot: Snapshot) -> float:
        """USD of BTC to short to offset the account: its beta-weighted net delta (every collateral at its beta
        minus every volatile debt; `snapshot.lending.net_delta_usd`) when the view carries the whole account,
        else the one collateral's value times `beta`."""
        lending = snapshot.lending
        if lending.whole_account:
            return max(0.0, lending.net_delta_usd)
        return lending.collateral_usd * self.beta(snapshot)

    def funding_too_expensive(self, snapshot: Snapshot) -> bool:
        """True when holding a short pays more funding than the strategy accepts."""
        return -snapshot.funding_rate_8h > self.params.max_funding_cost_8h

    def stop_above(self, price: float, pct: float | None = None) -> float:
        """A protective buy-stop `pct` above `price`."""
        return price * (1.0 + (self.params.stop_pct if pct is None else pct))

    def stop_room(self, snapshot: Snapshot, leverage: float | None = None) -> float:
        """How far above the mark a stop may sit and still trigger before the short's liquidation price.

        A short opened at leverage L on isolated margin is liquidated at about entry x (1 - mmr) x L / (L - 1)
        (bot.domain.inverse.liquidation_price); the stop keeps `LIQUIDATION_ROOM` below that. At 1x or less
        the margin covers the whole notional and nothing liquidates the short.
        """
        lev = min(self.params.leverage, self.leverage_cap) if leverage is None else leverage
        if lev <= 1.0:
            return math.inf
        mmr = snapshot.instrument.maintenance_margin_rate
        return (1.0 - mmr) * lev / (lev - 1.0) - 1.0 - LIQUIDATION_ROOM

    def protective_stop(self, snapshot: Snapshot, pct: float | None = None) -> float:
        """The short's stop: `pct` above the mark when it is placed (never beyond `stop_room`: inside the
        short's own liquidation price), and from then on only lower.

        The stop belongs to the position, not to the mark: while one rests, a rising mark leaves it where it
        is (a stop that follows the mark up walks away from a rising price and past the short's own
        liquidation price), and a falling mark lowers it, toward safety.
        """
        wanted = self.stop_above(
            snapshot.btc_price, min(self.params.stop_pct if pct is None else pct, self.stop_room(snapshot))
        )
        resting = snapshot.hedge.stop_price
        if snapshot.hedge.short_contracts > 0 and resting is not None and resting > snapshot.btc_price:
            return min(resting, wanted)
        return wanted

    def stop_out(self, snapshot: Snapshot) -> StopOut:
        """Is the strategy sitting out after a stop-out?

        A stop-out is the short gone without a plan asking for it: the last decision held a short and
        planned to keep one, and now none is held (its stop fired, or the venue closed it). After one the
        strategy stays out for `reentry_hours`, unless the price falls back a stop's distance below where it
        was stopped (about where the stopped short was opened): the rise that stopped it has reversed, and a
        new short gets a new stop from the lower price; or unless the loan is within `reenter_within` of its
        liquidation, where a bounce that stops the short is no reason to leave the loan unhedged.
        Re-entering at once would sell again into the rise
        that just cost a stop's worth of capital, and re-entering just under the stop would be stopped again
        by the same noise.
        """
        state = cast(CapitalState, snapshot.state)
        stopped_ms, stopped_at = state.get("stopped_ms"), state.get("stopped_at")
        if (
            state.get("held_short", 0) > 0
            and state.get("planned_short", 0) > 0
            and snapshot.hedge.short_contracts == 0
            and stopped_ms is None
        ):
            stopped_ms, stopped_at = snapshot.now_ms, snapshot.btc_price
        if stopped_ms is None or stopped_at is None:
            return StopOut(False, "", None, None)
        if snapshot.lending.distance_to_liquidation <= self.params.reenter_within:
            # The loan is in danger: sitting out now would leave it unhedged in the fall the hedge is for.
            return StopOut(
                False,
                f"re-entered: the loan is {snapshot.lending.distance_to_liquidation:.0%} from liquidation",
                None,
                None,
            )
        until_ms = stopped_ms + self.params.reentry_hours * 3_600_000
        rearm = stopped_at * (1.0 - self.stop_distance(snapshot))  # about where the stopped short was opened
        if snapshot.btc_price <= rearm:
            return StopOut(False, f"re-entered: price back below {rearm:,.1f}, a stop below the stop-out", None, None)
        if snapshot.now_ms >= until_ms:
            return StopOut(False, f"re-entered: {self.params.reentry_hours:g} h since the stop-out", None, None)
        return StopOut(
            True,
            f"stopped out at {stopped_at:,.1f}: out for {self.params.reentry_hours:g} h "
            f"or until the price is back at {rearm:,.1f}",
            stopped_ms,
            stopped_at,
        )

    def stop_distance(self, snapshot: Snapshot) -> float:
        """How far above the mark a new short's stop is placed: `stop_pct`, or less to stay inside liquidation."""
        return min(self.params.stop_pct, self.stop_room(snapshot))

    def size_on_equity(self, snapshot: Snapshot, hedge_usd: float) -> tuple[float, str]:
        """`hedge_usd` cut so that a stop-out costs at most `max_stop_loss` of the account's equity now.

        The short beyond the margin's own BTC (`hedge_usd`) loses `stop_distance` x hedge_usd when a rise
        takes it to its stop; the margin itself gains what the rest of the short loses. Sized on the equity
        the account has now, not the capital it started with, so a string of losses makes each next one
        smaller. Priced on the distance a stop is placed at, not on what is left to a resting one: a short
        whose price has crept toward its stop is not topped up for it. An account that reports no equity (an
        offline plan, before it is funded) is not sized here: the risk layer's margin check is its limit.
        """
        equity = snapshot.hedge_equity_usd
        if equity <= 0:
            return hedge_usd, ""  # unknown (an offline plan, an account not yet funded): the margin check decides
        cap = self.params.max_stop_loss * equity / self.stop_distance(snapshot)
        if hedge_usd <= cap:
            return hedge_usd, ""
        # The equity moves with the price, so the cap does too: a short held within a quarter above it is kept,
        # or every wobble would buy back on a rise and sell again on a fall, paying fees each way.
        held = snapshot.hedge.short_contracts * snapshot.instrument.contract_size_usd - equity
        if cap < held <= min(hedge_usd, 1.25 * cap):
            cap = held
        return cap, (
            f"sized on equity {equity:,.0f} USD: {cap:,.0f} USD hedged, so a stop-out costs at most "
            f"{self.params.max_stop_loss:.0%} of it"
        )

    def plan(
        self,
        snapshot: Snapshot,
        hedge_usd: float,
        *,
        reason: str,
        stop_price: float | None = None,
        state: Mapping[str, object] = EMPTY_STATE,
        **extra: Any,
    ) -> HedgePlan:
        """A plan for a net short of `hedge_usd`, sized on the account's net delta, with capital preservation.

        The short also covers the USD value of the account's BTC equity, which is itself long BTC. Its stop is
        `stop_price`, or `protective_stop`: inside the liquidation price, anchored to the position, lowered
        only. Then the capital rules, each named in the reason when it bites: after a stop-out no hedge beyond
        the margin's own delta until re-entry (`stop_out`), and a short no larger than `max_stop_loss` of the
        account's current equity can lose at its stop (`size_on_equity`). `state` is what the next snapshot
        hands back (plus the `CapitalState` keys): a plain mapping, or the strategy's declared `State`.
        """
        leverage = min(self.params.leverage, self.leverage_cap)
        if leverage <= 0:
            raise ValueError(f"leverage must be positive, got {leverage}")
        hedge_usd = max(0.0, hedge_usd)
        price = snapshot.btc_price
        stop = stop_price if stop_price is not None else self.protective_stop(snapshot)
        notes = [reason]
        out = self.stop_out(snapshot)
        if out.sitting_out:
            hedge_usd = 0.0
        if out.why:
            notes.append(out.why)
        hedge_usd, sized = self.size_on_equity(snapshot, hedge_usd)
        if sized:
            notes.append(sized)
        contracts = hedge_contracts(hedge_usd, snapshot.hedge.equity_btc, price, snapshot.instrument)
        stops = (StopTranche(stop, contracts),) if contracts > 0 else ()
        kept = CapitalState(
            held_short=snapshot.hedge.short_contracts,
            planned_short=contracts,
            stopped_ms=out.stopped_ms,
            stopped_at=out.stopped_at,
        )
        return HedgePlan(
            hedge_usd=hedge_usd,
            contracts=contracts,
            leverage=leverage,
            stops=stops,
            reason="; ".join(notes),
            # A declared State holds plain values (checked when the class is made); a TypedDict is not a
            # Mapping[str, StateValue] to mypy, however plain its values.
            state=cast(StrategyState, {**state, **kept}),
            **extra,
        )

    def held_wake(self, snapshot: Snapshot, plan: HedgePlan, stop_pct: float | None = None, **bounds: Any) -> WakeUp:
        """A wake-up for `plan`, made by `plan()` with the protective stop (`protective_stop(snapshot, stop_pct)`)
        for a `hedge_usd` that the strategy's own `bounds` (WakeUp fields: a collateral band, a volatility band,
        a time) hold fixed.

        It adds the BTC band in which the contracts stay the same: they cover `hedge_usd` plus the account's
        BTC equity, whose USD value is linear in the mark (wallet x P + the short's PnL), and change where that
        crosses half a lot. The stop trails the mark down (`trailing_stop_pct`): the bot sees when that matters.
        """
        price, hedge, spec = snapshot.btc_price, snapshot.hedge, snapshot.instrument
        size, lot = spec.contract_size_usd, spec.lot_contracts
        held = hedge.contracts
        # Equity x P' = wallet x P' + held x S x (P'/entry - 1) = a + b x P'.
        a = plan.hedge_usd - held * size
        b = self.equity_slope(snapshot)
        slack = 1e-6  # lots: floating-point room, so the band never reaches a rounding edge
        lots = plan.contracts / lot
        x_lo = (lots - 0.5 + slack) * lot * size if plan.contracts > 0 else -math.inf
        x_hi = (lots + 0.5 - slack) * lot * size
        lo, hi = 0.0, math.inf
        if b > 0:
            lo, hi = (x_lo - a) / b, (x_hi - a) / b
        elif b < 0:
            lo, hi = (x_hi - a) / b, (x_lo - a) / b
        trailing = None
        if plan.contracts > 0:
            resting = hedge.stop_price
            trails = resting is not None and plan.stop_price == self.protective_stop(snapshot, stop_pct)
            if trails and hedge.short_contracts > 0 and resting is not None and resting > price:
                # The pct `protective_stop` places at (inside liquidation).
                trailing = min(self.params.stop_pct if stop_pct is None else stop_pct, self.stop_room(snapshot))
            else:
                lo, hi = max(lo, price), min(hi, price)  # a new stop: decide again on any move
        lo = max(lo, bounds.pop("btc_below", 0.0))
        hi = min(hi, bounds.pop("btc_above", math.inf))
        kept = cast(CapitalState, plan.state)
        stopped_ms, stopped_at = kept.get("stopped_ms"), kept.get("stopped_at")
        if stopped_ms is not None and stopped_at is not None:
            # Sitting out after a stop-out (`stop_out`): re-entry comes at a time or at a price, both fixed.
            lo = max(lo, stopped_at * (1.0 - self.stop_distance(snapshot)))
            until_ms = stopped_ms + self.params.reentry_hours * 3_600_000
            bounds = {**bounds, "at_ms": min(bounds.get("at_ms", math.inf), until_ms)}
        return WakeUp(btc_below=max(lo, 0.0), btc_above=hi, trailing_stop_pct=trailing, **bounds)

    @staticmethod
    def equity_slope(snapshot: Snapshot) -> float:
        """USD of the hedge account's equity per USD of BTC mark, the account as it is: its wallet (long BTC)
        plus the position's own exposure (held x S / entry, negative for a short)."""
        hedge, size = snapshot.hedge, snapshot.instrument.contract_size_usd
        held = hedge.contracts
        wallet = hedge.equity_btc - (pnl_btc(held, size, hedge.entry_price, snapshot.btc_price) if held else 0.0)
        return wallet + (held * size / hedge.entry_price if held else 0.0)

    @staticmethod
    def btc_band_for_equity(snapshot: Snapshot, below_usd: float, above_usd: float) -> dict[str, float]:
        """WakeUp bounds on the BTC mark for the hedge account's USD equity leaving (below_usd, above_usd).

        With the account as it is, its USD equity is linear in the mark (`equity_slope`), so an equity level is
        a BTC price; the band wakes a hair early, never late.
        """
        price = snapshot.btc_price
        slope = Strategy.equity_slope(snapshot)
        equity = snapshot.hedge_equity_usd
        if abs(slope) < 1e-12:
            return {}  # the equity does not move with the mark
        at_below = price + (below_usd - equity) / slope
        at_above = price + (above_usd - equity) / slope
        lo, hi = (at_below, at_above) if slope > 0 else (at_above, at_below)
        room = 1e-9 * price
        return {"btc_below": lo + room, "btc_above": hi - room}

    @staticmethod
    def btc_price_for_collateral_move(snapshot: Snapshot, collateral_price: float, beta: float) -> float:
        """The BTC price expected when the collateral moves to `collateral_price` (through beta)."""
        move = math.log(collateral_price / snapshot.lending.collateral_price_usd)
        return snapshot.btc_price * math.exp(move / beta) if beta > 0 else snapshot.btc_price


def _leverage_bound(params: type[StrategyParams]) -> float | None:
    """The `le` bound of `params.leverage` (`Field(..., le=20)`), or None when it has none."""
    field = params.model_fields.get("leverage")
    if field is not None:
        for rule in field.metadata:  # pydantic keeps `le=20` there as annotated_types.Le(le=20)
            if isinstance(getattr(rule, "le", None), int | float):
                return float(rule.le)
    return None


_PLAIN_TYPES = (float, int, str, bool, NoneType)


def _check_state(strategy: str, state: type[Mapping[str, Any]]) -> None:
    """TypeError unless `state` is a TypedDict whose values are all plain (the journal stores them as JSON)."""
    if not is_typeddict(state):
        raise TypeError(f"{strategy}.State must be a TypedDict (class {strategy}State(TypedDict, total=False): ...)")
    for key, hint in get_type_hints(state).items():
        kinds = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)  # float | None: both
        if not all(kind in _PLAIN_TYPES for kind in kinds):
            raise TypeError(
                f"{strategy}.State[{key!r}] is {hint}: state is journaled as JSON, so each value must be "
                "a float, int, str, bool or None"
            )


def _did_you_mean(loc: tuple[int | str, ...], known: Mapping[str, object]) -> str:
    """ " (did you mean 'x'?)" for an unknown parameter name close to a known one, else ""."""
    close = difflib.get_close_matches(str(loc[-1]) if loc else "", list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
