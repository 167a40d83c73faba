"""`hedgebot plan`: the seed's Example 1, the margin's delta, and clear errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = [
    "plan",
    "--collateral-asset",
    "ETH",
    "--collateral-amount",
    "3.3333333",
    "--collateral-price",
    "3000",
    "--debt-usd",
    "6000",
    "--liquidation-threshold",
    "0.825",
    "--btc-price",
    "60000",
    "--exchange",
    "binancecoinm",
    "--strategy",
    "percentage",
    "--param",
    "hedge_ratio=0.5",
    "--margin-btc",
    "0",
    "--beta",
    "1",
]


def hedgebot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=60)


def with_arg(args: list[str], flag: str, value: str) -> list[str]:
    out = list(args)
    out[out.index(flag) + 1] = value
    return out


def test_seed_example_one() -> None:
    result = hedgebot(*EXAMPLE, "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["hedge_usd"] == pytest.approx(5_000, abs=0.01)
    assert plan["contracts"] == 50
    assert plan["contract_size_usd"] == 100
    assert plan["order_notional_usd"] == 5_000
    assert plan["btc_equivalent"] == pytest.approx(0.0833, abs=1e-4)
    assert plan["margin_btc"] == 0
    assert plan["leverage"] == 5
    assert plan["defi_health_factor"] == pytest.approx(10_000 * 0.825 / 6_000, rel=1e-6)
    assert plan["defi_liquidation_price"] == pytest.approx(6_000 / (3.3333333 * 0.825), rel=1e-9)
    assert plan["stop_price"] > 60_000
    assert plan["hedge_liquidation_price"] > plan["stop_price"]  # the stop fires before the hedge is liquidated
    assert plan["funding_per_day_btc"] == pytest.approx(3 * 0.0001 * 5_000 / 60_000)


def test_margin_adds_its_delta_to_the_order() -> None:
    plan = json.loads(hedgebot(*with_arg(EXAMPLE, "--margin-btc", "0.05"), "--json").stdout)
    assert plan["contracts"] == 80  # 0.05 * 60,000 / 100 = 30 more
    assert plan["net_delta_usd"] == pytest.approx(-5_000)


@pytest.mark.parametrize(("exchange", "contracts"), [("bybit", 5_000), ("okx", 50), ("deribit", 500)])
def test_other_venues(exchange: str, contracts: int) -> None:
    plan = json.loads(hedgebot(*with_arg(EXAMPLE, "--exchange", exchange), "--json").stdout)
    assert plan["contracts"] == contracts


def test_readable_table() -> None:
    result = hedgebot(*EXAMPLE)
    assert result.returncode == 0
    assert "contracts" in result.stdout and "50" in result.stdout and "stop" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (with_arg(EXAMPLE, "--collateral-amount", "-1"), "--collateral-amount must be positive"),
        (with_arg(EXAMPLE, "--liquidation-threshold", "1.2"), "--liquidation-threshold must be a fraction"),
        (with_arg(EXAMPLE, "--exchange", "bitmex"), "unknown exchange 'bitmex'"),
        (with_arg(EXAMPLE, "--strategy", "yolo"), "unknown strategy 'yolo'"),
        (with_arg(EXAMPLE, "--param", "hedge_ration=0.5"), "unknown parameter"),
        (with_arg(EXAMPLE, "--param", "hedge_ratio"), "NAME=VALUE"),
    ],
)
def test_bad_input_exits_2_with_a_clear_message(args: list[str], message: str) -> None:
    result = hedgebot(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_a_strategy_that_raises_is_named_in_one_line_not_a_traceback(tmp_path: Path) -> None:
    """B8: a strategy that raises or returns garbage gave a traceback in `plan`."""
    plugin = tmp_path / "bad.py"
    plugin.write_text(
        "from strategies.base import HedgePlan, Snapshot, Strategy, StrategyParams\n"
        "class Bad(Strategy[StrategyParams]):\n"
        "    name, summary, risk_class, leverage_cap, Params = 'bad', 'raises', 'test', 5.0, StrategyParams\n"
        "    def decide(self, snapshot: Snapshot) -> HedgePlan:\n"
        "        return self.plan(snapshot, 1.0 / 0.0, reason='never')\n"
    )
    args = with_arg(EXAMPLE, "--strategy", f"{plugin}:Bad")
    i = args.index("--param")
    out = hedgebot(*args[:i], *args[i + 2 :])
    assert out.returncode == 1
    assert out.stderr.strip() == "hedgebot: error: strategy bad raised ZeroDivisionError: float division by zero"


B1 = ["plan", "--collateral-amount", "10", "--collateral-price", "2300", "--debt-usd", "16600",
      "--liquidation-threshold", "0.83", "--btc-price", "60000", "--json"]  # fmt: skip


@pytest.mark.parametrize("strategy", ["dynamic", "layered-stop", "percentage", "dca"])
@pytest.mark.parametrize("margin_btc", ["0", "0.1"])
def test_every_stop_sits_below_the_shorts_own_liquidation_price(strategy: str, margin_btc: str) -> None:
    """B1: dynamic at 10x put its stop at 67,200 above its isolated liquidation at 66,400 (layered-stop 69,000 vs
    68,297), and margin in the account priced isolated liquidation as if the whole wallet backed it."""
    # dynamic at 10x, its default before the walk-forward of issue 12 chose 5x: the case B1 was about.
    extra = ["--param", "leverage=10"] if strategy == "dynamic" else []
    result = hedgebot(*B1, "--strategy", strategy, *extra, "--margin-btc", margin_btc)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    liq = plan["hedge_liquidation_price"]
    assert plan["margin_mode"] == "isolated"
    if strategy == "dynamic":
        assert plan["leverage"] == 10
        assert liq == pytest.approx(60_000 * (1 - 0.004) / (1 - 1 / 10))  # 66,400 with or without wallet margin
    assert plan["stops"]
    for stop in plan["stops"]:
        assert 60_000 < stop["price"] < liq
    for entry in plan["conditional_entries"]:
        assert entry["trigger_price"] < entry["stop_price"]


def test_cross_margin_prices_liquidation_from_the_wallet() -> None:
    result = hedgebot(*B1, "--strategy", "dynamic", "--margin-btc", "0.1", "--margin-mode", "cross")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    # 290 contracts (29,000 USD) backed by the whole 0.1 BTC wallet: face (1 - mmr) / (face / E - wallet).
    face = plan["contracts"] * 100
    assert plan["hedge_liquidation_price"] == pytest.approx(face * 0.996 / (face / 60_000 - 0.1))
    assert plan["stops"][0]["price"] == pytest.approx(67_200)  # far below that: the strategy's stop stands
