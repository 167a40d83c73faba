"""The guardian from its settings: the key alone turns the defense on; a bad key or target is a clear error."""

from __future__ import annotations

import pytest
from eth_account import Account
from pydantic import SecretStr

from bot.chain.guardian import Guardian
from bot.config import load_settings
from bot.errors import ConfigError
from bot.monitors.aave import AaveMonitor
from bot.monitors.rpc import RpcPool

CHAIN = {"rpc_urls": [SecretStr("http://127.0.0.1:1")], "pool_addresses_provider": "0x" + "1" * 40,
         "accounts": ["0x" + "2" * 40]}  # fmt: skip
KEY = "0x" + "4c" * 32


def monitor() -> AaveMonitor:
    return AaveMonitor(RpcPool(["http://127.0.0.1:1"]), CHAIN["pool_addresses_provider"])  # type: ignore[arg-type]


def test_no_key_no_guardian_and_the_key_alone_turns_it_on() -> None:
    assert Guardian.from_settings(load_settings(env_file=None, chain=CHAIN), "testnet", monitor()) is None
    settings = load_settings(env_file=None, chain=CHAIN, defense={"private_key": KEY})
    guardian = Guardian.from_settings(settings, "testnet", monitor())
    assert guardian is not None
    assert guardian.address == Account.from_key(KEY).address
    assert (guardian.policy.action, guardian.policy.asset) == ("repay", None)
    assert (guardian.policy.trigger_health_factor, guardian.policy.target_health_factor) == (1.15, 1.35)
    assert guardian.max_fee_per_gas == 100 * 10**9
    assert KEY in settings.secrets()  # redacted from every log line


def test_a_bad_key_is_a_config_error_that_never_shows_it() -> None:
    settings = load_settings(env_file=None, chain=CHAIN, defense={"private_key": "0x1234-not-a-key"})
    with pytest.raises(ConfigError, match="HEDGEBOT_DEFENSE__PRIVATE_KEY is not a private key") as err:
        Guardian.from_settings(settings, "testnet", monitor())
    assert "not-a-key" not in str(err.value)


def test_the_target_must_be_above_the_trigger() -> None:
    with pytest.raises(ConfigError, match=r"HEDGEBOT_DEFENSE__TARGET_HEALTH_FACTOR.*above the trigger"):
        load_settings(env_file=None, defense={"trigger_health_factor": 1.3, "target_health_factor": 1.2})
