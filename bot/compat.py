"""Old import paths, kept for one release (0.2) so plugins written against them still load.

The modules moved into component folders (see the README's development section). Importing an old
path gives the module at its new home, the very same object, with a DeprecationWarning that names the
new path. A few names moved out of a module that stayed (MOVED_NAMES): the old module forwards them
through `moved_name`, with the same warning. Remove in 0.3.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType
from typing import Any

MOVED: dict[str, str] = {
    "bot.store": "bot.journal.journal",
    "bot.store_async": "bot.journal.aio",
    "bot.store_schema": "bot.journal.schema",
    "bot.store_records": "bot.journal.records",
    "bot.store_codec": "bot.journal.codec",
    "bot.store_read": "bot.journal.events",
    "bot.replay": "bot.backtest.run",
    "bot.replay_types": "bot.backtest.types",
    "bot.replay_report": "bot.backtest.report",
    "bot.lending_sim": "bot.backtest.loan",
    "bot.marketdata": "bot.backtest.data",
    "bot.status": "bot.ops.status",
    "bot.status_http": "bot.ops.http",
    "bot.metrics": "bot.ops.metrics",
    "bot.kill": "bot.ops.kill",
    "bot.alert_rules": "bot.ops.alert_rules",
    "bot.alerts": "bot.ops.alerts",
    "bot.jsonable": "bot.ops.output",
    "bot.commands.output": "bot.ops.output",
    "bot.engine": "bot.runtime.engine",
    "bot.skeleton": "bot.plugins.skeleton",
    "bot.demo": "bot.devnet.demo",
    "bot.domain.aave_account": "bot.domain.lending.account",
    "bot.domain.aave_math": "bot.domain.lending.aave_math",
    "bot.domain.health": "bot.domain.lending.health",
    "bot.domain.feature_series": "bot.domain.features.series",
    "bot.domain.feature_history": "bot.domain.features.history",
    "bot.venues.ccxt_exchange": "bot.venues.ccxt.client",
    "bot.venues.ccxt_venue": "bot.venues.ccxt.venue",
    "bot.venues.ccxt_errors": "bot.venues.ccxt.errors",
    "bot.venues.ccxt_funding": "bot.venues.ccxt.funding",
}

# (old module, name) -> the module that holds the name now
MOVED_NAMES: dict[tuple[str, str], str] = {
    ("bot.domain.instruments", "builtin_instrument"): "bot.venues.ccxt.registry",
    ("bot.domain.instruments", "instrument_from_ccxt_market"): "bot.venues.ccxt.instruments",
}


def moved_name(module: str, name: str) -> Any:
    """`name` from its new home, for the old module's `__getattr__`; AttributeError for any other name."""
    new_module = MOVED_NAMES.get((module, name))
    if new_module is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    warnings.warn(
        f"{module}.{name} moved to {new_module}.{name}; the old path goes in hedgebot 0.3",
        DeprecationWarning,
        stacklevel=3,  # the line that imported the old name
    )
    return getattr(importlib.import_module(new_module), name)


class _MovedLoader(importlib.abc.Loader):
    def __init__(self, new_name: str) -> None:
        self.new_name = new_name

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> None:
        """The default placeholder; exec_module swaps in the real module."""

    def exec_module(self, module: ModuleType) -> None:
        # The import system returns whatever sys.modules holds under the name after exec_module, so the
        # old name becomes the very module at its new home (its own __spec__ untouched).
        warnings.warn(
            f"{module.__name__} moved to {self.new_name}; the old path goes in hedgebot 0.3",
            DeprecationWarning,
            stacklevel=2,
        )
        sys.modules[module.__name__] = importlib.import_module(self.new_name)


class _MovedFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        new_name = MOVED.get(fullname)
        if new_name is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _MovedLoader(new_name))


def install() -> None:
    """Make the old paths importable (idempotent)."""
    if not any(isinstance(f, _MovedFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedFinder())
