"""Every setting reaches the part of the bot that uses it, built exactly as `hedgebot run` builds it.

Each leaf of `Settings` is set, alone, to a value no default has; the bot is prepared and built as `run`
does (`app.prepare`, then `app.build`: constructed, never started, so no network) and the value must
show up in the part that uses it. A setting missing from REACHES fails: a new setting must be wired.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from pydantic import BaseModel, SecretStr

from bot import log as bot_log
from bot.app import Parts, build, prepare
from bot.config import LIVE_CONFIRM_PHRASE, Mode, Settings, env_var_names, load_settings
from bot.errors import ConfigError
from bot.ops.alerts import TelegramSender, WebhookSender
from bot.venues.ccxt.venue import CcxtVenue

# What every build needs: `run` refuses to start without the chain, the market and one account.
BASE: dict[str, Any] = {
    "chain.rpc_urls": [SecretStr("http://127.0.0.1:8545")],
    "chain.pool_addresses_provider": "0x" + "1" * 40,
    "chain.accounts": ["0x" + "2" * 40],
}
GUARDIAN_KEY = "0x" + "4c" * 32
GUARDIAN = {"defense.private_key": SecretStr(GUARDIAN_KEY)}
KEYS: dict[str, Any] = {"exchange.api_key": SecretStr("base-api-key"), "exchange.api_secret": SecretStr("base-secret")}
LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class Built:
    parts: Parts
    log_stream: io.StringIO

    def log_lines(self) -> list[str]:
        return self.log_stream.getvalue().splitlines()


@dataclass(frozen=True)
class Reach:
    value: Any  # not the default, and unlike any other value in the table
    seen: Callable[[Built], Any]  # where the built bot shows it
    expect: Any = None  # what `seen` gives; None: the value itself, secrets unwrapped
    needs: Mapping[str, Any] = field(default_factory=dict)  # other settings without which it is invalid
    cli_mode: Mode | None = None  # `hedgebot run --mode`


def same(*values: Any) -> Any:
    """The one value every part holds, or all of them when they disagree (so the comparison fails)."""
    return values[0] if all(v == values[0] for v in values) else values


def _server(b: Built) -> Any:
    assert b.parts.server is not None
    return b.parts.server


def _paper(b: Built) -> Any:
    assert b.parts.paper is not None
    return b.parts.paper


def _journal_path(b: Built) -> Any:
    """The journal the bot opens, which its kill file (`<db_path>.kill`) sits beside."""
    kill_file = b.parts.kill.kill_file
    assert kill_file is not None
    return same(b.parts.journal_path, kill_file.with_suffix(""))


def _guardian(b: Built) -> Any:
    assert b.parts.guardian is not None
    return b.parts.guardian


def _senders(b: Built, kind: type[Any]) -> list[Any]:
    return [s for s in b.parts.alerter.senders if isinstance(s, kind)]


def _api_hosts(b: Built) -> set[str]:
    return {m.group(0) for u in b.parts.exchange.urls["api"].values() if (m := re.match(r"https?://[^/]+", str(u)))}


def _log_format(b: Built) -> str:
    bot_log.get_logger("reach").warning("probe")
    try:
        json.loads(b.log_lines()[-1])
    except ValueError:
        return "console"
    return "json"


def _log_level(b: Built) -> str:
    logger = bot_log.get_logger("reach")
    for level in LEVELS:
        getattr(logger, level)(f"probe-{level}")
    text = b.log_stream.getvalue()
    return next(level for level in LEVELS if f"probe-{level}" in text)


# Secrets are private to the parts that hold them: the test reads them where they are kept.
REACHES: dict[str, Reach] = {
    "mode": Reach("testnet", lambda b: (b.parts.status.mode, type(b.parts.venue)), ("testnet", CcxtVenue), KEYS),
    "live_confirm": Reach(
        LIVE_CONFIRM_PHRASE, lambda b: b.parts.status.mode, "live", {**KEYS, "mode": "live"}, cli_mode="live"
    ),
    "db_path": Reach(Path("/srv/hedgebot/reach.sqlite"), lambda b: _journal_path(b)),
    "http_host": Reach("10.1.2.3", lambda b: _server(b).host, needs={"http_token": SecretStr("base-http-token")}),
    "http_port": Reach(18_781, lambda b: _server(b).port),
    "http_token": Reach(SecretStr("reach-http-token"), lambda b: (_server(b)._token or b"").decode()),
    "kill_closes_hedge": Reach(True, lambda b: b.parts.config.close_on_kill),
    "exchange.id": Reach("bybit", lambda b: b.parts.exchange.id),
    "exchange.api_key": Reach(SecretStr("reach-api-key"), lambda b: b.parts.exchange.apiKey),
    "exchange.api_secret": Reach(SecretStr("reach-api-secret"), lambda b: b.parts.exchange.secret),
    "exchange.password": Reach(SecretStr("reach-password"), lambda b: b.parts.exchange.password),
    "exchange.api_url": Reach("http://127.0.0.1:18081", _api_hosts, {"http://127.0.0.1:18081"}),
    # The risk layer prices the short's liquidation for the venue's margin mode (B1).
    "exchange.margin_mode": Reach(
        "cross", lambda b: same(b.parts.margin_mode, _paper(b).settings.margin_mode, b.parts.config.risk.margin_mode)
    ),
    "exchange.min_change_contracts": Reach(
        7, lambda b: same(b.parts.config.reconcile.min_change_contracts, b.parts.config.change.min_change_contracts)
    ),
    "exchange.stop_move_bps": Reach(33.0, lambda b: b.parts.config.reconcile.stop_move_bps),
    "exchange.change_band": Reach(0.07, lambda b: b.parts.config.change.band),
    "exchange.change_cooldown_s": Reach(12.5, lambda b: b.parts.config.change.cooldown_ms / 1000),
    "chain.rpc_urls": Reach([SecretStr("http://127.0.0.1:18545/reach-key")], lambda b: b.parts.monitor.rpc.urls),
    "chain.pool_addresses_provider": Reach("0x" + "3" * 40, lambda b: b.parts.monitor.provider_address),
    "chain.accounts": Reach(["0x" + "4" * 40], lambda b: [b.parts.lending.account]),
    "chain.collateral_asset": Reach("WBTC", lambda b: b.parts.lending.collateral_symbol),
    "chain.stale_block_s": Reach(
        45.0, lambda b: same(b.parts.monitor.stale_block_s, b.parts.config.guard.stale_block_ms / 1000)
    ),
    "chain.call_timeout_s": Reach(7.0, lambda b: b.parts.monitor.rpc.call_timeout_s),
    "chain.requests_per_second": Reach(33.0, lambda b: b.parts.monitor.rpc.requests_per_second),
    "chain.poll_interval_s": Reach(0.7, lambda b: b.parts.monitor.rpc.poll_interval_s),
    "chain.oracle_heartbeat_s": Reach(
        3_600.0, lambda b: same(b.parts.monitor.oracle_heartbeat_s, b.parts.config.guard.oracle_heartbeat_ms / 1000)
    ),
    "chain.calls_per_multicall": Reach(250, lambda b: b.parts.monitor.calls_per_multicall),
    "strategy.name": Reach("percentage", lambda b: b.parts.strategy.name),
    "strategy.params": Reach(
        {"leverage": 4.0}, lambda b: {"leverage": same(b.parts.strategy.params.leverage, b.parts.leverage)}
    ),
    "strategy.warmup_days": Reach(2.5, lambda b: b.parts.warmup_days),
    # The dynamic strategy asks for 10x: the global cap is what the venue is set to.
    "risk.max_leverage": Reach(3.0, lambda b: same(b.parts.config.risk.max_leverage, b.parts.leverage)),
    "risk.max_notional_usd": Reach(123_456.0, lambda b: b.parts.config.risk.max_notional_usd),
    "risk.max_capital_at_risk": Reach(0.07, lambda b: b.parts.config.risk.max_capital_at_risk),
    "risk.default_stop_pct": Reach(0.11, lambda b: b.parts.config.risk.default_stop_pct),
    "risk.max_price_jump": Reach(0.21, lambda b: b.parts.config.guard.max_price_jump),
    "risk.max_oracle_divergence": Reach(0.04, lambda b: b.parts.config.guard.max_oracle_divergence),
    "risk.confirm_level_s": Reach(42.0, lambda b: b.parts.config.guard.confirm_level_ms / 1000),
    "risk.max_confirmable_move": Reach(0.33, lambda b: b.parts.config.guard.max_confirmable_move),
    "paper.balance_btc": Reach(0.42, lambda b: _paper(b).wallet_btc),
    "paper.slippage_bps": Reach(3.5, lambda b: _paper(b).settings.slippage_bps),
    "paper.maker_fee": Reach(0.00015, lambda b: _paper(b).settings.maker_fee),
    "paper.taker_fee": Reach(0.00065, lambda b: _paper(b).settings.taker_fee),
    "alerts.webhook_url": Reach(
        SecretStr("https://hooks.example/reach"),
        lambda b: [s._url for s in _senders(b, WebhookSender)],
        ["https://hooks.example/reach"],
    ),
    "alerts.telegram_token": Reach(
        SecretStr("reach-telegram-token"),
        lambda b: [s._token for s in _senders(b, TelegramSender)],
        ["reach-telegram-token"],
        needs={"alerts.telegram_chat_id": "1001"},
    ),
    "alerts.telegram_chat_id": Reach(
        "4242",
        lambda b: [s._chat_id for s in _senders(b, TelegramSender)],
        ["4242"],
        needs={"alerts.telegram_token": SecretStr("base-telegram-token")},
    ),
    "alerts.telegram_commands": Reach(
        True,
        lambda b: b.parts.telegram is not None and sorted(b.parts.telegram.allowed),
        [1001],
        needs={"alerts.telegram_token": SecretStr("base-telegram-token"), "alerts.telegram_chat_id": "1001"},
    ),
    "alerts.telegram_command_chat_ids": Reach(
        ["777", "-100200"],
        lambda b: b.parts.telegram is not None and sorted(b.parts.telegram.allowed),
        [-100200, 777],
        needs={
            "alerts.telegram_token": SecretStr("base-telegram-token"),
            "alerts.telegram_chat_id": "1001",
            "alerts.telegram_commands": True,
        },
    ),
    "alerts.telegram_api_url": Reach(
        "http://127.0.0.1:9/telegram",
        lambda b: same(
            *[s._base_url for s in _senders(b, TelegramSender)],
            *(
                [str(b.parts.telegram.app.bot.base_url).removesuffix("/bot" + "base-telegram-token")]
                if b.parts.telegram
                else []
            ),
        ),
        "http://127.0.0.1:9/telegram",
        needs={
            "alerts.telegram_token": SecretStr("base-telegram-token"),
            "alerts.telegram_chat_id": "1001",
            "alerts.telegram_commands": True,
        },
    ),
    "alerts.health_levels": Reach([1.4, 1.2], lambda b: list(b.parts.alert_rules.health_levels)),
    "alerts.health_hysteresis": Reach(0.05, lambda b: b.parts.alert_rules.hysteresis),
    "alerts.min_interval_s": Reach(90.0, lambda b: b.parts.alerter.min_interval_s),
    "defense.private_key": Reach(
        SecretStr("0x" + "5d" * 32),
        lambda b: b.parts.guardian.address if b.parts.guardian else None,
        Account.from_key("0x" + "5d" * 32).address,
    ),
    "defense.action": Reach("supply", lambda b: _guardian(b).policy.action, needs=GUARDIAN),
    "defense.asset": Reach("WBTC", lambda b: _guardian(b).policy.asset, needs=GUARDIAN),
    "defense.trigger_health_factor": Reach(1.2, lambda b: _guardian(b).policy.trigger_health_factor, needs=GUARDIAN),
    "defense.target_health_factor": Reach(1.5, lambda b: _guardian(b).policy.target_health_factor, needs=GUARDIAN),
    "defense.max_usd_per_day": Reach(2_500.0, lambda b: _guardian(b).policy.max_usd_per_day, needs=GUARDIAN),
    "defense.max_gas_gwei": Reach(42.0, lambda b: _guardian(b).max_fee_per_gas, 42 * 10**9, needs=GUARDIAN),
    "log.format": Reach("json", _log_format),
    "log.level": Reach("error", _log_level),
}


def leaves(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """The dotted path of every setting that is a value, not a section."""
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from leaves(annotation, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}"


def plain(value: Any) -> Any:
    """`value` as a part holds it: secrets unwrapped."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def default_of(path: str) -> Any:
    model: Any = Settings
    *sections, name = path.split(".")
    for section in sections:
        model = model.model_fields[section].annotation
    return model.model_fields[name].get_default(call_default_factory=True)


