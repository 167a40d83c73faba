"""The devnet's Aave V3 market, running: anvil with the market deployed, funded and a demo borrower open
(start_devnet), the devnet.json that describes it (load_devnet), and its oracle prices (set_price)."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from eth_account import Account

from bot.devnet.chain.anvil import CHAIN_ID, DEV_MNEMONIC, Anvil
from bot.devnet.chain.artifacts import AAVE_VERSIONS, aave_artifact
from bot.devnet.chain.deploy import RESERVES, emodes_json
from bot.devnet.chain.feeds import ANSWER_SLOT, FEED_DECIMALS, update_answer_calldata
from bot.devnet.chain.positions import PositionSpec, open_positions, units
from bot.devnet.chain.rpc import DevRpc
from bot.errors import UsageError

ROLES = ("admin", "supplier", "borrower", "liquidator")
# The demo borrower: 10 WETH at 3,000 USD, LT 83 %, 16,600 USDC of debt -> HF = 24,900 / 16,600 = 1.5.
DEMO_COLLATERAL_WETH = 10.0
DEMO_DEBT_USDC = 16_600.0


def dev_accounts(count: int = 10) -> list[dict[str, str]]:
    """anvil's default dev accounts with their (public) private keys."""
    Account.enable_unaudited_hdwallet_features()
    out = []
    for i in range(count):
        acct = Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}")
        out.append({"address": acct.address, "private_key": "0x" + bytes(acct.key).hex()})
    return out


def write_json_atomic(path: Path, data: Any) -> None:
    """Writes `data` to `path` so a reader sees the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def deploy_market(rpc: DevRpc, accounts: list[str], aave: str = AAVE_VERSIONS[0]) -> dict[str, Any]:
    """Deploys Aave `aave` ("3.6" or "3.0") with accounts[0] as admin; its addresses, reserves and e-modes."""
    if aave == "3.6":
        from bot.devnet.chain.aave_v36 import deploy

        aave_artifact("PoolInstance", "3.6")  # a missing build fails here, before anything is sent
    elif aave == "3.0":
        from bot.devnet.chain.aave_v30 import deploy
    else:
        raise UsageError(f"Aave {aave} is not on the devnet: choose one of {', '.join(AAVE_VERSIONS)}")
    return {"aave_version": aave, **deploy(rpc, accounts), "emodes": emodes_json()}


def setup_market(rpc: DevRpc, rpc_url: str, ws_url: str, aave: str = AAVE_VERSIONS[0]) -> dict[str, Any]:
    """Deploys Aave `aave` on a fresh node, funds the pool and opens the demo borrower; devnet.json's content."""
    accounts = dev_accounts()
    roles = dict(zip(ROLES, accounts, strict=False))
    market = deploy_market(rpc, [a["address"] for a in accounts], aave)
    decimals = {r.symbol: r.decimals for r in RESERVES}
    supplier = PositionSpec(
        roles["supplier"]["address"],
        supply={"USDC": units(50_000_000, 6), "WETH": units(10_000, 18), "WBTC": units(500, 8)},
    )
    borrower = PositionSpec(
        roles["borrower"]["address"],
        supply={"WETH": units(DEMO_COLLATERAL_WETH, decimals["WETH"])},
        borrow={"USDC": units(DEMO_DEBT_USDC, decimals["USDC"])},
    )
    open_positions(rpc, market, [supplier])
    open_positions(rpc, market, [borrower])
    return {
        "rpc_url": rpc_url,
        "ws_url": ws_url,
        "chain_id": CHAIN_ID,
        **market,
        "accounts": roles,
        "dev_accounts": accounts,
        "price_decimals": FEED_DECIMALS,
    }


@dataclass
class RunningDevnet:
    """anvil with the market on it; `info` is what devnet.json holds."""

    anvil: Anvil
    info: dict[str, Any]

    @property
    def rpc(self) -> DevRpc:
        return DevRpc(self.anvil.url)

    def stop(self) -> None:
        self.anvil.stop()

    def __enter__(self) -> RunningDevnet:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def start_devnet(
    port: int = 8545, out: Path | None = None, host: str = "127.0.0.1", aave: str = AAVE_VERSIONS[0]
) -> RunningDevnet:
    """Starts anvil, deploys Aave `aave` ("3.6" or "3.0") and funds it, writes `out` (if given); the caller stops it."""
    if aave not in AAVE_VERSIONS:
        raise UsageError(f"Aave {aave} is not on the devnet: choose one of {', '.join(AAVE_VERSIONS)}")
    anvil = Anvil(port=port, host=host)
    anvil.start()
    try:
        info = setup_market(DevRpc(anvil.url), anvil.url, anvil.ws_url, aave)
        if out is not None:
            write_json_atomic(out, info)
    except BaseException:
        anvil.stop()
        raise
    return RunningDevnet(anvil, info)


def load_devnet(path: Path) -> dict[str, Any]:
    """devnet.json's content; UsageError when it is missing or not one."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist: start the devnet with `hedgebot devnet up --out {path}`") from None
    except ValueError as exc:
        raise UsageError(f"{path} is not a devnet.json: {exc}") from None
    if not isinstance(data, dict) or "reserves" not in data or "rpc_url" not in data:
        raise UsageError(f"{path} is not a devnet.json written by `hedgebot devnet up`")
    return data


def set_price(info: dict[str, Any], symbol: str, price_usd: float, mine: bool = True) -> int:
    """Moves the USD feed of `symbol`; returns the new answer (8 decimals).

    With `mine` it sends updateAnswer, a transaction that also stamps the round's time, as an oracle
    update would. Without, it writes the answer's storage slot directly: no block is mined and time
    does not move, which tests use to probe a boundary without interest accruing meanwhile.
    """
    reserves = info["reserves"]
    if symbol not in reserves:
        raise UsageError(f"unknown asset {symbol}: the devnet lists {', '.join(sorted(reserves))}")
    if not price_usd > 0:
        raise UsageError(f"price must be positive, got {price_usd}")
    scale: int = 10**FEED_DECIMALS
    answer = round(price_usd * scale)
    set_answer(DevRpc(info["rpc_url"]), info, symbol, answer, mine)
    return answer


def set_answer(rpc: DevRpc, info: dict[str, Any], symbol: str, answer: int, mine: bool = True) -> None:
    """Sets the raw feed answer (8 decimals) of `symbol`; see set_price."""
    feed = info["reserves"][symbol]["price_feed"]
    if mine:
        tx = {"from": info["accounts"]["admin"]["address"], "to": feed, "data": update_answer_calldata(answer),
              "gas": hex(100_000)}  # fmt: skip
        rpc.wait_receipts([rpc.call("eth_sendTransaction", tx)])
    else:
        rpc.call(
            "anvil_setStorageAt",
            feed,
            "0x" + ANSWER_SLOT.to_bytes(32, "big").hex(),
            "0x" + answer.to_bytes(32, "big").hex(),
        )
