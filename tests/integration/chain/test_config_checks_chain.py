"""B10-B12 (issue 10) and issue 11's bad guardian input, on the chain: real anvil with real Aave (both
versions). The checks `config check` and `run` share read the chain as the bot does: before them, `run` waited
forever on a provider with no code, a contract that is no provider, or a collateral the Pool does not list,
logging the same read failure each block."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_utils import to_checksum_address as to_checksum
from pydantic import SecretStr

from bot.config import ChainSettings, DefenseSettings, Mode, Settings
from bot.devnet.chain.positions import PositionSpec, fund, open_positions, units
from bot.devnet.chain.rpc import DevRpc
from bot.validation import Report, validate
from tests.integration.chain.guardians import guardian_wallet
from tests.integration.chain.helpers import new_borrower

pytestmark = pytest.mark.integration


def settings_for(devnet: dict[str, Any], **chain: Any) -> Settings:
    fields: dict[str, Any] = {
        "rpc_urls": [SecretStr(devnet["rpc_url"])],
        "pool_addresses_provider": devnet["pool_addresses_provider"],
        "accounts": [devnet["accounts"]["borrower"]["address"]],
        **chain,
    }
    return Settings(http_port=0, chain=ChainSettings(**fields), _env_file=None)  # type: ignore[call-arg]


def checked(settings: Settings, mode: Mode = "dry-run") -> Report:
    return asyncio.run(validate(settings, mode))


def status(report: Report) -> dict[str, str]:
    return {f.check: f.status for f in report.findings}


def the_error(report: Report, check: str, code: int = 2) -> str:
    [error] = report.errors()
    assert error.check == check and report.exit_code() == code, report
    return error.detail


def test_the_devnet_passes_every_check(devnet: dict[str, Any], chain: DevRpc) -> None:
    report = checked(settings_for(devnet))
    assert report.errors() == []
    assert status(report) | {"rpc": "ok"} == {
        "addresses": "ok",
        "strategy": "ok",
        "health levels": "ok",
        "status endpoint": "ok",
        "guardian key": "ok",
        "rpc": "ok",  # a warning when the heartbeat-less devnet's last block is a minute old
        "pool addresses provider": "ok",
        "collateral": "ok",
        "guardian": "skipped",
    }
    collateral = next(f for f in report.findings if f.check == "collateral")
    assert f"{devnet['accounts']['borrower']['address']} holds 10 WETH, HF 1.500" in collateral.detail


def test_a_provider_without_code_is_refused(devnet: dict[str, Any], chain: DevRpc) -> None:
    eoa = devnet["accounts"]["supplier"]["address"]
    detail = the_error(checked(settings_for(devnet, pool_addresses_provider=eoa)), "pool addresses provider")
    assert detail == (
        "setting chain.pool_addresses_provider (HEDGEBOT_CHAIN__POOL_ADDRESSES_PROVIDER): "
        f"{eoa} has no contract on this chain: not a PoolAddressesProvider"
    )


def test_a_contract_that_does_not_answer_get_pool_is_refused(devnet: dict[str, Any], chain: DevRpc) -> None:
    token = devnet["reserves"]["USDC"]["address"]
    report = checked(settings_for(devnet, pool_addresses_provider=token))
    assert f"{token} does not answer getPool(): not a PoolAddressesProvider" in the_error(
        report, "pool addresses provider"
    )
    assert status(report)["collateral"] == "skipped"


def test_a_collateral_the_pool_does_not_list_is_named(devnet: dict[str, Any], chain: DevRpc) -> None:
    detail = the_error(checked(settings_for(devnet, collateral_asset="DOGE")), "collateral")
    assert detail.startswith(f"HEDGEBOT_CHAIN__COLLATERAL_ASSET=DOGE: the Pool at {devnet['pool']} does not list DOGE")
    assert detail.endswith("it lists WETH, WBTC, USDC, wstETH, weETH")


def test_an_account_holding_none_of_the_collateral_is_hedged_whole_with_a_warning(
    devnet: dict[str, Any], chain: DevRpc
) -> None:
    borrower = new_borrower(chain, devnet, {"WBTC": 1.0}, {"USDC": 10_000.0})
    report = checked(settings_for(devnet, accounts=[borrower]))
    assert report.errors() == [] and status(report)["collateral"] == "warning"
    [finding] = [f for f in report.findings if f.check == "collateral"]
    assert finding.detail == (
        f"account {borrower} has no WETH collateral (it has: WBTC): the whole account is hedged, and its "
        "largest collateral, WBTC, drives the collateral trigger"
    )


def test_an_account_with_no_collateral_is_refused(devnet: dict[str, Any], chain: DevRpc) -> None:
    nobody = "0x" + "00" * 19 + "7b"  # an address that never supplied anything
    detail = the_error(checked(settings_for(devnet, accounts=[to_checksum(nobody)])), "collateral")
    assert detail == f"account {to_checksum(nobody)} has no collateral: nothing to hedge"


def test_no_rpc_answering_is_an_environment_error(devnet: dict[str, Any], tmp_path: Path) -> None:
    report = checked(settings_for(devnet, rpc_urls=[SecretStr("http://127.0.0.1:9/v2/KEY-abc")]))
    assert "no RPC URL answered" in the_error(report, "rpc", code=1)
    assert "KEY-abc" not in report.errors()[0].detail
    assert [status(report)[c] for c in ("pool addresses provider", "collateral", "guardian")] == ["skipped"] * 3


def with_guardian(settings: Settings, key: str, **defense: Any) -> Settings:
    return settings.model_copy(update={"defense": DefenseSettings(private_key=SecretStr(key), **defense)})


def test_a_guardian_asset_the_pool_does_not_list_is_named(devnet: dict[str, Any], chain: DevRpc) -> None:
    wallet = guardian_wallet(chain, devnet)
    detail = the_error(checked(with_guardian(settings_for(devnet), wallet.key, asset="DAI")), "guardian")
    assert detail == (
        f"HEDGEBOT_DEFENSE__ASSET=DAI: the Pool at {devnet['pool']} does not list DAI; it lists WETH, WBTC, USDC, "
        "wstETH, weETH"
    )


@pytest.mark.parametrize("lacks", ["reserve", "gas"])
def test_a_guardian_without_reserve_or_gas_is_a_warning(devnet: dict[str, Any], chain: DevRpc, lacks: str) -> None:
    """Said clearly at start; not an error: the bot hedges on without a defense."""
    wallet = guardian_wallet(chain, devnet, usdc=0 if lacks == "reserve" else 50_000)
    if lacks == "gas":
        chain.call("anvil_setBalance", wallet.address, "0x0")
    report = checked(with_guardian(settings_for(devnet), wallet.key), "testnet")
    assert report.errors() == [] and report.exit_code() == 0
    [warning] = report.warnings() if status(report)["rpc"] == "ok" else report.warnings()[1:]
    assert warning.check == "guardian" and warning.detail.endswith("hedging goes on without it")
    says = "holds no USDC" if lacks == "reserve" else "less than one defense's gas"
    assert says in warning.detail and wallet.key not in warning.detail


def test_a_funded_guardian_passes(devnet: dict[str, Any], chain: DevRpc) -> None:
    wallet = guardian_wallet(chain, devnet)
    report = checked(with_guardian(settings_for(devnet), wallet.key), "testnet")
    assert status(report)["guardian"] == "ok"


def test_the_borrowers_own_key_is_allowed_with_a_warning(devnet: dict[str, Any], chain: DevRpc) -> None:
    own = Account.create()
    fund(chain, [own.address])
    open_positions(chain, devnet, [PositionSpec(own.address, {"WETH": units(10, 18)}, {"USDC": units(16_600, 6)})])
    key = "0x" + bytes(own.key).hex()
    report = checked(with_guardian(settings_for(devnet, accounts=[own.address]), key))
    assert report.errors() == [] and status(report)["guardian"] == "ok"  # its borrowed USDC is its reserve
    assert status(report)["guardian key"] == "warning"


def env_of(devnet: dict[str, Any], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEBOT_")}
    env.update(
        HEDGEBOT_CHAIN__RPC_URLS=json.dumps([devnet["rpc_url"]]),
        HEDGEBOT_CHAIN__POOL_ADDRESSES_PROVIDER=devnet["pool_addresses_provider"],
        HEDGEBOT_CHAIN__ACCOUNTS=json.dumps([devnet["accounts"]["borrower"]["address"]]),
        HEDGEBOT_HTTP_PORT="0",
        HEDGEBOT_STRATEGY__WARMUP_DAYS="0",
    )
    env.update(extra)
    return env


def cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=120)  # fmt: skip


def test_config_check_says_which_checks_it_ran(devnet: dict[str, Any], chain: DevRpc, tmp_path: Path) -> None:
    online = cli(["config", "check"], env_of(devnet), tmp_path)
    assert online.returncode == 0, online.stderr
    assert "checks, offline and on-chain:" in online.stdout
    assert "ok       pool addresses provider  a contract; getPool() = " + devnet["pool"] in online.stdout
    offline = cli(["config", "check", "--offline"], env_of(devnet, HEDGEBOT_CHAIN__COLLATERAL_ASSET="DOGE"), tmp_path)
    assert offline.returncode == 0, offline.stderr  # the chain is not read: the unknown collateral goes unseen
    assert "skipped  collateral               --offline" in offline.stdout
    bad = cli(["config", "check"], env_of(devnet, HEDGEBOT_CHAIN__COLLATERAL_ASSET="DOGE"), tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.splitlines() == [
        f"hedgebot: error: HEDGEBOT_CHAIN__COLLATERAL_ASSET=DOGE: the Pool at {devnet['pool']} does not list DOGE; "
        "it lists WETH, WBTC, USDC, wstETH, weETH"
    ]


@pytest.mark.parametrize("case", ["provider without code", "unknown collateral"])
def test_run_exits_2_instead_of_waiting_forever(
    devnet: dict[str, Any], chain: DevRpc, tmp_path: Path, case: str
) -> None:
    if case == "provider without code":
        extra = {"HEDGEBOT_CHAIN__POOL_ADDRESSES_PROVIDER": devnet["accounts"]["supplier"]["address"]}
        named = "HEDGEBOT_CHAIN__POOL_ADDRESSES_PROVIDER): "
    else:
        extra = {"HEDGEBOT_CHAIN__COLLATERAL_ASSET": "DOGE"}
        named = "HEDGEBOT_CHAIN__COLLATERAL_ASSET=DOGE: the Pool at"
    out = cli(["run", "--mode", "dry-run"], env_of(devnet, **extra), tmp_path)
    assert out.returncode == 2, out.stderr[-2000:]
    assert "Traceback" not in out.stderr
    last = out.stderr.splitlines()[-1]
    assert last.startswith("hedgebot: error: could not start: ") and named in last
