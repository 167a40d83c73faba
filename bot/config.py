"""Settings: environment (HEDGEBOT_*, nested with __), a .env file, and an optional TOML file.

Every field says its unit. Unknown keys are errors. Secrets are SecretStr and never printed.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any, ClassVar, Literal, get_origin

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.errors import ConfigError
from bot.venues.ccxt.registry import LOCAL_SERVER_IDS, VENUE_IDS, VENUES

Mode = Literal["dry-run", "testnet", "live"]
LIVE_CONFIRM_PHRASE = "yes-i-understand"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExchangeSettings(_Section):
    id: str = Field(
        "binancecoinm",
        description=f"ccxt exchange id of the inverse BTC perpetual venue: one of {', '.join(VENUE_IDS)}",
    )
    api_key: SecretStr | None = Field(None, description="API key (testnet or live); not needed in dry-run")
    api_secret: SecretStr | None = Field(None, description="API secret")
    password: SecretStr | None = Field(
        None,
        description=f"API passphrase ({', '.join(v.name for v in VENUES.values() if v.needs_password)} only)",
    )
    api_url: str | None = Field(
        None,
        description="override of the exchange's REST base URL, e.g. http://127.0.0.1:8081 for the "
        f"local devnet exchange ({', '.join(LOCAL_SERVER_IDS)} only)",
    )
    margin_mode: Literal["isolated", "cross"] = Field("isolated", description="margin mode set on the venue")
    min_change_contracts: int = Field(1, ge=1, description="skip position changes smaller than this (contracts)")
    change_band: float = Field(
        0.02, ge=0, lt=1, description="skip position changes smaller than this share of the position (fraction)"
    )
    change_cooldown_s: float = Field(
        10.0,
        ge=0,
        description="after a fill, wait this long before resizing the short (s); opening and closing never wait",
    )
    stop_move_bps: float = Field(
        25.0, ge=0, description="replace a resting stop only when the wanted one moved more than this (bps)"
    )

    @field_validator("id")
    @classmethod
    def _known_venue(cls, value: str) -> str:
        # The list is the venue registry's, so a new venue module is a valid id without touching this file.
        if value not in VENUE_IDS:
            raise ValueError(f"one of {', '.join(VENUE_IDS)}")
        return value


class ChainSettings(_Section):
    rpc_urls: list[SecretStr] = Field(
        default_factory=list, description="JSON-RPC URLs (http(s) or ws(s)), tried in order; may hold keys"
    )
    pool_addresses_provider: str | None = Field(
        None, description="Aave V3 PoolAddressesProvider address of the market to watch"
    )
    accounts: list[str] = Field(default_factory=list, description="borrower addresses to watch")
    collateral_asset: str = Field("WETH", description="symbol of the collateral reserve to hedge")
    stale_block_s: float = Field(60.0, gt=0, description="a block older than this (s) is stale: no trading")
    call_timeout_s: float = Field(10.0, gt=0, description="timeout of one RPC call (s)")
    requests_per_second: float = Field(20.0, gt=0, description="RPC rate limit kept by asyncio-throttle (req/s)")
    poll_interval_s: float = Field(2.0, gt=0, description="block polling interval when not on WebSocket (s)")
    oracle_heartbeat_s: float = Field(
        93_600.0,
        gt=0,
        description="halt on and flag an oracle feed not updated for this long (s); Chainlink USD feeds update "
        "every 1-24 h, and the default gives the longest 2 h to land",
    )
    calls_per_multicall: int = Field(
        1_000, ge=1, description="sub-calls per Multicall3 aggregate3 eth_call; lower it if the node caps eth_call gas"
    )

    def missing(self, *, accounts: bool) -> list[str]:
        """The settings not set that reading the market (and, with `accounts`, watching an account) needs."""
        needed: list[tuple[str, object]] = [
            ("HEDGEBOT_CHAIN__RPC_URLS", self.rpc_urls),
            ("HEDGEBOT_CHAIN__POOL_ADDRESSES_PROVIDER", self.pool_addresses_provider),
        ]
        if accounts:
            needed.append(("HEDGEBOT_CHAIN__ACCOUNTS", self.accounts))
        return [name for name, value in needed if not value]


class StrategySettings(_Section):
    name: str = Field("dynamic", description="built-in name, package.module:Class, or a .py file path")
    params: dict[str, Any] = Field(default_factory=dict, description="the strategy's parameters")
    warmup_days: float = Field(
        7.0,
        ge=0,
        le=7,
        description="days of the exchange's 1-minute bars the features (volatility, beta) are warmed on at start; "
        "0: start cold",
    )


class RiskSettings(_Section):
    max_leverage: float = Field(20.0, gt=0, le=125, description="global leverage cap (x); strategies' caps apply too")
    max_notional_usd: float = Field(250_000.0, gt=0, description="largest short face value allowed (USD)")
    max_capital_at_risk: float = Field(
        0.05, gt=0, le=1, description="largest loss to the protective stop, as a share of total capital"
    )
    default_stop_pct: float = Field(
        0.10, gt=0, lt=1, description="stop distance put on a plan that has none (fraction above mark)"
    )
    max_price_jump: float = Field(
        0.15, gt=0, lt=1, description="a move larger than this from the last trusted price halts trading (fraction)"
    )
    confirm_level_s: float = Field(
        300.0, ge=0, description="a price beyond max_price_jump is trusted once it has held this long (s)"
    )
    max_confirmable_move: float = Field(
        0.5, gt=0, description="a move beyond this from the last trusted price is never trusted on its own (fraction)"
    )
    max_oracle_divergence: float = Field(
        0.03, gt=0, lt=1, description="halt when exchange BTC mark and oracle BTC differ by more (fraction)"
    )


class PaperSettings(_Section):
    balance_btc: float = Field(0.3, ge=0, description="starting BTC balance of the dry-run account")
    slippage_bps: float = Field(2.0, ge=0, description="market order slippage in the paper venue (bps)")
    maker_fee: float = Field(0.0001, ge=0, lt=0.01, description="maker fee (fraction of notional)")
    taker_fee: float = Field(0.0005, ge=0, lt=0.01, description="taker fee (fraction of notional)")


class AlertSettings(_Section):
    webhook_url: SecretStr | None = Field(None, description="POST alerts as JSON to this URL")
    telegram_token: SecretStr | None = Field(None, description="Telegram bot token")
    telegram_chat_id: str | None = Field(None, description="Telegram chat id to send alerts to")
    telegram_commands: bool = Field(
        False, description="answer /status /hedge /pause /resume /kill in the allowed chats (needs the token)"
    )
    telegram_command_chat_ids: list[str] = Field(
        default_factory=list, description="numeric chat ids whose commands are answered (default: telegram_chat_id)"
    )
    telegram_api_url: str = Field(
        "https://api.telegram.org", description="the Bot API server (Telegram's, or a local Bot API server)"
    )
    health_levels: list[float] = Field(
        default_factory=lambda: [1.3, 1.15, 1.05], description="alert when HF crosses these levels"
    )
    health_hysteresis: float = Field(
        0.02, ge=0, description="HF must climb this far back above a level to re-arm its alert (HF units)"
    )
    min_interval_s: float = Field(60.0, ge=0, description="the same alert is sent at most once per this (s)")


class LogSettings(_Section):
    format: Literal["console", "json"] = Field("console", description="console for people, json lines for machines")
    level: Literal["debug", "info", "warning", "error"] = Field("info", description="lowest level printed")


class DefenseSettings(_Section):
    private_key: SecretStr | None = Field(
        None,
        description="the guardian wallet's private key (0x hex): it repays or supplies for the borrower from its "
        "own reserve; unset: no on-chain defense",
    )
    action: Literal["repay", "supply"] = Field(
        "repay", description="repay the borrower's debt, or supply collateral on its behalf"
    )
    asset: str | None = Field(
        None,
        description="symbol of the reserve the guardian spends (e.g. USDC); default: the account's largest debt "
        "(repay) or the hedged collateral (supply)",
    )
    trigger_health_factor: float = Field(1.15, gt=1, description="defend when the health factor falls below this")
    target_health_factor: float = Field(1.35, gt=1, description="a defense brings the health factor back to this")
    max_usd_per_day: float = Field(
        10_000.0, gt=0, description="most the guardian spends on defenses in any 24 hours (USD)"
    )
    max_gas_gwei: float = Field(
        100.0, gt=0, description="highest fee per gas a defense transaction may pay (gwei, EIP-1559 max fee)"
    )

    @field_validator("target_health_factor")
    @classmethod
    def _target_above_trigger(cls, value: float, info: ValidationInfo) -> float:
        trigger = info.data.get("trigger_health_factor")
        if trigger is not None and value <= trigger:
            raise ValueError(f"above the trigger health factor ({trigger})")
        return value


class _TomlBelowEnvironment(TomlConfigSettingsSource):
    """The TOML file, minus every mapping the environment sets whole.

    pydantic-settings merges mappings from every source key by key, so HEDGEBOT_STRATEGY__PARAMS='{}'
    could not clear the TOML file's params (B18). A mapping set in the environment replaces the file's.
    """

    def __call__(self) -> dict[str, Any]:
        data = super().__call__()
        given = _environment()
        for name in _json_setting_names():
            if name not in given:
                continue
            path = name.removeprefix("HEDGEBOT_").lower().split("__")
            node: Any = data
            for part in path[:-1]:
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, dict):
                node.pop(path[-1], None)
        return data


def _environment(env_file: Path | None = Path(".env")) -> dict[str, str]:
    """HEDGEBOT_* variables from the environment over those of `env_file`, upper-cased names."""
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k.upper(): v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update({k.upper(): v for k, v in os.environ.items()})
    return {k: v for k, v in values.items() if k.startswith("HEDGEBOT_") and v != ""}


class Settings(BaseSettings):
    """All of hedgebot's settings."""

    model_config = SettingsConfigDict(
        env_prefix="HEDGEBOT_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        env_ignore_empty=True,  # a blank line copied from .env.example means "the default"
        extra="forbid",
    )
    toml_path: ClassVar[Path | None] = None

    mode: Mode = Field("dry-run", description="dry-run (paper venue, the default), testnet or live")
    live_confirm: str | None = Field(
        None, description=f"must be '{LIVE_CONFIRM_PHRASE}' for --mode live to trade real money"
    )
    db_path: Path = Field(Path("hedgebot.sqlite"), description="the SQLite journal")
    http_host: str = Field("127.0.0.1", description="status/metrics bind address")
    http_port: int = Field(8780, ge=0, le=65535, description="status/metrics port (0: off)")
    http_token: SecretStr | None = Field(None, description="token the status endpoint asks for off loopback")
    kill_closes_hedge: bool = Field(
        False, description="on `hedgebot kill`: true closes the short at market; false keeps it with its stops"
    )
    exchange: ExchangeSettings = Field(default_factory=ExchangeSettings)
    chain: ChainSettings = Field(default_factory=ChainSettings)
    strategy: StrategySettings = Field(default_factory=StrategySettings)
    risk: RiskSettings = Field(default_factory=RiskSettings)
    paper: PaperSettings = Field(default_factory=PaperSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    defense: DefenseSettings = Field(default_factory=DefenseSettings)

    @field_validator("live_confirm")
    @classmethod
    def _confirm_phrase(cls, value: str | None) -> str | None:
        if value is not None and value != LIVE_CONFIRM_PHRASE:
            raise ValueError(f"exactly '{LIVE_CONFIRM_PHRASE}' or unset")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence: explicit arguments, then the environment, then .env, then the TOML file.
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        if cls.toml_path is not None:
            sources.append(_TomlBelowEnvironment(settings_cls, toml_file=cls.toml_path))
        return tuple(sources)

    def secrets(self) -> list[str]:
        """Every secret value set, for the log redactor."""
        found: list[str] = []

        def walk(obj: Any) -> None:
            if isinstance(obj, SecretStr):
                value = obj.get_secret_value()
                if value:
                    found.append(value)
            elif isinstance(obj, BaseModel):
                for name in type(obj).model_fields:
                    walk(getattr(obj, name))
            elif isinstance(obj, list | tuple):
                for item in obj:
                    walk(item)

        walk(self)
        return found

    def masked(self) -> dict[str, Any]:
        """The effective settings as plain JSON types, secrets shown as '**********'."""
        return json.loads(self.model_dump_json())  # type: ignore[no-any-return]


def _is_secret(loc: list[str]) -> bool:
    """True when the setting at `loc` is a SecretStr (or a list of them): its input is never printed."""
    model: Any = Settings
    for part in loc:
        field = model.model_fields.get(part) if isinstance(model, type) and issubclass(model, BaseModel) else None
        if field is None:
            break
        annotation = field.annotation
        if "SecretStr" in str(annotation):
            return True
        model = annotation
    return any(word in ".".join(loc) for word in ("key", "secret", "token", "password"))


def _describe_error(err: dict[str, Any]) -> str:
    loc = [str(p) for p in err.get("loc", ())]
    env_name = "HEDGEBOT_" + "__".join(p.upper() for p in loc if not p.isdigit())
    dotted = ".".join(loc)
    got = err.get("input")
    got_text = "a secret (not shown)" if _is_secret(loc) else repr(got)
    if err.get("type") == "extra_forbidden":
        # The environment and .env are checked before (_unknown_variables): this key is the TOML file's.
        where = f" in {Settings.toml_path}" if Settings.toml_path is not None else ""
        known = [".".join(p) for p in _setting_paths()]
        close = difflib.get_close_matches(dotted, known, n=1, cutoff=0.8)
        hint = f"did you mean {close[0]}?" if close else "check the spelling against .env.example"
        return f"unknown setting {dotted}{where}: not a hedgebot setting; {hint}"
    wants = err.get("msg", "a valid value")
    if err.get("type") == "value_error":  # our own validators' words, without pydantic's "Value error, "
        wants = str((err.get("ctx") or {}).get("error", wants))
    return f"setting {dotted} ({env_name}): got {got_text}, wants {wants}"


def load_settings(config_file: Path | None = None, env_file: Path | None = Path(".env"), **overrides: Any) -> Settings:
    """Settings from the environment, `.env` and `config_file`; raises ConfigError naming the setting."""
    if config_file is not None and not config_file.is_file():
        raise ConfigError(f"config file {config_file} does not exist")
    unknown = _unknown_variables(env_file)
    if unknown:
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(unknown))
    Settings.toml_path = config_file
    try:
        return Settings(_env_file=env_file if env_file and env_file.is_file() else None, **overrides)
    except ValidationError as exc:
        lines = [_describe_error(dict(e)) for e in exc.errors()]
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(lines)) from None
    except (OSError, ValueError) as exc:
        unparsable = _unparsable_json_settings(env_file)
        if unparsable:
            raise ConfigError("invalid configuration:\n  " + "\n  ".join(unparsable)) from None
        raise ConfigError(f"cannot read configuration: {exc}") from None
    finally:
        Settings.toml_path = None


