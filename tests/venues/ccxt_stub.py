"""A stubbed network layer for ccxt, the way ccxt's own static request tests work.

ccxt builds and signs the request exactly as it would for the exchange; only `fetch` (the HTTP call)
is replaced. Paths with a stored raw response (the markets fixtures, made by hand in the shape of
each exchange's instruments endpoint) are answered from it; any other request is recorded and
aborted with `Captured`, so a test reads the exact endpoint, method and parameters ccxt would send.
A response may also be a function of the request, which answers or raises as the venue would.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"
_SIGNING = {"timestamp", "recvWindow", "signature"}


@dataclass
class Request:
    method: str
    url: str
    headers: dict[str, Any]
    params: dict[str, Any] = field(default_factory=dict)  # query and body merged, signing fields left out

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


class Captured(Exception):
    def __init__(self, request: Request) -> None:
        super().__init__(f"{request.method} {request.url}")
        self.request = request


def _decode(url: str, body: Any) -> dict[str, Any]:
    params: dict[str, Any] = dict(parse_qsl(urlsplit(url).query))
    if body:
        text = body.decode() if isinstance(body, bytes) else str(body)
        try:
            decoded = json.loads(text)
        except json.JSONDecodeError:
            decoded = dict(parse_qsl(text))
        if isinstance(decoded, list):  # OKX batch endpoints take a one-element list
            decoded = decoded[0] if len(decoded) == 1 else {"batch": decoded}
        params.update(decoded)
    return {k: v for k, v in params.items() if k not in _SIGNING}


def stub_network(exchange: Any, exchange_id: str, responses: dict[str, Any] | None = None) -> list[Request]:
    """Replace `exchange.fetch`; return the list every request is appended to."""
    canned = json.loads((FIXTURES / f"{exchange_id}_markets.json").read_text())
    canned.update(responses or {})
    sent: list[Request] = []

    async def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        request = Request(method, url, dict(headers or {}), _decode(url, body))
        sent.append(request)
        for path, response in canned.items():
            if request.path.endswith(path):
                return response(request) if callable(response) else response
        raise Captured(request)

    exchange.fetch = fetch
    return sent
