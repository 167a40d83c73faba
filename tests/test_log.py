"""A key or secret never reaches a log line: structlog events, tracebacks, and stdlib loggers."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from bot import log
from bot.config import ConfigError, load_settings
from tests.http_receiver import Receiver

SECRET = "sk-live-9f8e7d6c5b4a"
RPC = "https://mainnet.example.io/v3/0123456789abcdef"


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    log.register_secrets([SECRET, RPC])
    yield out
    log.clear_secrets()
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


def test_a_provider_key_is_redacted_however_a_library_rewrites_its_url(stream: io.StringIO) -> None:
    """C9: aiohttp lower-cases the host and adds the port; the key in the path must still go."""
    log.register_secrets(["https://ETH-Mainnet.g.alchemy.com/v2/AbCdEf0123456789"])
    log.configure(fmt="json", level="debug", stream=stream)
    log.get_logger("test").warning(
        "rpc failed",
        error="Cannot connect to host eth-mainnet.g.alchemy.com:443 url='https://eth-mainnet.g.alchemy.com:443/v2/abcdef0123456789'",
    )
    line = stream.getvalue()
    assert "abcdef0123456789" not in line.lower() and log.REDACTED in line


def test_config_errors_never_print_a_secret_setting(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """C9: a malformed rpc_urls string or webhook list used to be printed whole, key included."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HEDGEBOT_CHAIN__RPC_URLS", "https://rpc.example/v2/KEYKEYKEY123 not-json")
    monkeypatch.setenv("HEDGEBOT_ALERTS__WEBHOOK_URL", '["https://hooks.example/T0/SECRETHOOK9"]')
    with pytest.raises(ConfigError) as err:
        load_settings()
    text = str(err.value)
    assert "KEYKEYKEY123" not in text and "SECRETHOOK9" not in text
    assert "HEDGEBOT_CHAIN__RPC_URLS" in text or "HEDGEBOT_ALERTS__WEBHOOK_URL" in text


async def test_health_never_prints_the_rpc_key_when_the_node_fails(tmp_path: Path) -> None:
    """C9: `hedgebot health --rpc URL` printed the URL with its key on a 503."""
    receiver = await Receiver(status=503, answer={"error": "overloaded"}).start()
    url = f"http://127.0.0.1:{receiver.port}/v2/HealthKey0123456"
    try:
        out = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "health",
            "--rpc",
            url,
            "--pool-addresses-provider",
            "0x2f39d218133AFaB8F2B819B1066c7E434Ad94E9e",
            "--account",
            "0x000000000000000000000000000000000000dEaD",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=tmp_path,
        )
        stdout, stderr = await asyncio.wait_for(out.communicate(), 60)
    finally:
        await receiver.stop()
    text = (stdout + stderr).decode()
    assert out.returncode == 2, text
    assert "HealthKey0123456" not in text and "Traceback" not in text
