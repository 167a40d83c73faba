"""Settings: environment, .env and TOML; clear errors; secrets masked; .env.example complete."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import LIVE_CONFIRM_PHRASE, env_var_names, load_settings
from bot.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(__import__("os").environ):
        if name.startswith("HEDGEBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_defaults_are_safe() -> None:
    s = load_settings()
    assert s.mode == "dry-run"
    assert s.live_confirm is None
    assert s.http_host == "127.0.0.1"
    assert s.strategy.name == "dynamic"


def test_environment_nested_with_double_underscore(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDGEBOT_EXCHANGE__ID", "bybit")
    monkeypatch.setenv("HEDGEBOT_RISK__MAX_LEVERAGE", "7.5")
    monkeypatch.setenv("HEDGEBOT_CHAIN__ACCOUNTS", '["0x0000000000000000000000000000000000000001"]')
    s = load_settings()
    assert s.exchange.id == "bybit"
    assert s.risk.max_leverage == 7.5
    assert s.chain.accounts == ["0x0000000000000000000000000000000000000001"]


def test_toml_file_and_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cfg = tmp_path / "bot.toml"
    cfg.write_text(
        'mode = "testnet"\n[strategy]\nname = "percentage"\nparams = { hedge_ratio = 0.4 }\n[exchange]\nid = "okx"\n'
    )
    monkeypatch.setenv("HEDGEBOT_EXCHANGE__ID", "deribit")  # the environment wins over the file
    s = load_settings(cfg)
    assert s.mode == "testnet"
    assert s.strategy.params == {"hedge_ratio": 0.4}
    assert s.exchange.id == "deribit"


def test_dotenv_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("HEDGEBOT_PAPER__BALANCE_BTC=0.75\n")
    assert load_settings().paper.balance_btc == 0.75


def test_wrong_value_names_the_setting_what_it_got_and_wants(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDGEBOT_RISK__MAX_LEVERAGE", "500")
    with pytest.raises(ConfigError) as err:
        load_settings()
    text = str(err.value)
    assert "risk.max_leverage" in text and "HEDGEBOT_RISK__MAX_LEVERAGE" in text
    assert "'500'" in text and "less than or equal to 125" in text


def test_unknown_keys_are_errors(tmp_path: Path) -> None:
    cfg = tmp_path / "bot.toml"
    cfg.write_text("[exchange]\napi_keyy = 'x'\n")
    with pytest.raises(ConfigError, match=r"unknown setting exchange.api_keyy"):
        load_settings(cfg)
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml")


def test_live_confirm_must_be_the_exact_phrase(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDGEBOT_LIVE_CONFIRM", "yes")
    with pytest.raises(ConfigError, match=LIVE_CONFIRM_PHRASE):
        load_settings()


def test_secrets_are_masked_and_collected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEDGEBOT_EXCHANGE__API_SECRET", "s3cr3t-value-123")
    monkeypatch.setenv("HEDGEBOT_CHAIN__RPC_URLS", '["https://eth.example/v2/KEY-abcdef"]')
    s = load_settings()
    dumped = json.dumps(s.masked())
    assert "s3cr3t-value-123" not in dumped and "KEY-abcdef" not in dumped
    assert set(s.secrets()) == {"s3cr3t-value-123", "https://eth.example/v2/KEY-abcdef"}


def test_env_example_lists_every_setting_and_loads_as_is(tmp_path: Path) -> None:
    example = (REPO / ".env.example").read_text()
    listed = {line.split("=", 1)[0].lstrip("# ") for line in example.splitlines() if "HEDGEBOT_" in line.split("=")[0]}
    assert set(env_var_names()) <= listed
    (tmp_path / ".env").write_text(example)
    s = load_settings()
    assert s.mode == "dry-run" and s.alerts.health_levels == [1.3, 1.15, 1.05]


def test_config_check_cli_exit_codes(tmp_path: Path) -> None:
    ok = subprocess.run(
        [sys.executable, "-m", "bot.cli", "config", "check", "--json"],
        capture_output=True,
        text=True,
        env={"HEDGEBOT_EXCHANGE__API_KEY": "abcdefgh-key", "PATH": ""},
        cwd=tmp_path,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["exchange"]["api_key"] == "**********"
    bad = subprocess.run(
        [sys.executable, "-m", "bot.cli", "config", "check"],
        capture_output=True,
        text=True,
        env={"HEDGEBOT_MODE": "yolo", "PATH": ""},
        cwd=tmp_path,
    )
    assert bad.returncode == 2
    assert "HEDGEBOT_MODE" in bad.stderr and "'yolo'" in bad.stderr


def test_a_mapping_in_the_environment_replaces_the_files(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """B18: HEDGEBOT_STRATEGY__PARAMS='{}' did not clear the TOML file's params (they were merged)."""
    cfg = tmp_path / "bot.toml"
    cfg.write_text('[strategy]\nname = "percentage"\nparams = { hedge_ratio = 0.4, leverage = 6 }\n')
    monkeypatch.setenv("HEDGEBOT_STRATEGY__PARAMS", "{}")
    assert load_settings(cfg).strategy.params == {}
    monkeypatch.setenv("HEDGEBOT_STRATEGY__PARAMS", '{"leverage": 7}')
    assert load_settings(cfg).strategy.params == {"leverage": 7}


