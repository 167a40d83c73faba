"""`hedgebot run` that cannot start on its venue says why in one line and exits 1, without a traceback.

The real CLI in a subprocess, in testnet mode against a local exchange: the devnet COIN-M server with a
key it does not know (authentication fails when the bot sets its margin mode), or a server whose
exchangeInfo lists no market. The chain is never reached: the venue is checked first.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.devnet.exchange import DEFAULT_API_SECRET, ExchangeServer

pytestmark = pytest.mark.integration
ACCOUNT = "0x0000000000000000000000000000000000000001"


async def run_bot(exchange_url: str, api_key: str, cwd: Path) -> tuple[int, list[str]]:
    """Exit code and stderr lines of `hedgebot run --mode testnet` against `exchange_url`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEBOT_")}
    env.update(
        HEDGEBOT_EXCHANGE__ID="binancecoinm",
        HEDGEBOT_EXCHANGE__API_URL=exchange_url,
        HEDGEBOT_EXCHANGE__API_KEY=api_key,
        HEDGEBOT_EXCHANGE__API_SECRET=DEFAULT_API_SECRET,
        HEDGEBOT_CHAIN__RPC_URLS='["http://127.0.0.1:9"]',  # never called: the venue fails first
        HEDGEBOT_CHAIN__POOL_ADDRESSES_PROVIDER=ACCOUNT,
        HEDGEBOT_CHAIN__ACCOUNTS=f'["{ACCOUNT}"]',
        HEDGEBOT_HTTP_PORT="0",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--mode", "testnet",
        cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    assert proc.returncode is not None
    return proc.returncode, err.decode().splitlines()


def the_error(lines: list[str]) -> str:
    """The one error line, after checking it is the only thing that explains the exit."""
    assert not any("Traceback" in line for line in lines), "\n".join(lines)
    errors = [line for line in lines if line.startswith("hedgebot: error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], "\n".join(lines)
    return errors[0]


@pytest.fixture
async def exchange() -> AsyncIterator[ExchangeServer]:
    server = ExchangeServer(port=0, balance_btc=1.0, mark_price=60_000.0)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def empty_exchange() -> AsyncIterator[str]:
    """A COIN-M endpoint that answers exchangeInfo with no symbols at all."""

    async def exchange_info(request: web.Request) -> web.Response:
        return web.json_response({"timezone": "UTC", "serverTime": 0, "rateLimits": [], "symbols": []})

    app = web.Application()
    app.router.add_get("/dapi/v1/exchangeInfo", exchange_info)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


async def test_a_key_the_venue_refuses_stops_the_start_with_one_line(exchange: ExchangeServer, tmp_path: Path) -> None:
    code, lines = await run_bot(exchange.url, "not-our-key", tmp_path)
    assert code == 1
    error = the_error(lines)
    assert "set margin mode: AuthenticationError" in error and "-2015" in error
    assert "check HEDGEBOT_EXCHANGE__API_KEY" in error  # what to do about it
    assert "not-our-key" not in error and DEFAULT_API_SECRET not in error


async def test_a_venue_without_the_market_stops_the_start_with_one_line(empty_exchange: str, tmp_path: Path) -> None:
    code, lines = await run_bot(empty_exchange, "any-key", tmp_path)
    assert code == 1
    error = the_error(lines)
    assert "lists no market BTC/USD:BTC" in error and "HEDGEBOT_EXCHANGE__ID" in error