def _json_setting_names() -> set[str]:
    """The HEDGEBOT_* variables whose value is JSON (lists and mappings)."""
    names: set[str] = set()

    def walk(model: type[BaseModel], prefix: str) -> None:
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, f"{prefix}{name.upper()}__")
            elif (
                get_origin(annotation) in (list, dict, tuple)
                or "list[" in str(annotation)
                or "dict[" in str(annotation)
            ):
                names.add(f"{prefix}{name.upper()}")

    walk(Settings, "HEDGEBOT_")
    return names


# Read by the devnet, not settings: where `npm ci` put anvil, and where compile_aave.mjs put the Aave build.
_NOT_SETTINGS = frozenset({"HEDGEBOT_NODE_MODULES", "HEDGEBOT_AAVE_BUILD"})


def _written_names(env_file: Path | None) -> dict[str, str]:
    """Every variable hedgebot reads a setting from, as written, with where: "HEDGEBOT_MODEE" -> "the environment";
    in the `.env` file every key counts (hedgebot's .env holds hedgebot's settings), HEDGEBOT_ or not."""
    where: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        where.update({k: str(env_file) for k in dotenv_values(env_file)})
    where.update({k: "the environment" for k, v in os.environ.items() if k.upper().startswith("HEDGEBOT_") and v})
    return where


