"""The paper engine's typed rejections, each an OrderRejected with the Binance COIN-M error code it mirrors.

The codes let the local exchange server answer in Binance's own dialect; the messages say what to do.
"""

from __future__ import annotations

from bot.errors import OrderRejected


class PaperRejected(OrderRejected):
    """Base of the paper engine's rejections. `code` is the Binance error code of the same refusal."""

    code = -1000

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InsufficientMargin(PaperRejected):
    """The order needs more initial margin than the account has free."""

    code = -2019


class ReduceOnlyRejected(PaperRejected):
    """A reduce-only order that would open or increase a position."""

    code = -2022


class WouldTriggerImmediately(PaperRejected):
    """A stop whose trigger is already crossed by the mark price."""

    code = -2021


class PrecisionError(PaperRejected):
    """An amount off the lot step or below the minimum, or a price off the tick grid."""

    code = -1111


class NoMarketPrice(PaperRejected):
    """An order before the engine has been given a price."""

    code = -1003


class MarginModeChangeRejected(PaperRejected):
    """Margin mode or leverage cannot change while a position or orders are open."""

    code = -4048
