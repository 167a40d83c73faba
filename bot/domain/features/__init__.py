"""Market features a strategy reads: the live tracker, its vectorised twin for replays, warm-up from history."""

from bot.domain.features.tracker import NEUTRAL_FEATURES, FeatureTracker, MarketFeatures, windows_for_bar_length

__all__ = ["NEUTRAL_FEATURES", "FeatureTracker", "MarketFeatures", "windows_for_bar_length"]
