"""structlog set-up: console for people, JSON lines for machines, and a processor that redacts secrets."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO, cast
from urllib.parse import urlsplit

import structlog

REDACTED = "**********"
_secrets: set[str] = set()
# Secrets shorter than this are not redacted by substring: replacing "1" everywhere would make logs useless,
# and config validation rejects such short keys anyway.
_MIN_SECRET_LEN = 6


_pattern: re.Pattern[str] | None = None


def secret_parts(value: str) -> list[str]:
    """`value` and, for a URL, the parts that carry its key (path, query, password).

    Libraries rewrite URLs before they print them (aiohttp lower-cases the host, adds a port or a
    trailing slash), so the whole URL alone would not match what reaches a log line; its key does.
    """
    parts = [value]
    if "://" in value:
        with_key = urlsplit(value)
        parts += [with_key.path + ("?" + with_key.query if with_key.query else ""), with_key.query]
        parts += [with_key.password or "", with_key.path.strip("/")]
    return [p for p in parts if p and len(p) >= _MIN_SECRET_LEN]


def register_secrets(values: Iterable[str]) -> None:
    """Add values that must never appear in a log line (for a URL, also the parts that carry its key)."""
    global _pattern
    for value in values:
        if value:
            _secrets.update(secret_parts(value))
    # Longest first, so a URL is replaced whole before its key; case-insensitive, as hosts are.
    alternatives = "|".join(re.escape(s) for s in sorted(_secrets, key=len, reverse=True))
    _pattern = re.compile(alternatives, re.IGNORECASE) if alternatives else None


def clear_secrets() -> None:
    """Forget every registered secret (tests that register their own)."""
    global _pattern
    _secrets.clear()
    _pattern = None


def redact_text(text: str) -> str:
    """`text` with every registered secret replaced, whatever its case."""
    return _pattern.sub(REDACTED, text) if _pattern is not None else text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_redact_value(v) for v in value)
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact_text(repr(value)) if _secrets else value


def redact_secrets(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: runs after tracebacks are rendered to text, so they are redacted too."""
    if not _secrets:
        return event_dict
    return {k: _redact_value(v) for k, v in event_dict.items()}


class Unbreakable:
    """A log stream that outlives its reader: once a write fails (the pipe to `| head` closed, the disk full), every
    later line is dropped instead of raising.

    A log line is written from everywhere, the signal handler included: an exception there (BrokenPipeError) once
    made the bot ignore SIGTERM and end a decision midway. The journal, not the log, is the record of what was done.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self.stream.write(text)
            except (OSError, ValueError):  # BrokenPipeError, EIO, ENOSPC; ValueError: the stream was closed
                self.broken = True
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self.stream.flush()
            except (OSError, ValueError):
                self.broken = True

    def isatty(self) -> bool:
        try:
            return not self.broken and self.stream.isatty()
        except (OSError, ValueError):
            return False

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, ...: what the stream has
        return getattr(self.stream, name)


def unbreakable(stream: TextIO) -> TextIO:
    """`stream`, wrapped in `Unbreakable` (once)."""
    return stream if isinstance(stream, Unbreakable) else cast(TextIO, Unbreakable(stream))


def configure(fmt: str = "console", level: str = "info", stream: TextIO | None = None) -> None:
    """Route structlog (and stdlib logging) to `stream` in `fmt`; a closed stream drops lines (`Unbreakable`)."""
    out = unbreakable(stream or sys.stderr)
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=out.isatty(), exception_formatter=structlog.dev.plain_traceback)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
    # Libraries (web3, ccxt, aiohttp) log through stdlib: send them through the same redaction.
    handler = logging.StreamHandler(out)
    handler.addFilter(_StdlibRedactor())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(logging.WARNING, getattr(logging, level.upper())))


class _StdlibRedactor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact_text(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def get_logger(name: str) -> Any:
    """A structlog logger bound to `name`."""
    return structlog.get_logger(name)
