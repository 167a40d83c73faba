"""Bad guardian settings on a real chain: no reserve or no gas (said and alerted, the bot hedges on), the
borrower's own key (allowed, with a warning), an asset the Pool does not list (`hedgebot run` exits 2)."""

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

from bot.devnet.chain.market import dev_accounts
from bot.devnet.chain.positions import PositionSpec, fund, open_positions, units
from bot.devnet.chain.rpc import DevRpc
from bot.devnet.exchange import DEFAULT_API_KEY, DEFAULT_API_SECRET, ExchangeServer
from bot.domain.alerts import Alert, AlertKind, Severity
from bot.domain.defense import DefensePolicy, GuardianView
from bot.errors import ConfigError
from tests.integration.chain.guardians import close, guardian_wallet, make_guardian, started, usdc_balance
from tests.integration.chain.helpers import new_borrower

pytestmark = pytest.mark.integration


async def start_view(
    devnet: dict[str, Any], borrower: str, key: str, db: Path, policy: DefensePolicy | None = None
) -> tuple[GuardianView, list[Alert]]:
    guardian = make_guardian(devnet, borrower, key, policy=policy)
    alerts: list[Alert] = []
    journal = await started(guardian, db, alerts)
    try:
        return await guardian.view(), alerts
    finally:
        await close(guardian, journal)


def test_a_guardian_without_a_reserve_says_so_and_does_not_stop_the_start(
    devnet: dict[str, Any], chain: DevRpc, tmp_path: Path
) -> None:
    borrower = new_borrower(chain, devnet, {"WETH": 10.0}, {"USDC": 16_600.0})
    empty = guardian_wallet(chain, devnet, usdc=0)
    view, alerts = asyncio.run(start_view(devnet, borrower, empty.key, tmp_path / "r.sqlite"))
    assert not view.enabled
    assert view.problem == f"the guardian {empty.address} holds no USDC: send it a reserve to defend with"
    assert [(a.kind, a.severity) for a in alerts] == [(AlertKind.DEFENSE, Severity.CRITICAL)]
    assert "holds no USDC" in alerts[0].message


def test_a_guardian_without_gas_says_so(devnet: dict[str, Any], chain: DevRpc, tmp_path: Path) -> None:
    borrower = new_borrower(chain, devnet, {"WETH": 10.0}, {"USDC": 16_600.0})
    wallet = guardian_wallet(chain, devnet)
    chain.call("anvil_setBalance", wallet.address, "0x0")
    view, alerts = asyncio.run(start_view(devnet, borrower, wallet.key, tmp_path / "g.sqlite"))
    assert not view.enabled
    assert view.problem is not None and "less than one defense's gas" in view.problem
    assert view.reserve == 50_000 * 10**6  # the reserve is there; only the gas is missing
    assert alerts and alerts[0].key == "defense-unavailable"


def test_the_borrowers_own_key_is_allowed_with_a_warning(devnet: dict[str, Any], chain: DevRpc, tmp_path: Path) -> None:
    own = Account.create()
    fund(chain, [own.address])
    spec = PositionSpec(own.address, supply={"WETH": units(10, 18)}, borrow={"USDC": units(16_600, 6)})
    open_positions(chain, devnet, [spec])
    key = "0x" + bytes(own.key).hex()
    view, _ = asyncio.run(start_view(devnet, own.address, key, tmp_path / "o.sqlite"))
    assert view.enabled and view.asset_symbol == "USDC"  # the borrowed USDC is its reserve
    # The warning is the start-up checks' (bot.validation), which `run` logs before the guardian starts:
    # test_the_borrowers_own_key_as_guardian_is_allowed_with_a_warning in tests/test_config_checks.py.


def test_an_asset_the_pool_does_not_list_is_a_config_error(
    devnet: dict[str, Any], chain: DevRpc, tmp_path: Path
) -> None:
    borrower = new_borrower(chain, devnet, {"WETH": 10.0}, {"USDC": 16_600.0})
    wallet = guardian_wallet(chain, devnet)
    named = r"HEDGEBOT_DEFENSE__ASSET=DAI: the Pool at 0x\w+ does not list DAI; it lists"
    with pytest.raises(ConfigError, match=named):
        asyncio.run(start_view(devnet, borrower, wallet.key, tmp_path / "a.sqlite", DefensePolicy(asset="DAI")))


async def test_hedgebot_run_exits_2_naming_an_unlisted_asset(
    devnet: dict[str, Any], chain: DevRpc, tmp_path: Path
) -> None:
    wallet = guardian_wallet(chain, devnet)
    server = ExchangeServer(port=0, balance_btc=1.0, mark_price=60_000.0)
    url = await server.start()
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEDGEBOT_")}
        env.update(
            HEDGEBOT_EXCHANGE__API_URL=url,
            HEDGEBOT_EXCHANGE__API_KEY=DEFAULT_API_KEY,
            HEDGEBOT_EXCHANGE__API_SECRET=DEFAULT_API_SECRET,
            HEDGEBOT_CHAIN__RPC_URLS=f'["{devnet["rpc_url"]}"]',
            HEDGEBOT_CHAIN__POOL_ADDRESSES_PROVIDER=devnet["pool_addresses_provider"],
            HEDGEBOT_CHAIN__ACCOUNTS=f'["{devnet["accounts"]["borrower"]["address"]}"]',
            HEDGEBOT_HTTP_PORT="0",
            HEDGEBOT_STRATEGY__WARMUP_DAYS="0",
            HEDGEBOT_DEFENSE__PRIVATE_KEY=wallet.key,
            HEDGEBOT_DEFENSE__ASSET="DAI",
        )
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "run", "--mode", "testnet",
            cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, err = await asyncio.wait_for(proc.communicate(), timeout=120)
    finally:
        await server.stop()
    lines = err.decode().splitlines()
    assert proc.returncode == 2, "\n".join(lines)
    assert wallet.key not in err.decode()
    assert lines[-1].startswith("hedgebot: error: could not start: HEDGEBOT_DEFENSE__ASSET=DAI")
    assert "does not list DAI; it lists WETH, WBTC, USDC" in lines[-1]


def test_devnet_guardian_funds_a_wallet_and_prints_its_key(
    devnet: dict[str, Any], chain: DevRpc, tmp_path: Path
) -> None:
    path = tmp_path / "devnet.json"
    path.write_text(json.dumps(devnet))
    cmd = [sys.executable, "-m", "bot.cli", "devnet", "guardian", "--devnet", str(path), "--amount", "1234"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.splitlines()
    account = dev_accounts()[5]
    assert out[0].startswith(f"# guardian {account['address']} holds ")
    assert out[1] == f"export HEDGEBOT_DEFENSE__PRIVATE_KEY={account['private_key']}"
    assert usdc_balance(chain, devnet, account["address"]) >= 1234 * 10**6
