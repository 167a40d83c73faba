"""Dry-run is the default; testnet needs keys; live needs --mode live AND the confirmation setting."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from bot.config import LIVE_CONFIRM_PHRASE, ExchangeSettings, Settings
from bot.errors import ConfigError
from bot.modes import resolve_mode

KEYS: dict[str, Any] = {"api_key": SecretStr("k" * 16), "api_secret": SecretStr("s" * 16)}


def settings(**kw: Any) -> Settings:
    return Settings.model_construct(**{**Settings().model_dump(), **kw})


def test_dry_run_is_the_default_and_needs_no_key() -> None:
    assert resolve_mode(None, Settings()) == "dry-run"


def test_testnet_needs_keys() -> None:
    with pytest.raises(ConfigError, match="HEDGEBOT_EXCHANGE__API_KEY, HEDGEBOT_EXCHANGE__API_SECRET missing"):
        resolve_mode("testnet", Settings())
    assert resolve_mode("testnet", settings(exchange=ExchangeSettings(**KEYS))) == "testnet"
    with pytest.raises(ConfigError, match="PASSWORD"):
        resolve_mode("testnet", settings(exchange=ExchangeSettings(id="okx", **KEYS)))


def test_live_needs_the_flag_and_the_confirmation() -> None:
    keyed = settings(exchange=ExchangeSettings(**KEYS))
    with pytest.raises(ConfigError, match="HEDGEBOT_LIVE_CONFIRM"):
        resolve_mode("live", keyed)
    confirmed = settings(exchange=ExchangeSettings(**KEYS), live_confirm=LIVE_CONFIRM_PHRASE)
    assert resolve_mode("live", confirmed) == "live"
    # The setting alone, without the command-line flag, never trades live.
    with pytest.raises(ConfigError, match="--mode live on the command line"):
        resolve_mode(None, settings(exchange=ExchangeSettings(**KEYS), live_confirm=LIVE_CONFIRM_PHRASE, mode="live"))


# A public status bind without a token: tests/test_config_checks.py (the start-up checks refuse it).
