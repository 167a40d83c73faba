"""Binance's request signing, checked the way Binance checks it: API key header, timestamp, recvWindow, HMAC."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass

MAX_RECV_WINDOW_MS = 60_000
DEFAULT_RECV_WINDOW_MS = 5_000
AHEAD_TOLERANCE_MS = 1_000  # Binance refuses a timestamp more than 1 s ahead of its clock


@dataclass(frozen=True, slots=True)
class AuthError(Exception):
    """A refused request: Binance's code, message and HTTP status."""

    code: int
    msg: str
    status: int = 400


def signed_payload(query_string: str, body: str) -> tuple[str, str | None]:
    """The text that was signed and the signature sent (Binance signs the query string, then the body)."""
    parts = (query_string + body).split("&")  # Binance concatenates the two as they are
    signature = None
    kept = []
    for part in parts:
        if part.startswith("signature="):
            signature = part[len("signature=") :]
        else:
            kept.append(part)
    return "&".join(kept), signature


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def check_signed(
    *,
    api_key_header: str | None,
    api_key: str,
    api_secret: str,
    query_string: str,
    body: str,
    params: Mapping[str, str],
    now_ms: int,
) -> None:
    """Raise AuthError with Binance's code when the request is not properly signed and timely."""
    if not api_key_header:
        raise AuthError(-2014, "API-key format invalid.", 401)
    if not hmac.compare_digest(api_key_header, api_key):
        raise AuthError(-2015, "Invalid API-key, IP, or permissions for action.", 401)
    if "timestamp" not in params:
        raise AuthError(-1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.")
    try:
        timestamp = int(params["timestamp"])
        recv_window = int(params.get("recvWindow", DEFAULT_RECV_WINDOW_MS))
    except ValueError:
        raise AuthError(-1100, "Illegal characters found in parameter 'timestamp'.") from None
    if not 0 < recv_window <= MAX_RECV_WINDOW_MS:
        raise AuthError(-1131, "recvWindow must be less than 60000")
    if timestamp - now_ms > AHEAD_TOLERANCE_MS:
        raise AuthError(-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
    if now_ms - timestamp > recv_window:
        raise AuthError(-1021, "Timestamp for this request is outside of the recvWindow.")
    payload, signature = signed_payload(query_string, body)
    if signature is None:
        raise AuthError(-1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.")
    if not hmac.compare_digest(sign(api_secret, payload), signature.lower()):
        raise AuthError(-1022, "Signature for this request is not valid.")
