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
