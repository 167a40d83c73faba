"""The guardian's calldata and what reverts say."""

from __future__ import annotations

from eth_utils.abi import function_signature_to_4byte_selector

from bot.chain.calls import allowance_slot_key, pool_liquidation_call, pool_repay, pool_supply, revert_reason

A, B = "0x" + "11" * 20, "0x" + "22" * 20


def error_string(text: str) -> str:
    raw = text.encode()
    return (
        "0x08c379a0" + (32).to_bytes(32, "big").hex() + len(raw).to_bytes(32, "big").hex() + raw.ljust(32, b"\0").hex()
    )


def test_pool_calls_have_the_pools_selectors_and_the_variable_rate() -> None:
    repay = pool_repay(A, 5, B)
    assert repay[:4] == function_signature_to_4byte_selector("repay(address,uint256,uint256,address)")
    assert int.from_bytes(repay[68:100], "big") == 2  # variable rate
    assert pool_supply(A, 5, B)[:4] == function_signature_to_4byte_selector("supply(address,uint256,address,uint16)")
    call = pool_liquidation_call(A, B, A, 2**256 - 1)
    assert len(call) == 4 + 5 * 32 and call[-1] == 0  # receiveAToken false


def test_a_revert_says_the_aave_code_and_its_name() -> None:
    assert revert_reason({"code": 3, "message": "execution reverted", "data": error_string("45")}) == (
        "45 (HEALTH_FACTOR_NOT_BELOW_THRESHOLD)"
    )
    assert revert_reason({"message": "execution reverted", "data": error_string("ERC20: low")}) == "ERC20: low"
    assert revert_reason({"message": "execution reverted: 39"}) == "execution reverted: 39 (NO_DEBT_OF_SELECTED_TYPE)"
    assert revert_reason({"message": "execution reverted", "data": "0x12345678"}).startswith("execution reverted (data")
    assert revert_reason("boom") == "boom"
    # v3.2+: custom errors.
    assert revert_reason({"message": "execution reverted", "data": "0x930bb771"}) == "HEALTH_FACTOR_NOT_BELOW_THRESHOLD"


def test_the_allowance_key_is_the_solidity_mapping_slot() -> None:
    # keccak(spender . keccak(owner . slot)): a known value for OpenZeppelin's _allowances at slot 1.
    key = allowance_slot_key(A, B, 1)
    assert key.startswith("0x") and len(key) == 66
    assert key != allowance_slot_key(B, A, 1) != allowance_slot_key(A, B, 2)
