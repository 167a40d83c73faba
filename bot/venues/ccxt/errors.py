"""ccxt exceptions mapped to what hedgebot does about them. Pure."""

from __future__ import annotations

from dataclasses import dataclass

import ccxt.async_support as ccxt

from bot.errors import AuthFailed, OrderRejected, RetryableVenueError, VenueError


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a retryable failure is resent (same request, same client id)."""

    attempts: int = 5
    first_delay_s: float = 0.5
    max_delay_s: float = 8.0

    def delay_s(self, attempt: int) -> float:
        """Back-off before retry number `attempt` (1-based): doubling, capped."""
        return float(min(self.max_delay_s, self.first_delay_s * 2 ** (attempt - 1)))


def is_gone(exc: BaseException) -> bool:
    """The order is not there (already filled, cancelled or never known): a cancel's no-op."""
    return isinstance(exc, ccxt.OrderNotFound)


def is_no_change(exc: BaseException) -> bool:
    """The setting already had the value asked for (Binance -4046, Bybit 110026/110043)."""
    if isinstance(exc, ccxt.MarginModeAlreadySet | ccxt.NoChange):
        return True
    text = str(exc).lower()
    return isinstance(exc, ccxt.BadRequest) and ("not modified" in text or "no need to change" in text)


def classify(exc: BaseException, action: str) -> VenueError:
    """The VenueError that says what to do about `exc`, raised while doing `action`.

    Order matters: ccxt's OrderNotFound and OrderImmediatelyFillable are InvalidOrder subclasses,
    InvalidNonce (clock skew) and RateLimitExceeded are NetworkErrors.
    """
    message = f"{action}: {type(exc).__name__}: {exc}"
    if isinstance(exc, ccxt.AuthenticationError | ccxt.PermissionDenied | ccxt.AccountSuspended):
        return AuthFailed(message)
    if isinstance(exc, ccxt.NetworkError):  # RequestTimeout, ExchangeNotAvailable, DDoSProtection, InvalidNonce
        return RetryableVenueError(message)
    if isinstance(exc, ccxt.InsufficientFunds | ccxt.InvalidOrder):  # incl. OrderImmediatelyFillable
        return OrderRejected(message)
    if isinstance(exc, ccxt.BadRequest):
        # Precision (-1111), bad parameters: resending the same request cannot succeed. Re-plan instead.
        return OrderRejected(message)
    return VenueError(message)