def nested(flat: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, value in flat.items():
        *sections, name = path.split(".")
        node = out
        for section in sections:
            node = node.setdefault(section, {})
        node[name] = value
    return out


def build_like_run(flat: Mapping[str, Any], cli_mode: Mode | None) -> Built:
    """`hedgebot run`'s steps up to the start: settings loaded, the bot prepared, its parts built."""
    settings = load_settings(env_file=None, **nested(flat))
    stream = io.StringIO()
    mode = prepare(settings, cli_mode, stream)
    return Built(build(settings, mode), stream)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in env_var_names():
        monkeypatch.delenv(name, raising=False)
    yield
    bot_log.configure()  # prepare() pointed the logs at a test's stream


def test_the_table_names_only_settings() -> None:
    assert set(REACHES) <= set(leaves(Settings))


@pytest.mark.parametrize("path", list(leaves(Settings)))
def test_every_setting_reaches_the_part_that_uses_it(path: str) -> None:
    reach = REACHES.get(path)
    assert reach is not None, f"{path} is not in REACHES: wire it to the part that uses it, then add it here"
    expect = plain(reach.value) if reach.expect is None else reach.expect
    assert plain(reach.value) != plain(default_of(path)), f"{path}: pick a value other than the default"
    try:
        without = reach.seen(build_like_run({**BASE, **reach.needs}, reach.cli_mode))
    except ConfigError:
        without = None  # the setting is needed at all: without it the bot does not build
    assert without != expect, f"{path}: the part shows {expect!r} without the setting: the check proves nothing"
    built = build_like_run({**BASE, **reach.needs, path: reach.value}, reach.cli_mode)
    assert reach.seen(built) == expect, f"{path}={expect!r} does not reach the part that uses it"
