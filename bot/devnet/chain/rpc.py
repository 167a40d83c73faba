"""A small synchronous JSON-RPC client for driving the local node (deployment, set-price, tests)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from eth_utils.address import to_checksum_address
from eth_utils.crypto import keccak


class RpcError(RuntimeError):
    """The node answered a call with an error."""


class DevRpc:
    """JSON-RPC over HTTP, single or batched; raises RpcError on any error answer."""

    def __init__(self, url: str, timeout_s: float = 30.0) -> None:
        self.url = url
        self.timeout_s = timeout_s
        self._id = 0

    def _post(self, payload: Any) -> Any:
        body = json.dumps(payload).encode()
        req = urllib.request.Request(self.url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
            return json.loads(resp.read())

    def call(self, method: str, *params: Any) -> Any:
        """The result of one call."""
        return self.batch([(method, list(params))])[0]

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Results of `calls`, sent as one HTTP request, in order."""
        if not calls:
            return []
        payload = []
        for method, params in calls:
            self._id += 1
            payload.append({"jsonrpc": "2.0", "id": self._id, "method": method, "params": params})
        answers = self._post(payload)
        if isinstance(answers, dict):  # a batch-level error
            raise RpcError(str(answers.get("error", answers)))
        by_id = {a["id"]: a for a in answers}
        out = []
        for item in payload:
            answer = by_id[item["id"]]
            if "error" in answer:
                raise RpcError(f"{item['method']}: {answer['error']}")
            out.append(answer["result"])
        return out

    def wait_receipts(
        self, tx_hashes: Sequence[str], timeout_s: float = 30.0, check: bool = True
    ) -> list[dict[str, Any]]:
        """The receipts of `tx_hashes` once all are mined; with `check`, raises RpcError if any reverted."""
        deadline = time.monotonic() + timeout_s
        while True:
            receipts = self.batch([("eth_getTransactionReceipt", [h]) for h in tx_hashes])
            if all(r is not None for r in receipts):
                break
            if time.monotonic() > deadline:
                raise RpcError(f"{sum(r is None for r in receipts)} transactions not mined in {timeout_s}s")
            time.sleep(0.01)
        failed = [h for h, r in zip(tx_hashes, receipts, strict=True) if int(r["status"], 16) != 1]
        if check and failed:
            raise RpcError(f"transactions reverted: {failed}")
        return receipts

    def reachable(self) -> bool:
        """True when the node answers."""
        try:
            self.call("eth_chainId")
        except (OSError, urllib.error.URLError, RpcError, ValueError):
            return False
        return True


def create_address(sender: str, nonce: int) -> str:
    """The address a CREATE from `sender` at `nonce` deploys to (RLP of [sender, nonce], hashed)."""
    sender_bytes = bytes.fromhex(sender.removeprefix("0x"))
    if nonce == 0:
        nonce_rlp = b"\x80"
    elif nonce < 0x80:
        nonce_rlp = bytes([nonce])
    else:
        raw = nonce.to_bytes((nonce.bit_length() + 7) // 8, "big")
        nonce_rlp = bytes([0x80 + len(raw)]) + raw
    body = b"\x94" + sender_bytes + nonce_rlp
    return to_checksum_address(keccak(bytes([0xC0 + len(body)]) + body)[12:])
