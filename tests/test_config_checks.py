"""B10-B12 (issue 10), offline: the deep checks `config check` and `run` share refuse each bad setting with one
line naming it, exit 2, never a traceback. Each of these passed `config check` before (exit 0)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from eth_account import Account

from bot.config import load_settings
from bot.validation import Report, validate

BORROWER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
KEY = "0x" + "11" * 32  # a well-formed key of no one's


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("HEDGEBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def check(**env: str) -> Report:
    """The offline checks on the settings `env` gives (as HEDGEBOT_* variables), as `config check --offline`."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        settings = load_settings()
    return asyncio.run(validate(settings, settings.mode, online=False))


def only_error(report: Report) -> str:
    [error] = report.errors()
    assert report.exit_code() == 2
    return f"{error.check}: {error.detail}"


def test_defaults_pass_and_every_check_is_listed() -> None:
    report = check()
    assert report.errors() == [] and report.exit_code() == 0
    assert [(f.check, f.status) for f in report.findings] == [
        ("addresses", "ok"),
        ("strategy", "ok"),
        ("health levels", "ok"),
        ("status endpoint", "ok"),
        ("guardian key", "ok"),
        ("rpc", "skipped"),
        ("pool addresses provider", "skipped"),
        ("collateral", "skipped"),
        ("guardian", "skipped"),
    ]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ('["0x123"]', "'0x123' is not an address: want 0x followed by 40 hex digits"),
        (f'["{BORROWER.lower()}"]', f"is not checksummed: write it as {BORROWER}"),
        (f'["{BORROWER[:-1]}c"]', "fails its EIP-55 checksum: a character is mistyped"),
    ],
    ids=["malformed", "not checksummed", "wrong checksum"],
)
def test_an_account_that_is_no_checksummed_address_names_the_setting(value: str, says: str) -> None:
    text = only_error(check(HEDGEBOT_CHAIN__ACCOUNTS=value))
    assert text.startswith("addresses: setting chain.accounts (HEDGEBOT_CHAIN__ACCOUNTS): ") and says in text


def test_a_provider_that_is_no_address_names_the_setting() -> None:
    text = only_error(check(HEDGEBOT_CHAIN__POOL_ADDRESSES_PROVIDER="aave-v3-mainnet"))
    assert "HEDGEBOT_CHAIN__POOL_ADDRESSES_PROVIDER): 'aave-v3-mainnet' is not an address" in text


def test_an_unknown_strategy_suggests_the_close_one() -> None:
    text = only_error(check(HEDGEBOT_STRATEGY__NAME="dynamc"))
    assert "HEDGEBOT_STRATEGY__NAME): unknown strategy 'dynamc': did you mean 'dynamic'?" in text


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ('{"leverage": 500}', "leverage: got 500, Input should be less than or equal to 20"),
        ('{"leverge": 3}', "leverge: unknown parameter (did you mean 'leverage'?)"),
        ('{"max_ratio": -1}', "max_ratio: got -1"),
    ],
    ids=["above its bound", "misspelt", "below its bound"],
)
def test_strategy_params_are_known_names_within_bounds(params: str, says: str) -> None:
    text = only_error(check(HEDGEBOT_STRATEGY__PARAMS=params))
    assert "setting strategy.params (HEDGEBOT_STRATEGY__PARAMS): strategy dynamic: " in text and says in text


@pytest.mark.parametrize(
    ("levels", "says"),
    [
        ("[0.5, 7]", ["0.5 is not above 1", "7.0 is above 3.0", "from highest to lowest"]),
        ("[1.05, 1.3]", ["from highest to lowest"]),
        ("[1.3, 1.3]", ["each once"]),
    ],
)
def test_health_levels_are_in_range_and_ordered(levels: str, says: list[str]) -> None:
    text = only_error(check(HEDGEBOT_ALERTS__HEALTH_LEVELS=levels))
    assert "setting alerts.health_levels (HEDGEBOT_ALERTS__HEALTH_LEVELS): got [" in text
    assert all(s in text for s in says), text