def test_the_devnets_own_variables_are_not_unknown_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """HEDGEBOT_AAVE_BUILD (bot/devnet/chain/artifacts.py) once made `hedgebot run` exit 2 as an unknown setting."""
    monkeypatch.setenv("HEDGEBOT_NODE_MODULES", "/elsewhere/node_modules")
    monkeypatch.setenv("HEDGEBOT_AAVE_BUILD", "/elsewhere/build/aave-v3.6")
    load_settings()


def test_an_unknown_variable_is_an_error_with_a_suggestion(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """B12: HEDGEBOT_KILL_CLOSE_HEDGE was silently ignored; a .env typo was named HEDGEBOT_HEDGEBOT_MODEE."""
    monkeypatch.setenv("HEDGEBOT_KILL_CLOSE_HEDGE", "true")
    with pytest.raises(
        ConfigError, match=r"unknown setting HEDGEBOT_KILL_CLOSE_HEDGE.*did you mean HEDGEBOT_KILL_CLOSES_HEDGE"
    ):
        load_settings()
    monkeypatch.delenv("HEDGEBOT_KILL_CLOSE_HEDGE")
    (tmp_path / ".env").write_text("HEDGEBOT_MODEE=testnet\n")
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "unknown setting HEDGEBOT_MODEE" in str(err.value) and "HEDGEBOT_HEDGEBOT" not in str(err.value)


def test_a_typo_is_named_as_written_and_where(tmp_path: Path) -> None:
    """B12: a .env key was reported under a name nobody wrote (HEDGEBOT_HEDGEBOT_MODEE, or `FOO` as
    HEDGEBOT_FOO); a .env key without the prefix (`MODE=testnet`) was silently ignored."""
    env = tmp_path / ".env"
    for line, says in [
        (
            "hedgebot_modee=testnet",
            "unknown setting hedgebot_modee in .env: not a hedgebot setting; did you mean HEDGEBOT_MODE?",
        ),
        ("MODE=testnet", "unknown setting MODE in .env: not a hedgebot setting; did you mean HEDGEBOT_MODE?"),
        ("FOO=bar", "unknown setting FOO in .env: not a hedgebot setting; every setting starts with HEDGEBOT_"),
        (
            "HEDGEBOT_HEDGEBOT_MODEE=x",
            "unknown setting HEDGEBOT_HEDGEBOT_MODEE in .env: not a hedgebot setting; did you mean HEDGEBOT_MODE?",
        ),
    ]:
        env.write_text(line + "\n")
        with pytest.raises(ConfigError) as err:
            load_settings()
        assert says in str(err.value), str(err.value)
    env.unlink()
    cfg = tmp_path / "bot.toml"
    cfg.write_text('[exchange]\napi_keyy = "x"\n')
    with pytest.raises(
        ConfigError, match=r"unknown setting exchange.api_keyy in .*bot.toml: .*did you mean exchange.api_key\?"
    ):
        load_settings(cfg)


def test_the_devnets_own_variables_are_no_unknown_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """HEDGEBOT_AAVE_BUILD (bot/devnet/chain/artifacts.py) made every command fail as an unknown setting."""
    monkeypatch.setenv("HEDGEBOT_AAVE_BUILD", "/elsewhere/build/aave-v3.6")
    monkeypatch.setenv("HEDGEBOT_NODE_MODULES", "/elsewhere/node_modules")
    assert load_settings().mode == "dry-run"
