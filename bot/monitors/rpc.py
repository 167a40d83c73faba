"""Reading a chain through several RPC URLs: timeouts, failover in order, a rate limit, new heads.

Each URL gets an AsyncWeb3 (HTTP, or WebSocket for ws(s):// URLs). Every request runs under the
throttle and a timeout; a failed one moves on to the next URL, and the URL that answered is kept
for the next request. `requests_sent` counts requests on the wire (a JSON-RPC batch is one).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from asyncio_throttle.throttler import Throttler
from web3 import AsyncHTTPProvider, AsyncWeb3, WebSocketProvider

from bot.errors import HedgebotError
from bot.log import register_secrets


class RpcUnavailable(HedgebotError):
    """No RPC URL answered."""


class RpcCallError(HedgebotError):
    """The node answered with an error (the request reached it: failing over would not help)."""

    def __init__(self, message: str, error: Any = None) -> None:
        super().__init__(message)
        self.error = error  # the JSON-RPC error object, when there was one (a revert's data is in it)


@dataclass(frozen=True, slots=True)
class BlockHead:
    """The header fields the monitor needs."""

    number: int
    timestamp: int
    hash: str


def redact(url: str) -> str:
    """`url` without its path and query, where providers put API keys."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def is_websocket(url: str) -> bool:
    return url.startswith(("ws://", "wss://"))