def test_a_public_bind_needs_a_token() -> None:
    text = only_error(check(HEDGEBOT_HTTP_HOST="0.0.0.0"))
    assert "HEDGEBOT_HTTP_HOST=0.0.0.0 exposes the status endpoint beyond this machine: set HEDGEBOT_HTTP_TOKEN" in text
    assert check(HEDGEBOT_HTTP_HOST="0.0.0.0", HEDGEBOT_HTTP_TOKEN="t" * 24).errors() == []
    assert check(HEDGEBOT_HTTP_HOST="0.0.0.0", HEDGEBOT_HTTP_PORT="0").errors() == []  # off: nothing is exposed


def test_a_malformed_guardian_key_is_named_and_never_shown() -> None:
    text = only_error(check(HEDGEBOT_DEFENSE__PRIVATE_KEY="0xdeadbeef-not-a-key"))
    assert "HEDGEBOT_DEFENSE__PRIVATE_KEY is not a private key" in text and "deadbeef" not in text


def test_the_borrowers_own_key_as_guardian_is_allowed_with_a_warning() -> None:
    own = Account.create()
    key = "0x" + bytes(own.key).hex()
    report = check(HEDGEBOT_DEFENSE__PRIVATE_KEY=key, HEDGEBOT_CHAIN__ACCOUNTS=f'["{own.address}"]')
    assert report.errors() == [] and report.exit_code() == 0
    [warning] = report.warnings()
    assert warning.check == "guardian key" and "the borrower's own key" in warning.detail and key not in warning.detail
    other = check(HEDGEBOT_DEFENSE__PRIVATE_KEY=KEY, HEDGEBOT_CHAIN__ACCOUNTS=f'["{BORROWER}"]')
    assert other.warnings() == []


def test_every_error_is_reported_at_once() -> None:
    report = check(HEDGEBOT_CHAIN__ACCOUNTS='["0x123"]', HEDGEBOT_ALERTS__HEALTH_LEVELS="[0.5]")
    assert [f.check for f in report.errors()] == ["addresses", "health levels"]
    assert [f.status for f in report.findings[5:]] == ["skipped"] * 4  # no chain read on settings known wrong


def cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), **env},
        cwd=cwd,
        timeout=120,
    )


CASES = {
    "accounts": ({"HEDGEBOT_CHAIN__ACCOUNTS": '["0x123"]'}, "HEDGEBOT_CHAIN__ACCOUNTS"),
    "strategy": ({"HEDGEBOT_STRATEGY__NAME": "dynamc"}, "did you mean 'dynamic'"),
    "params": ({"HEDGEBOT_STRATEGY__PARAMS": '{"leverage": 500}'}, "HEDGEBOT_STRATEGY__PARAMS"),
    "levels": ({"HEDGEBOT_ALERTS__HEALTH_LEVELS": "[0.5, 7]"}, "HEDGEBOT_ALERTS__HEALTH_LEVELS"),
    "bind": ({"HEDGEBOT_HTTP_HOST": "0.0.0.0"}, "HEDGEBOT_HTTP_TOKEN"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_config_check_exits_2_with_one_line_naming_the_setting(case: str, tmp_path: Path) -> None:
    env, named = CASES[case]
    out = cli(["config", "check", "--offline"], env, tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    [line] = out.stderr.splitlines()
    assert line.startswith("hedgebot: error: ") and named in line
    assert "checks, offline only (--offline):" in out.stdout


@pytest.mark.parametrize("case", list(CASES))
def test_run_exits_2_with_one_line_naming_the_setting(case: str, tmp_path: Path) -> None:
    """`run` stops on the same checks before it connects to anything (the levels were a ValueError, exit 1)."""
    env, named = CASES[case]
    out = cli(["run", "--mode", "dry-run"], {**env, "HEDGEBOT_LOG__LEVEL": "warning"}, tmp_path)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert out.stderr.splitlines()[-1].startswith("hedgebot: error: could not start: ") and named in out.stderr


def test_config_check_json_lists_the_checks(tmp_path: Path) -> None:
    import json

    out = cli(["config", "check", "--offline", "--json"], {}, tmp_path)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["mode"] == "dry-run"
    assert {c["check"]: c["status"] for c in doc["checks"]}["strategy"] == "ok"
