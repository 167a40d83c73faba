"""The paper account: a pure inverse-perpetual matching engine, driven from outside (see engine.py)."""

from bot.paper.engine import PaperEngine
from bot.paper.orders import EngineSettings

__all__ = ["EngineSettings", "PaperEngine"]
