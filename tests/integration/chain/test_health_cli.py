"""`hedgebot health` and `hedgebot devnet set-price` as a user runs them, against the shared devnet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.devnet.chain.anvil import free_port
from bot.devnet.chain.rpc import DevRpc

pytestmark = pytest.mark.integration


def hedgebot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=60)


def health(devnet: dict[str, Any], *accounts: str, provider: str | None = None, rpc: str | None = None):  # type: ignore[no-untyped-def]
    args = ["health", "--rpc", rpc or devnet["rpc_url"], "--pool-addresses-provider",
            provider or devnet["pool_addresses_provider"], "--timeout", "3", "--json"]  # fmt: skip
    for account in accounts:
        args += ["--account", account]
    return hedgebot(*args)


def test_health_json_lists_each_account_with_its_collaterals_and_debts(devnet: dict[str, Any], chain: DevRpc) -> None:
    borrower = devnet["accounts"]["borrower"]["address"]
    idle = devnet["accounts"]["liquidator"]["address"]
    done = health(devnet, borrower, idle)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert [r["account"] for r in rows] == [borrower, idle]
    for row in rows:
        assert {"account", "health_factor", "total_collateral_usd", "total_debt_usd", "collaterals", "debts"} <= set(
            row
        )
    weth = rows[0]["collaterals"][0]
    assert set(weth) >= {"symbol", "address", "amount", "price_usd", "liquidation_threshold", "liquidation_price_usd"}
    # Other tests borrow WETH from the same devnet: the demo borrower's 10 WETH earn a little interest.
    assert weth["symbol"] == "WETH" and weth["amount"] == pytest.approx(10, rel=1e-9)
    assert weth["liquidation_threshold"] == 0.83
    assert rows[0]["health_factor"] == pytest.approx(1.5, abs=1e-6)
    assert weth["liquidation_price_usd"] == pytest.approx(2000, rel=1e-6)
    assert rows[0]["debts"][0]["symbol"] == "USDC"
    # What `run` hedges at the class betas: 10 WETH at 1.1, the USDC debt at 0.
    assert (weth["beta"], rows[0]["debts"][0]["beta"]) == (1.1, 0.0)
    assert rows[0]["net_delta_usd"] == pytest.approx(10 * 3_000 * 1.1, rel=1e-6)
    assert rows[0]["matches_chain"] is True and rows[0]["aave_release"] == devnet["aave_version"]
    assert rows[1]["health_factor"] == "Infinity"  # no debt
    assert rows[1]["collaterals"] == [] and rows[1]["debts"] == []


def test_set_price_moves_the_oracle_the_health_command_reads(
    devnet: dict[str, Any], chain: DevRpc, tmp_path: Path
) -> None:
    path = tmp_path / "devnet.json"
    path.write_text(json.dumps(devnet))
    done = hedgebot("devnet", "set-price", "--asset", "WETH", "--usd", "2490", "--devnet", str(path))
    assert done.returncode == 0, done.stderr
    row = json.loads(health(devnet, devnet["accounts"]["borrower"]["address"]).stdout)[0]
    assert row["collaterals"][0]["price_usd"] == 2490
    assert row["health_factor"] == pytest.approx(1.5 * 2490 / 3000, abs=1e-6)


def test_a_supplier_without_debt_has_no_liquidation_price(devnet: dict[str, Any], chain: DevRpc) -> None:
    row = json.loads(health(devnet, devnet["accounts"]["supplier"]["address"]).stdout)[0]
    assert row["health_factor"] == "Infinity"
    assert {c["symbol"] for c in row["collaterals"]} == {"WETH", "WBTC", "USDC"}
    assert all(c["liquidation_price_usd"] is None for c in row["collaterals"])


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("unreachable", "cannot reach the RPC"),
        ("not-a-provider", "not a PoolAddressesProvider"),
        ("token-not-a-provider", "not a PoolAddressesProvider"),
        ("malformed-account", "is not an account address"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(devnet: dict[str, Any], case: str, message: str) -> None:
    borrower = devnet["accounts"]["borrower"]["address"]
    if case == "unreachable":
        done = health(devnet, borrower, rpc=f"http://127.0.0.1:{free_port()}")
    elif case == "not-a-provider":
        done = health(devnet, borrower, provider=borrower)  # an account, no code
    elif case == "token-not-a-provider":
        done = health(devnet, borrower, provider=devnet["reserves"]["WETH"]["address"])
    else:
        done = health(devnet, "0x1234")
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_set_price_of_an_unknown_asset_exits_2(devnet: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "devnet.json"
    path.write_text(json.dumps(devnet))
    done = hedgebot("devnet", "set-price", "--asset", "DOGE", "--usd", "1", "--devnet", str(path))
    assert done.returncode == 2 and "unknown asset DOGE" in done.stderr
    missing = hedgebot("devnet", "set-price", "--asset", "WETH", "--usd", "1", "--devnet", str(tmp_path / "nope.json"))
    assert missing.returncode == 2 and "devnet up" in missing.stderr