def _unknown_variables(env_file: Path | None) -> list[str]:
    """One line per variable that is no setting, named as written and where (a typo would otherwise be
    silently ignored, or reported under a name nobody wrote)."""
    known = set(env_var_names())
    mappings = _json_setting_names()
    found = []
    for written, where in sorted(_written_names(env_file).items()):
        name = written.upper()
        if name in known or name in _NOT_SETTINGS or any(name.startswith(m + "__") for m in mappings):
            continue
        # Compared without the prefix, which would make any two names look alike; a doubled one is dropped too.
        bare = name
        while bare.startswith("HEDGEBOT_"):
            bare = bare.removeprefix("HEDGEBOT_")
        close = difflib.get_close_matches(bare, [k.removeprefix("HEDGEBOT_") for k in known], n=1, cutoff=0.8)
        if close:
            hint = f"; did you mean HEDGEBOT_{close[0]}?"
        elif name.startswith("HEDGEBOT_"):
            hint = "; see .env.example for every setting"
        else:
            hint = "; every setting starts with HEDGEBOT_ (see .env.example)"
        found.append(f"unknown setting {written} in {where}: not a hedgebot setting{hint}")
    return found


def _unparsable_json_settings(env_file: Path | None) -> list[str]:
    """One line per list or mapping setting whose value is not JSON, naming it (the value is never shown)."""
    values = _environment(env_file)
    found = []
    for name in sorted(_json_setting_names()):
        if name in values:
            try:
                json.loads(values[name])
            except ValueError:
                found.append(
                    f'setting {name}: not valid JSON; write a list as \'["a", "b"]\' and a mapping as \'{{"k": 1}}\''
                )
    return found


def _setting_paths() -> list[tuple[str, ...]]:
    """Every setting as its path of field names: ("exchange", "api_key")."""
    paths: list[tuple[str, ...]] = []

    def walk(model: type[BaseModel], prefix: tuple[str, ...]) -> None:
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                walk(annotation, (*prefix, name))
            else:
                paths.append((*prefix, name))

    walk(Settings, ())
    return paths


def env_var_names() -> list[str]:
    """Every HEDGEBOT_* variable name the settings accept (for .env.example and its test)."""
    return ["HEDGEBOT_" + "__".join(p.upper() for p in path) for path in _setting_paths()]


__all__ = ["LIVE_CONFIRM_PHRASE", "ConfigError", "Settings", "env_var_names", "load_settings"]
