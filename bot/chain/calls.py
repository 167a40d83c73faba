"""The calls the guardian makes, as calldata, and what a revert says, for a person.

Every argument is a static word, so calldata is written by hand (as the monitor does) and holds on
every Aave V3 release: the Pool's repay, supply and liquidationCall kept their signatures.
"""

from __future__ import annotations

from typing import Any

from eth_utils.crypto import keccak

from bot.monitors.multicall import address_word, encode_call, word, words

VARIABLE_RATE = 2
MAX_UINT256 = 2**256 - 1
_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)

# Aave V3.0-3.1 revert with numeric codes (Errors.sol); the ones a defense or a liquidation meets.
AAVE_ERRORS = {
    "26": "INVALID_AMOUNT",
    "27": "RESERVE_INACTIVE",
    "28": "RESERVE_FROZEN",
    "29": "RESERVE_PAUSED",
    "39": "NO_DEBT_OF_SELECTED_TYPE",
    "43": "COLLATERAL_CANNOT_BE_LIQUIDATED",
    "45": "HEALTH_FACTOR_NOT_BELOW_THRESHOLD",
    "51": "SUPPLY_CAP_EXCEEDED",
}
# From v3.2 they revert with custom errors instead: the same ones by selector.
_CUSTOM_ERRORS = {
    "InvalidAmount()": "INVALID_AMOUNT",
    "ReserveInactive()": "RESERVE_INACTIVE",
    "ReserveFrozen()": "RESERVE_FROZEN",
    "ReservePaused()": "RESERVE_PAUSED",
    "NoDebtOfSelectedType()": "NO_DEBT_OF_SELECTED_TYPE",
    "CollateralCannotBeLiquidated()": "COLLATERAL_CANNOT_BE_LIQUIDATED",
    "HealthFactorNotBelowThreshold()": "HEALTH_FACTOR_NOT_BELOW_THRESHOLD",
    "SupplyCapExceeded()": "SUPPLY_CAP_EXCEEDED",
}
AAVE_CUSTOM_ERRORS = {"0x" + keccak(text=sig)[:4].hex(): name for sig, name in _CUSTOM_ERRORS.items()}


def erc20_balance_of(owner: str) -> bytes:
    return encode_call("balanceOf(address)", address_word(owner))


def erc20_allowance(owner: str, spender: str) -> bytes:
    return encode_call("allowance(address,address)", address_word(owner), address_word(spender))


def erc20_approve(spender: str, amount: int) -> bytes:
    return encode_call("approve(address,uint256)", address_word(spender), word(amount))


def pool_repay(asset: str, amount: int, on_behalf_of: str) -> bytes:
    """Pool.repay(asset, amount, variable rate, onBehalfOf): anyone may repay anyone's debt."""
    sig = "repay(address,uint256,uint256,address)"
    return encode_call(sig, address_word(asset), word(amount), word(VARIABLE_RATE), address_word(on_behalf_of))


def pool_supply(asset: str, amount: int, on_behalf_of: str) -> bytes:
    """Pool.supply(asset, amount, onBehalfOf, referral 0): anyone may supply collateral for anyone."""
    sig = "supply(address,uint256,address,uint16)"
    return encode_call(sig, address_word(asset), word(amount), address_word(on_behalf_of), word(0))


def pool_liquidation_call(collateral: str, debt: str, user: str, debt_to_cover: int) -> bytes:
    """Pool.liquidationCall(collateral, debt, user, debtToCover, receiveAToken false)."""
    sig = "liquidationCall(address,address,address,uint256,bool)"
    return encode_call(
        sig, address_word(collateral), address_word(debt), address_word(user), word(debt_to_cover), word(0)
    )


def pool_user_account_data(user: str) -> bytes:
    return encode_call("getUserAccountData(address)", address_word(user))


def pool_configuration(asset: str) -> bytes:
    return encode_call("getConfiguration(address)", address_word(asset))


def health_factor_of(account_data: bytes) -> int:
    """The health factor (WAD) in getUserAccountData's answer."""
    return words(account_data)[5]


def liquidation_threshold_bps(configuration: bytes) -> int:
    """The reserve's liquidation threshold (bps) in getConfiguration's bitmap (bits 16-31)."""
    return (words(configuration)[0] >> 16) & 0xFFFF


def liquidation_bonus_bps(configuration: bytes) -> int:
    """The reserve's liquidation bonus (bps, 10_500 = 5 %) in getConfiguration's bitmap (bits 32-47)."""
    return (words(configuration)[0] >> 32) & 0xFFFF


def allowance_slot_key(owner: str, spender: str, mapping_slot: int) -> str:
    """The storage key of allowance[owner][spender] for a Solidity mapping at `mapping_slot`."""
    inner = keccak(address_word(owner) + word(mapping_slot))
    return "0x" + keccak(address_word(spender) + inner).hex()


def revert_reason(error: Any) -> str:
    """What a JSON-RPC error of a reverted call says: the Error(string) text, an Aave code's name, or the raw data."""
    if not isinstance(error, dict):
        return str(error)
    data = error.get("data")
    if isinstance(data, dict):  # some nodes nest it
        data = data.get("data")
    message = str(error.get("message", "reverted"))
    if isinstance(data, str) and data.startswith("0x") and len(data) > 2:
        raw = bytes.fromhex(data[2:])
        if raw.startswith(_ERROR_STRING) and len(raw) >= 68:
            length = int.from_bytes(raw[36:68], "big")
            text = raw[68 : 68 + length].decode(errors="replace")
            return f"{text} ({AAVE_ERRORS[text]})" if text in AAVE_ERRORS else text
        if data[:10] in AAVE_CUSTOM_ERRORS:
            return AAVE_CUSTOM_ERRORS[data[:10]]
        return f"{message} (data {data[:74]})"
    code = message.rsplit(":", 1)[-1].strip()
    return f"{message} ({AAVE_ERRORS[code]})" if code in AAVE_ERRORS else message
