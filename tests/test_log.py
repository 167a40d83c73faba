"""A key or secret never reaches a log line: structlog events, tracebacks, and stdlib loggers."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from bot import log

SECRET = "sk-live-9f8e7d6c5b4a"
RPC = "https://mainnet.example.io/v3/0123456789abcdef"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    log.register_secrets([SECRET, RPC])
    yield out
    log._secrets.clear()
    structlog.reset_defaults()
    logging.getLogger().handlers.clear()


@pytest.mark.parametrize("fmt", ["console", "json"])
def test_secrets_are_redacted_everywhere(stream: io.StringIO, fmt: str) -> None:
    log.configure(fmt=fmt, level="debug", stream=stream)
    logger = log.get_logger("test")
    logger.info("connecting", url=RPC, headers={"X-MBX-APIKEY": SECRET}, args=[SECRET])
    logger.warning(f"request failed for key {SECRET}")
    try:
        raise RuntimeError(f"auth failed with {SECRET} at {RPC}")
    except RuntimeError:
        logger.exception("order failed")
    logging.getLogger("ccxt.base").warning("signing with %s", SECRET)
    try:
        raise ValueError(SECRET)
    except ValueError:
        logging.getLogger("web3").exception("provider error at %s", RPC)
    text = stream.getvalue()
    assert SECRET not in text and "0123456789abcdef" not in text
    assert text.count(log.REDACTED) >= 8
    assert "Traceback" in text and "RuntimeError" in text  # the traceback is kept, only the secret goes
    if fmt == "json":
        first = json.loads(text.splitlines()[0])
        assert first["event"] == "connecting" and first["url"] == log.REDACTED


def test_short_values_are_not_treated_as_secrets(stream: io.StringIO) -> None:
    log.register_secrets(["abc"])
    assert log.redact_text("abc def") == "abc def"
