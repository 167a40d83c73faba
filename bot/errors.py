"""Typed errors that say what to do. Each maps to a process exit code in the CLI."""

from __future__ import annotations


class HedgebotError(Exception):
    """Base of the errors a user can act on."""

    exit_code = 1


class UsageError(HedgebotError):
    """Bad input on the command line or in a file: exit 2."""

    exit_code = 2


class ConfigError(UsageError):
    """A setting is missing or wrong: exit 2, naming the setting."""


class VenueError(HedgebotError):
    """A venue refused or failed an action. `retryable` says whether the same request may be resent."""

    retryable = False


class RetryableVenueError(VenueError):
    """Network trouble, timeouts, rate limits: resend the same request (same client id) after a backoff."""

    retryable = True


class OrderRejected(VenueError):
    """Insufficient margin, bad precision, would trigger immediately, reduce-only conflict: re-plan."""


class AuthFailed(VenueError):
    """The venue rejected our credentials: stop trading and alert."""


class EnvironmentFailure(HedgebotError):
    """Something outside the settings is not as it must be (no RPC URL answers): exit 1, a retry may succeed."""
