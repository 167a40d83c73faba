"""Multicall3 `aggregate3` calldata and results, encoded by hand.

A health cycle packs thousands of sub-calls; the generic ABI codec spends more time on them than the
node does, and the layout of aggregate3 is fixed, so it is written out here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth_utils.abi import function_signature_to_4byte_selector

MULTICALL3_ADDRESS = "0xcA11bde05977b3631167028862bE2a173976CA11"
AGGREGATE3 = function_signature_to_4byte_selector("aggregate3((address,bool,bytes)[])")


@dataclass(frozen=True, slots=True)
class Call:
    """One sub-call: a target contract and calldata."""

    target: str
    data: bytes


def selector(signature: str) -> bytes:
    """The 4-byte selector of e.g. "getUserAccountData(address)"."""
    return function_signature_to_4byte_selector(signature)


def word(value: int) -> bytes:
    return value.to_bytes(32, "big")


def address_word(address: str) -> bytes:
    return bytes(12) + bytes.fromhex(address.removeprefix("0x"))


def encode_call(signature: str, *words: bytes) -> bytes:
    """Calldata of a function whose arguments are all static words."""
    return selector(signature) + b"".join(words)


def encode_aggregate3(calls: Sequence[Call]) -> bytes:
    """Calldata of aggregate3(calls), every call allowed to fail (one bad account must not sink a cycle)."""
    heads: list[bytes] = []
    tails: list[bytes] = []
    offset = 32 * len(calls)
    for call in calls:
        heads.append(word(offset))
        padded = call.data + bytes(-len(call.data) % 32)
        tail = address_word(call.target) + word(1) + word(96) + word(len(call.data)) + padded
        tails.append(tail)
        offset += len(tail)
    return AGGREGATE3 + word(32) + word(len(calls)) + b"".join(heads) + b"".join(tails)


def decode_aggregate3(data: bytes) -> list[bytes | None]:
    """Each sub-call's return data, None where it failed."""
    base = int.from_bytes(data[0:32], "big")
    count = int.from_bytes(data[base : base + 32], "big")
    start = base + 32
    out: list[bytes | None] = []
    for i in range(count):
        at = start + int.from_bytes(data[start + 32 * i : start + 32 * i + 32], "big")
        success = data[at + 31] == 1
        ret_at = at + int.from_bytes(data[at + 32 : at + 64], "big")
        length = int.from_bytes(data[ret_at : ret_at + 32], "big")
        out.append(data[ret_at + 32 : ret_at + 32 + length] if success else None)
    return out


def words(data: bytes) -> list[int]:
    """The 32-byte words of `data` as unsigned integers."""
    return [int.from_bytes(data[i : i + 32], "big") for i in range(0, len(data) - len(data) % 32, 32)]
