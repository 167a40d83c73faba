"""Finding strategy classes: built in, by entry point, by `package.module:Class`, or by file path."""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from bot.errors import UsageError
from strategies import BUILTIN
from strategies.base import INTERFACE_VERSION, Strategy

ENTRY_POINT_GROUP = "hedgebot.strategies"
StrategyClass = type[Strategy[Any]]


def _check(obj: object, where: str) -> StrategyClass:
    if not (inspect.isclass(obj) and issubclass(obj, Strategy) and not inspect.isabstract(obj)):
        raise UsageError(f"{where} is not a concrete hedgebot Strategy subclass")
    for attr in ("name", "summary", "risk_class", "Params"):
        if not hasattr(obj, attr):
            raise UsageError(f"{where}: strategy class lacks the class attribute {attr!r}")
    if not hasattr(obj, "leverage_cap"):
        raise UsageError(
            f"{where}: strategy {obj.name!r} has no leverage cap: bound its Params.leverage "
            "(leverage: float = Field(5.0, gt=0, le=10)) or set leverage_cap on the class"
        )
    version = obj.interface_version
    if not isinstance(version, int) or version > INTERFACE_VERSION:
        raise UsageError(
            f"{where}: strategy {obj.name!r} is written for strategy interface {version!r}, and this hedgebot "
            f"supports up to {INTERFACE_VERSION}; upgrade hedgebot (pip install -U hedgebot) to use it"
        )
    return obj


def plugin_classes() -> dict[str, StrategyClass]:
    """Strategies installed by other packages under the `hedgebot.strategies` entry-point group."""
    found: dict[str, StrategyClass] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            cls = _check(ep.load(), f"entry point {ep.name} ({ep.value})")
        except Exception as exc:  # a broken plugin must not hide the others
            raise UsageError(f"cannot load strategy plugin {ep.name} ({ep.value}): {exc}") from exc
        found[cls.name] = cls
    return found


def available() -> dict[str, StrategyClass]:
    """Every strategy reachable by name: built-in first, then installed plugins."""
    classes: dict[str, StrategyClass] = dict(BUILTIN)
    for name, cls in plugin_classes().items():
        classes.setdefault(name, cls)
    return classes


def _from_file(path: Path, class_name: str | None) -> StrategyClass:
    if not path.is_file():
        raise UsageError(f"strategy file {path} does not exist")
    module_name = f"hedgebot_plugin_{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"cannot import strategy file {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise UsageError(f"strategy file {path} failed to import: {exc}") from exc
    if class_name:
        return _check(getattr(module, class_name, None), f"{path}:{class_name}")
    candidates = [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, Strategy)
        and obj.__module__ == module_name
        and not inspect.isabstract(obj)
    ]
    if len(candidates) != 1:
        raise UsageError(f"strategy file {path} defines {len(candidates)} strategies; name one as {path}:ClassName")
    return _check(candidates[0], str(path))


def resolve(spec: str) -> StrategyClass:
    """The strategy class named by `spec`: a name, `package.module:Class`, or `path/file.py[:Class]`."""
    classes = available()
    if spec in classes:
        return classes[spec]
    target, _, class_name = spec.partition(":")
    if target.endswith(".py"):
        return _from_file(Path(target), class_name or None)
    if class_name:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise UsageError(f"cannot import strategy module {target!r}: {exc}") from exc
        return _check(getattr(module, class_name, None), spec)
    known = ", ".join(sorted(classes))
    close = difflib.get_close_matches(spec, list(classes), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise UsageError(f"unknown strategy {spec!r}: {hint}known are {known}; or give package.module:Class or a .py path")


def load(spec: str, params: dict[str, Any] | None = None) -> Strategy[Any]:
    """An instance of the strategy named by `spec`, with validated `params`."""
    return resolve(spec).from_params(params or {})


def parse_params(pairs: list[str] | None) -> dict[str, str]:
    """`k=v` strings from the command line into a dict (values stay strings; the model coerces)."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param wants NAME=VALUE, got {pair!r}")
        out[key.strip()] = value.strip()
    return out
