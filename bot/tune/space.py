"""The search space of `hedgebot tune`: derived from a strategy's `Params` class, narrowed by `--param`.

Every parameter a strategy declares is searched unless fixed. A numeric parameter's default range is a
quarter to four times its default, cut to the bounds its `Field` states (`gt`, `ge`, `lt`, `le`); one whose
default is 0 spans its bounds when both are stated, and stays fixed otherwise. A bool takes both values and
a `Literal` each of its choices; any other type keeps its default. The user narrows a range with
`--param name=low:high[:log]` (checked against the same bounds) or fixes a value with `--param name=value`.
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from bot.errors import UsageError
from strategies.base import StrategyParams

Kind = Literal["float", "int", "categorical"]

SPAN = 4.0  # a default range runs from default / SPAN to default * SPAN
LOG_RATIO = 10.0  # a positive range spanning at least this factor is searched on a log scale


@dataclass(frozen=True, slots=True)
class Bounds:
    """What a parameter's `Field` allows: a missing side is infinite; `*_open` means strict (gt, lt)."""

    low: float = -math.inf
    low_open: bool = False
    high: float = math.inf
    high_open: bool = False

    def admits(self, value: float) -> bool:
        above = value > self.low if self.low_open else value >= self.low
        below = value < self.high if self.high_open else value <= self.high
        return above and below

    def describe(self) -> str:
        parts = []
        if math.isfinite(self.low):
            parts.append(f"{'gt' if self.low_open else 'ge'}={self.low:g}")
        if math.isfinite(self.high):
            parts.append(f"{'lt' if self.high_open else 'le'}={self.high:g}")
        return ", ".join(parts) or "unbounded"


@dataclass(frozen=True, slots=True)
class Dimension:
    """One searched parameter: a numeric range (optionally log) or a set of choices."""

    name: str
    kind: Kind
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    choices: tuple[Any, ...] = ()
    given: bool = False  # narrowed on the command line, not derived

    def describe(self) -> str:
        if self.kind == "categorical":
            return "{" + ", ".join(str(c) for c in self.choices) + "}"
        fmt = "{:d}" if self.kind == "int" else "{:.6g}"
        text = f"{fmt.format(self._number(self.low))}..{fmt.format(self._number(self.high))}"
        return text + (" log" if self.log else "")

    def _number(self, value: float) -> float | int:
        return int(value) if self.kind == "int" else value


@dataclass(frozen=True, slots=True)
class SearchSpace:
    """What a trial samples (`dimensions`) and what it keeps (`fixed`), in `Params` order."""

    dimensions: tuple[Dimension, ...]
    fixed: dict[str, Any] = field(default_factory=dict)
    names: tuple[str, ...] = ()  # every parameter, in the order `Params` declares them

    def describe(self) -> dict[str, str]:
        """Each parameter with its range, or `= value` when fixed (the table and the study's record)."""
        out = {d.name: d.describe() for d in self.dimensions}
        out.update({k: f"= {v}" for k, v in self.fixed.items()})
        return self.ordered(out)

    def ordered(self, values: dict[str, Any]) -> dict[str, Any]:
        """`values` in `Params` order (names it does not declare last)."""
        first = {k: values[k] for k in self.names if k in values}
        return first | {k: v for k, v in values.items() if k not in first}


def bounds(info: FieldInfo) -> Bounds:
    """The numeric bounds a pydantic field states (annotated_types Gt/Ge/Lt/Le in its metadata)."""
    b = Bounds()
    for rule in info.metadata:
        for attr, is_low, is_open in (
            ("gt", True, True),
            ("ge", True, False),
            ("lt", False, True),
            ("le", False, False),
        ):
            value = getattr(rule, attr, None)
            if isinstance(value, int | float) and not isinstance(value, bool):
                if is_low:
                    b = Bounds(float(value), is_open, b.high, b.high_open)
                else:
                    b = Bounds(b.low, b.low_open, float(value), is_open)
    return b


