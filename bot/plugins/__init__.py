"""Strategy plugins: finding and loading them (`loader`), and the scaffold of a new one (`skeleton`)."""

from bot.plugins.loader import available, load, parse_params, plugin_classes, resolve

__all__ = ["available", "load", "parse_params", "plugin_classes", "resolve"]
