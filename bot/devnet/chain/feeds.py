"""A settable Chainlink-style USD price feed, and a CAPO-shaped adapter over one, assembled by hand.

Aave's MockAggregator has no setter, and the monitor's heartbeat check needs `latestRoundData`, so
the devnet deploys this instead. Storage: slot 0 answer, slot 1 updatedAt, slot 2 roundId.
Functions: latestAnswer(), latestRoundData(), latestTimestamp(), latestRound(), decimals() -> 8,
and updateAnswer(int256), which anyone may call (a devnet has no oracle committee).

The adapter is shaped like Aave's CAPO price adapters (bgd-labs/aave-capo), which price wstETH,
weETH and the like on mainnet: `latestAnswer()` read through from a Chainlink feed underneath, named
by `BASE_TO_USD_AGGREGATOR()`, and no `latestRoundData()`, so a feed's freshness has to be read
underneath. Its ratio is 1 and it never caps: the devnet moves the feed underneath.
"""

from __future__ import annotations

from eth_utils.abi import function_signature_to_4byte_selector

FEED_DECIMALS = 8
ANSWER_SLOT = 0

_OPS = {
    "STOP": 0x00, "ADD": 0x01, "EQ": 0x14, "SHR": 0x1C, "TIMESTAMP": 0x42, "CALLDATALOAD": 0x35,
    "CODECOPY": 0x39, "MSTORE": 0x52, "SLOAD": 0x54, "SSTORE": 0x55, "JUMPI": 0x57, "JUMPDEST": 0x5B,
    "DUP1": 0x80, "RETURN": 0xF3, "REVERT": 0xFD, "GAS": 0x5A, "STATICCALL": 0xFA,
}  # fmt: skip

Item = str | int | tuple[str, str]


def _selector(signature: str) -> int:
    return int.from_bytes(function_signature_to_4byte_selector(signature), "big")


def _assemble(items: list[Item]) -> bytes:
    """Bytecode of `items`: opcode names, ints (pushed with the smallest PUSH), ("label"|"ref", name)."""

    def encode(labels: dict[str, int]) -> bytes:
        out = bytearray()
        for item in items:
            if isinstance(item, tuple):
                kind, name = item
                if kind == "label":
                    labels[name] = len(out)
                    out.append(_OPS["JUMPDEST"])
                else:  # a jump target: always PUSH2 so sizes do not depend on the pass
                    out += bytes([0x61]) + labels.get(name, 0).to_bytes(2, "big")
            elif isinstance(item, int):
                raw = item.to_bytes(max(1, (item.bit_length() + 7) // 8), "big")
                out += bytes([0x5F + len(raw)]) + raw
            else:
                out.append(_OPS[item])
        return bytes(out)

    labels: dict[str, int] = {}
    encode(labels)  # first pass finds the labels' offsets
    return encode(labels)


def _return_slots(slots: list[int]) -> list[Item]:
    """Code that returns the storage words `slots` as consecutive 32-byte words."""
    code: list[Item] = []
    for i, slot in enumerate(slots):
        code += [slot, "SLOAD", 32 * i, "MSTORE"]
    return [*code, 32 * len(slots), 0, "RETURN"]


def _dispatcher(handlers: dict[str, list[Item]]) -> bytes:
    """Code that jumps to the handler of the called function's selector, and reverts for any other."""
    dispatch: list[Item] = [0, "CALLDATALOAD", 0xE0, "SHR"]
    body: list[Item] = []
    for signature, handler in handlers.items():
        dispatch += ["DUP1", _selector(signature), "EQ", ("ref", signature), "JUMPI"]
        body += [("label", signature), *handler]
    return _assemble([*dispatch, 0, "DUP1", "REVERT", *body])


def runtime_code() -> bytes:
    """The feed's deployed code."""
    handlers: dict[str, list[Item]] = {
        "latestAnswer()": _return_slots([0]),
        # roundId, answer, startedAt, updatedAt, answeredInRound
        "latestRoundData()": _return_slots([2, 0, 1, 1, 2]),
        "latestTimestamp()": _return_slots([1]),
        "latestRound()": _return_slots([2]),
        "decimals()": [FEED_DECIMALS, 0, "MSTORE", 32, 0, "RETURN"],
        "updateAnswer(int256)": [4, "CALLDATALOAD", 0, "SSTORE", "TIMESTAMP", 1, "SSTORE",
                                 2, "SLOAD", 1, "ADD", 2, "SSTORE", "STOP"],
    }  # fmt: skip
    return _dispatcher(handlers)


def capo_runtime_code(base_feed: str) -> bytes:
    """The CAPO-shaped adapter's deployed code, over `base_feed`."""
    base = int(base_feed, 16)
    handlers: dict[str, list[Item]] = {
        # staticcall(gas, base, 28, 4, 0, 32) with latestAnswer()'s selector in memory word 0; return word 0.
        "latestAnswer()": [_selector("latestAnswer()"), 0, "MSTORE", 32, 0, 4, 28, base, "GAS", "STATICCALL",
                           32, 0, "RETURN"],
        "BASE_TO_USD_AGGREGATOR()": [base, 0, "MSTORE", 32, 0, "RETURN"],
        "decimals()": [FEED_DECIMALS, 0, "MSTORE", 32, 0, "RETURN"],
    }  # fmt: skip
    return _dispatcher(handlers)


def _with_constructor(runtime: bytes, init: list[Item]) -> str:
    """Creation bytecode (0x-hex): `init`, then copy `runtime` out of the code and return it."""
    prefix = _assemble([*init, len(runtime), "DUP1", 0xFFFF, 0, "CODECOPY", 0, "RETURN"])
    # 0xFFFF stood in for the runtime's offset (a PUSH2, like the real offset): patch it in.
    offset = len(prefix)
    at = prefix.rindex(bytes([0x61, 0xFF, 0xFF]))
    prefix = prefix[:at] + bytes([0x61]) + offset.to_bytes(2, "big") + prefix[at + 3 :]
    return "0x" + (prefix + runtime).hex()


def capo_creation_code(base_feed: str) -> str:
    """Creation bytecode (0x-hex) of a CAPO-shaped adapter over the feed at `base_feed`."""
    return _with_constructor(capo_runtime_code(base_feed), [])


def creation_code(initial_answer: int) -> str:
    """Creation bytecode (0x-hex) of a feed that starts at `initial_answer` (8 decimals), round 1."""
    init: list[Item] = [initial_answer, 0, "SSTORE", "TIMESTAMP", 1, "SSTORE", 1, 2, "SSTORE"]
    return _with_constructor(runtime_code(), init)


def update_answer_calldata(answer: int) -> str:
    """Calldata of updateAnswer(answer)."""
    return "0x" + function_signature_to_4byte_selector("updateAnswer(int256)").hex() + answer.to_bytes(32, "big").hex()
