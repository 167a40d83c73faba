"""The strategy plugin contract.

A strategy is a small class: typed parameters (a pydantic model), optionally a typed state (a TypedDict),
and one pure method, `decide(snapshot) -> HedgePlan`. It never awaits, logs, reads a clock or touches a
venue, so the same class runs live, in dry-run and over a year of minute bars in a replay.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import NoneType, UnionType
from typing import Any, ClassVar, Generic, TypeVar, Union, cast, get_args, get_origin, get_type_hints, is_typeddict

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.domain.inverse import pnl_btc
from bot.domain.plan import ConditionalEntry, EntryStyle, HedgePlan, StopTranche, WakeUp
from bot.domain.sizing import hedge_contracts
from bot.domain.snapshot import EMPTY_STATE, Snapshot, StrategyState
from bot.errors import UsageError

__all__ = [
    "INTERFACE_VERSION",
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
                + ("unknown parameter" if e["type"] == "extra_forbidden" else f"got {e.get('input')!r}, {e['msg']}")
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

    def funding_too_expensive(self, snapshot: Snapshot) -> bool:
        """True when holding a short pays more funding than the strategy accepts."""
        return -snapshot.funding_rate_8h > self.params.max_funding_cost_8h

    def stop_above(self, price: float, pct: float | None = None) -> float:
        """A protective buy-stop `pct` above `price`."""
        return price * (1.0 + (self.params.stop_pct if pct is None else pct))

    def protective_stop(self, snapshot: Snapshot, pct: float | None = None) -> float:
        """The short's stop: `pct` above the mark when it is placed, and from then on only lower.

        The stop belongs to the position, not to the mark: while one rests, a rising mark leaves it where it
        is (a stop that follows the mark up walks away from a rising price and past the short's own
        liquidation price), and a falling mark lowers it, toward safety.
        """
        wanted = self.stop_above(snapshot.btc_price, pct)
        resting = snapshot.hedge.stop_price
        if snapshot.hedge.short_contracts > 0 and resting is not None and resting > snapshot.btc_price:
            return min(resting, wanted)
        return wanted

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
        """A plan for a net short of `hedge_usd`, sized on the account's net delta.

        The short also covers the USD value of the account's BTC equity, which is itself long BTC. Its stop is
        `stop_price`, or `protective_stop`: anchored to the position, lowered only. `state` is what the next
        snapshot hands back: a plain mapping, or the strategy's declared `State`.
        """
        leverage = min(self.params.leverage, self.leverage_cap)
        if leverage <= 0:
            raise ValueError(f"leverage must be positive, got {leverage}")
        hedge_usd = max(0.0, hedge_usd)
        price = snapshot.btc_price
        contracts = hedge_contracts(hedge_usd, snapshot.hedge.equity_btc, price, snapshot.instrument)
        stop = stop_price if stop_price is not None else self.protective_stop(snapshot)
        stops = (StopTranche(stop, contracts),) if contracts > 0 else ()
        return HedgePlan(
            hedge_usd=hedge_usd,
            contracts=contracts,
            leverage=leverage,
            stops=stops,
            reason=reason,
            # A declared State holds plain values (checked when the class is made); a TypedDict is not a
            # Mapping[str, StateValue] to mypy, however plain its values.
            state=cast(StrategyState, state),
            **extra,
        )

    def held_wake(self, snapshot: Snapshot, plan: HedgePlan, **bounds: Any) -> WakeUp:
        """A wake-up for `plan`, made by `plan()` with the protective stop for a `hedge_usd` that the strategy's
        own `bounds` (WakeUp fields: a collateral band, a volatility band, a time) hold fixed.

        It adds the BTC band in which the contracts stay the same: they cover `hedge_usd` plus the account's
        BTC equity, whose USD value is linear in the mark (wallet x P + the short's PnL), and change where that
        crosses half a lot. The stop trails the mark down (`trailing_stop_pct`): the bot sees when that matters.
        """
        price, hedge, spec = snapshot.btc_price, snapshot.hedge, snapshot.instrument
        size, lot = spec.contract_size_usd, spec.lot_contracts
        held = hedge.contracts
        # Equity x P' = wallet x P' + held x S x (P'/entry - 1) = a + b x P'.
        wallet = hedge.equity_btc - (pnl_btc(held, size, hedge.entry_price, price) if held else 0.0)
        a = plan.hedge_usd - held * size
        b = wallet + (held * size / hedge.entry_price if held else 0.0)
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
            trails = resting is not None and plan.stop_price == self.protective_stop(snapshot)
            if trails and hedge.short_contracts > 0 and resting is not None and resting > price:
                trailing = self.params.stop_pct
            else:
                lo, hi = max(lo, price), min(hi, price)  # a new stop: decide again on any move
        lo = max(lo, bounds.pop("btc_below", 0.0))
        hi = min(hi, bounds.pop("btc_above", math.inf))
        return WakeUp(btc_below=max(lo, 0.0), btc_above=hi, trailing_stop_pct=trailing, **bounds)

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