def _base_type(annotation: Any) -> Any:
    """`float` for `float`, `float | None` and `Optional[float]`; the annotation itself otherwise."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(kinds) == 1:
            return kinds[0]
    return annotation


def _numeric_kind(annotation: Any) -> Kind | None:
    base = _base_type(annotation)
    if base is bool:
        return None
    if base is int:
        return "int"
    if base is float:
        return "float"
    return None


def _inside(value: float, b: Bounds, toward: float) -> float:
    """`value` clipped to `b`; an open bound it would sit on moves one float inward (toward `toward`)."""
    value = min(max(value, b.low), b.high)
    if not b.admits(value):
        value = math.nextafter(value, toward)
    return value


def _derived(name: str, info: FieldInfo, kind: Kind) -> Dimension | None:
    """The default range of a numeric parameter, or None when it has none (it stays at its default)."""
    b = bounds(info)
    default = info.default
    if default is PydanticUndefined or default is None or default == 0:
        if not (math.isfinite(b.low) and math.isfinite(b.high)):
            return None
        low, high = b.low, b.high
    else:
        low, high = sorted((float(default) / SPAN, float(default) * SPAN))
    middle = (max(low, b.low) + min(high, b.high)) / 2
    low, high = _inside(low, b, middle), _inside(high, b, middle)
    if kind == "int":
        low, high = float(math.ceil(low)), float(math.floor(high))
    if not low < high:
        return None
    log = low > 0 and high / low >= LOG_RATIO
    return Dimension(name, kind, low, high, log)


def _required(info: FieldInfo) -> bool:
    return info.default is PydanticUndefined and info.default_factory is None


def derive(params: type[StrategyParams]) -> SearchSpace:
    """Every parameter of `params` with its default range (or fixed at its default when it has none)."""
    dims: list[Dimension] = []
    fixed: dict[str, Any] = {}
    for name, info in params.model_fields.items():
        base = _base_type(info.annotation)
        kind = _numeric_kind(info.annotation)
        dim: Dimension | None = None
        if base is bool:
            dim = Dimension(name, "categorical", choices=(True, False))
        elif typing.get_origin(base) is Literal:
            choices = typing.get_args(base)
            dim = Dimension(name, "categorical", choices=choices) if len(choices) > 1 else None
        elif kind is not None:
            dim = _derived(name, info, kind)
        if dim is not None:
            dims.append(dim)
        elif _required(info):
            raise UsageError(
                f"parameter {name!r} has no default and no range to search: give --param {name}=VALUE"
                f" or --param {name}=LOW:HIGH"
            )
        else:
            fixed[name] = info.get_default(call_default_factory=True)
    return SearchSpace(tuple(dims), fixed, tuple(params.model_fields))


def _number(text: str, name: str, spec: str, kind: Kind) -> float:
    try:
        value = float(int(text)) if kind == "int" else float(text)
    except ValueError:
        raise UsageError(f"--param {spec}: {text!r} is not {'an integer' if kind == 'int' else 'a number'}") from None
    if not math.isfinite(value):
        raise UsageError(f"--param {spec}: {name} must be finite")
    return value


def _given_range(name: str, info: FieldInfo, spec: str, text: str) -> Dimension:
    """`low:high[:log]` for parameter `name`, checked against its bounds."""
    kind = _numeric_kind(info.annotation)
    if kind is None:
        raise UsageError(f"--param {spec}: {name} is not numeric; give one value (--param {name}=VALUE)")
    parts = text.split(":")
    log = len(parts) == 3 and parts[2].strip().lower() == "log"
    if len(parts) not in (2, 3) or (len(parts) == 3 and not log):
        raise UsageError(f"--param {spec}: a range is LOW:HIGH or LOW:HIGH:log")
    low, high = (_number(p.strip(), name, spec, kind) for p in parts[:2])
    if not low < high:
        raise UsageError(f"--param {spec}: the low end {low:g} is not below the high end {high:g}")
    b = bounds(info)
    for end, value in (("low", low), ("high", high)):
        if not b.admits(value):
            raise UsageError(f"--param {spec}: the {end} end {value:g} is outside {name}'s bounds ({b.describe()})")
    if log and low <= 0:
        raise UsageError(f"--param {spec}: a log range needs a positive low end, got {low:g}")
    return Dimension(name, kind, low, high, log, given=True)


def narrow(space: SearchSpace, params: type[StrategyParams], given: dict[str, str], only: bool = False) -> SearchSpace:
    """`space` with each `--param` applied: `name=low:high[:log]` sets a range, `name=value` fixes a value.

    With `only`, the parameters not given keep their defaults. Every value is checked here, before a trial
    runs: an unknown name, a range outside the bounds or a value the model refuses is a UsageError.
    """
    fields = params.model_fields
    unknown = [name for name in given if name not in fields]
    if unknown:
        raise UsageError(f"unknown parameter {unknown[0]!r} (parameters: {', '.join(fields)})")
    dims = {d.name: d for d in space.dimensions}
    fixed = dict(space.fixed)
    values: dict[str, str] = {}
    for name, text in given.items():
        dims.pop(name, None)
        fixed.pop(name, None)
        if ":" in text:
            dims[name] = _given_range(name, fields[name], f"{name}={text}", text)
        else:
            values[name] = text
    for name, text in values.items():
        fixed[name] = _checked_value(name, fields[name], text)
    ordered = [dims[name] for name in fields if name in dims and (dims[name].given or not only)]
    for name in fields:
        if only and name in dims and not dims[name].given:
            fixed[name] = fields[name].get_default(call_default_factory=True)
    return SearchSpace(tuple(ordered), {name: fixed[name] for name in fields if name in fixed}, tuple(fields))


def _checked_value(name: str, info: FieldInfo, text: str) -> Any:
    """`text` coerced and checked as the model would (`backtest --param` goes through the same field)."""
    try:
        field_type: Any = Annotated[info.annotation, info]  # the field's type with its constraints
        return TypeAdapter(field_type).validate_python(text)
    except ValidationError as exc:
        raise UsageError(f"--param {name}={text}: {exc.errors()[0]['msg']}") from None
