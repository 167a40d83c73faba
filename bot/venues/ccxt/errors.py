"""ccxt exceptions mapped to what hedgebot does about them, and the one retry of what may be resent.

The retry lives here and nowhere else: the ccxt venue wraps each of its operations in `with_retries`
once (an order's send with its look-up, a read), and nothing above it (the executor, the engine)
retries again. So one order is sent at most `RetryPolicy.attempts` times, always with the same client id.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import ccxt.async_support as ccxt
import structlog

from bot.errors import AuthFailed, OrderRejected, RetryableVenueError, VenueError

T = TypeVar("T")
log = structlog.get_logger(__name__)

AUTH_HINT = (
    "the venue refused the API key: check HEDGEBOT_EXCHANGE__API_KEY, __API_SECRET and __PASSWORD (where the "
    "venue has one), and that they are keys of this environment (testnet keys for --mode testnet)"
)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a retryable failure is resent (same request, same client id)."""

    attempts: int = 5  # calls in all, the first one included
    first_delay_s: float = 0.5
    max_delay_s: float = 8.0

    def delay_s(self, attempt: int) -> float:
        """Back-off before retry number `attempt` (1-based): doubling, capped."""
        return float(min(self.max_delay_s, self.first_delay_s * 2 ** (attempt - 1)))


class Answered:
    """Set each time the venue answers a request successfully (any request: the mark feed's too).

    A back-off sleeps until its delay is over *or* the venue has answered since it began: once the venue is back,
    a decision does not sleep out the rest of a 2-4 s back-off while the mark feed already reads it (`make chaos`
    measured gaps of 3-4 s after exchange faults from that alone). A venue still refusing (a 418 ban) wakes nothing.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def seen(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def within(self, delay_s: float) -> None:
        """Sleep `delay_s`, or less if the venue answers meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), delay_s)


async def with_retries(
    action: str, call: Callable[[], Awaitable[T]], policy: RetryPolicy, answered: Answered | None = None
) -> T:
    """call()'s result; a RetryableVenueError is retried with back-off, and raised once `attempts` calls failed."""
    for attempt in range(1, policy.attempts + 1):
        try:
            return await call()
        except RetryableVenueError as err:
            if attempt == policy.attempts:
                raise
            delay = policy.delay_s(attempt)
            log.warning("venue call failed, retrying", action=action, attempt=attempt, delay_s=delay, err=str(err))
            if answered is None:
                await asyncio.sleep(delay)
            else:
                await answered.within(delay)
    raise AssertionError("unreachable")  # the loop always returns or raises


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
        return AuthFailed(f"{message}; {AUTH_HINT}")
    if isinstance(exc, ccxt.NetworkError):  # RequestTimeout, ExchangeNotAvailable, DDoSProtection, InvalidNonce
        return RetryableVenueError(message)
    if isinstance(exc, ccxt.InsufficientFunds | ccxt.InvalidOrder):  # incl. OrderImmediatelyFillable
        return OrderRejected(message)
    if isinstance(exc, ccxt.BadRequest):
        # Precision (-1111), bad parameters: resending the same request cannot succeed. Re-plan instead.
        return OrderRejected(message)
    return VenueError(message)
