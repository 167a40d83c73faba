"""Built-in strategies. Plugins look exactly like these modules."""

from __future__ import annotations

from strategies.base import Strategy
from strategies.dca import Dca
from strategies.dynamic import Dynamic
from strategies.layered_stop import LayeredStop
from strategies.percentage import Percentage
from strategies.stop_hunt_scalp import StopHuntScalp

BUILTIN: dict[str, type[Strategy]] = {  # type: ignore[type-arg]
    cls.name: cls for cls in (Percentage, Dynamic, Dca, LayeredStop, StopHuntScalp)
}
DEFAULT_STRATEGY = "dynamic"