class RpcPool:
    """JSON-RPC over the first URL that answers; see the module docstring."""

    def __init__(
        self,
        urls: Sequence[str],
        call_timeout_s: float = 10.0,
        requests_per_second: float = 20.0,
        poll_interval_s: float = 2.0,
    ) -> None:
        if not urls:
            raise ValueError("at least one RPC URL is needed")
        self.urls = list(urls)
        register_secrets(self.urls)  # provider URLs carry API keys; error texts quote them
        self.call_timeout_s = call_timeout_s
        self.requests_per_second = requests_per_second
        self.poll_interval_s = poll_interval_s
        self.requests_sent = 0
        self.active = 0  # index of the URL that answered last
        self._throttle = Throttler(rate_limit=max(1, round(requests_per_second)), period=1.0)
        self._clients: dict[int, AsyncWeb3[Any]] = {}
        self.last_error: str | None = None  # why the last poll for a head failed; None once one answers

    async def _client(self, index: int) -> AsyncWeb3[Any]:
        client = self._clients.get(index)
        if client is None:
            url = self.urls[index]
            if is_websocket(url):
                provider = WebSocketProvider(
                    url, websocket_kwargs={"max_size": None}, request_timeout=self.call_timeout_s
                )
                client = AsyncWeb3(provider)
                await asyncio.wait_for(provider.connect(), self.call_timeout_s)
            else:
                timeout = aiohttp.ClientTimeout(total=self.call_timeout_s)
                client = AsyncWeb3(
                    AsyncHTTPProvider(url, request_kwargs={"timeout": timeout}, exception_retry_configuration=None)
                )
            self._clients[index] = client
        return client

    async def _drop(self, index: int) -> None:
        client = self._clients.pop(index, None)
        if client is not None:
            with contextlib.suppress(Exception):
                await client.provider.disconnect()

    async def _send(self, payload: list[tuple[str, list[Any]]]) -> list[Any]:
        """Results of `payload` (one request; a batch when longer than one), failing over in order."""
        errors: list[str] = []
        for step in range(len(self.urls)):
            index = (self.active + step) % len(self.urls)
            try:
                async with self._throttle:
                    client = await self._client(index)
                    self.requests_sent += 1
                    provider: Any = client.provider
                    if len(payload) == 1:
                        answers = [await asyncio.wait_for(provider.make_request(*payload[0]), self.call_timeout_s)]
                    else:
                        answers = await asyncio.wait_for(provider.make_batch_request(payload), self.call_timeout_s)
            except (TimeoutError, OSError, aiohttp.ClientError, ConnectionError, ValueError) as exc:
                # ValueError: a proxy or a dying node answering with something that is not JSON-RPC.
                errors.append(f"{redact(self.urls[index])}: {type(exc).__name__} {exc}".strip())
                await self._drop(index)
                continue
            except Exception as exc:  # web3's own connection errors have no common base with the above
                if "Connection" not in type(exc).__name__ and "Timeout" not in type(exc).__name__:
                    raise
                errors.append(f"{redact(self.urls[index])}: {type(exc).__name__} {exc}".strip())
                await self._drop(index)
                continue
            self.active = index
            if not isinstance(answers, list):  # a batch-level error object
                raise RpcCallError(f"{redact(self.urls[index])} rejected the request: {answers}")
            results = []
            for (method, _), answer in zip(payload, answers, strict=True):
                if "error" in answer:
                    error = answer["error"]
                    raise RpcCallError(f"{method} failed on {redact(self.urls[index])}: {error}", error)
                results.append(answer["result"])
            return results
        raise RpcUnavailable("no RPC URL answered: " + "; ".join(errors))

    async def request(self, method: str, *params: Any) -> Any:
        """The result of one JSON-RPC call."""
        return (await self._send([(method, list(params))]))[0]

    async def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """The results of `calls`, sent as one request."""
        return await self._send(list(calls)) if calls else []

    async def eth_call(self, to: str, data: bytes, block: int | str = "latest") -> bytes:
        """Return data of an eth_call."""
        tag = hex(block) if isinstance(block, int) else block
        result = await self.request("eth_call", {"to": to, "data": "0x" + data.hex()}, tag)
        return bytes.fromhex(str(result).removeprefix("0x"))

    async def eth_calls(self, calls: Sequence[tuple[str, bytes]], block: int) -> list[bytes]:
        """Return data of several eth_calls at `block`, in one request."""
        payload = [("eth_call", [{"to": to, "data": "0x" + data.hex()}, hex(block)]) for to, data in calls]
        return [bytes.fromhex(str(r).removeprefix("0x")) for r in await self.batch(payload)]

    async def get_code(self, address: str) -> bytes:
        return bytes.fromhex(str(await self.request("eth_getCode", address, "latest")).removeprefix("0x"))

    async def latest_block(self) -> BlockHead:
        """The latest block's number, timestamp and hash."""
        block = await self.request("eth_getBlockByNumber", "latest", False)
        return _head(block)

    async def heads(self) -> AsyncIterator[BlockHead]:
        """New block heads: by newHeads subscription on a ws(s):// URL, else (or if that fails) by polling.

        It never ends: a poll that fails (every URL down, a node answering errors) is retried at the poll
        interval, and `last_error` says why no head came meanwhile. The consumer sees no new block, and the
        stale-block guard, which measures the last block's age, halts trading until heads flow again.
        """
        last = -1
        if is_websocket(self.urls[self.active]):
            try:
                async for head in self._subscribe_heads():
                    if head.number > last:
                        last = head.number
                        self.last_error = None
                        yield head
            except (TimeoutError, OSError, ConnectionError, RpcUnavailable, RpcCallError) as exc:
                self.last_error = f"newHeads subscription ended: {type(exc).__name__} {exc}".strip()
        while True:
            try:
                head = await self.latest_block()
            except (RpcUnavailable, RpcCallError) as exc:
                self.last_error = str(exc)
                await asyncio.sleep(self.poll_interval_s)
                continue
            self.last_error = None
            if head.number > last:
                last = head.number
                yield head
            await asyncio.sleep(self.poll_interval_s)

    async def _subscribe_heads(self) -> AsyncIterator[BlockHead]:
        client = await self._client(self.active)
        await asyncio.wait_for(client.eth.subscribe("newHeads"), self.call_timeout_s)
        # Subscribed first, then the current head: no block falls between the two.
        yield await self.latest_block()
        async for message in client.socket.process_subscriptions():
            result = message.get("result") if isinstance(message, dict) else None
            if result is not None:
                yield _head(result)

    async def close(self) -> None:
        for index in list(self._clients):
            await self._drop(index)


def _head(block: Any) -> BlockHead:
    def num(value: Any) -> int:
        return int(value, 16) if isinstance(value, str) else int(value)

    block_hash = block["hash"]
    return BlockHead(
        num(block["number"]),
        num(block["timestamp"]),
        block_hash if isinstance(block_hash, str) else "0x" + bytes(block_hash).hex(),
    )
