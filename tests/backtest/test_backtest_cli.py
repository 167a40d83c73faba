"""`hedgebot backtest` from the command line: the JSON a script reads, and exit 2 on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

KEYS = {
    "liquidated",
    "liquidation_events",
    "liquidation_penalty_usd",
    "min_health_factor",
    "max_drawdown_usd",
    "final_equity_usd",
}
HEDGE_KEYS = {"hedge_pnl_usd", "fees_usd", "funding_usd", "orders", "hedge_liquidated"}


def _args(shared: Path, *extra: str, btc: str = "binance_BTCUSDT_1h.csv.gz") -> list[str]:
    return [
        "backtest",
        "--btc-data",
        str(shared / btc),
        "--collateral-data",
        str(shared / "binance_ETHUSDT_1h.csv.gz"),
        "--start",
        "2021-05-12",
        "--end",
        "2021-05-26",
        *extra,
    ]


def test_json_has_both_portfolios_and_one_column_per_strategy(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _args(
        shared_data,
        "--funding-data",
        str(shared_data / "binance_BTCUSDT_perp_funding_8h.csv"),
        "--strategy",
        "dynamic",
        "--strategy",
        "percentage",
        "--param",
        "hedge_ratio=0.5",
        "--json",
        "--report",
        str(tmp_path / "rep"),
    )
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out["unhedged"]) >= KEYS and set(out["hedged"]) >= KEYS | HEDGE_KEYS
    assert {"effectiveness", "bars", "elapsed_s"} <= set(out)
    assert out["bars"] == 14 * 24
    assert [s["strategy"] for s in out["strategies"]] == ["dynamic", "percentage hedge_ratio=0.5"]
    assert out["unhedged"]["liquidated"] is True
    for name in ("report.md", "chart.png", "trades.csv"):
        assert (tmp_path / "rep" / name).stat().st_size > 0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--strategy", "percentage", "--param", "hedge_ratoi=0.5"], "unknown parameter"),
        (["--start-health-factor", "0.9"], "start health factor"),
        (["--liquidation-threshold", "0.97"], "liquidation threshold"),
        (["--strategy", "nope"], "unknown strategy"),
    ],
)
def test_bad_parameters_exit_2(
    shared_data: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(_args(shared_data, *extra)) == 2
    assert message in capsys.readouterr().err


def test_missing_malformed_and_disjoint_data_exit_2(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_args(shared_data, btc="nope.csv")) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "timestamp,open,high,low,close,volume\n2021-05-12T00:00:00Z,1,2,0.5,1.5,3\n2021-05-12T01:00:00Z,x,2,1,1,1\n"
    )
    assert main(_args(shared_data, btc=str(bad))) == 2
    assert "bad.csv:3" in capsys.readouterr().err
    # 2022 BTC against the 2021 window of ETH: nothing in common.
    assert main(_args(shared_data, btc="binance_BTCUSDT_5m_20220101-20220804.csv.gz")) == 2
    assert "overlap" in capsys.readouterr().err


def test_a_window_after_the_data_ends_is_a_clear_error(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """B13: --start after the data ended gave `ValueError: year 146140482 is out of range`."""
    code = main(
        [
            "backtest",
            "--btc-data",
            str(shared_data / "binance_BTCUSDT_1h.csv.gz"),
            "--collateral-data",
            str(shared_data / "binance_ETHUSDT_1h.csv.gz"),
            "--start",
            "2030-01-01",
        ]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "share fewer than two bars from 2029-12-25" in err and "--start/--end inside them" in err


def test_liquidation_rules_flag_v3_3_takes_a_small_loan_in_full_v3_0_by_halves(
    shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """1,800 USD of ETH at HF 1.3 through May 2021: under 2,000 USD, v3.3 liquidates it in one call; v3.0
    takes half the debt per call, call after call as ETH keeps falling."""
    found = {}
    for rules in ("v3.3", "v3.0", None):
        extra = ["--liquidation-rules", rules] if rules else []
        args = _args(shared_data, "--collateral-usd", "1800", "--start-health-factor", "1.3", "--json", *extra)
        assert main(args) == 0
        out = json.loads(capsys.readouterr().out)
        found[rules] = out
        assert out["liquidation_rules"] == (rules or "v3.3")
    today, before = found["v3.3"]["unhedged"], found["v3.0"]["unhedged"]
    assert today["liquidation_events"] == 1
    assert before["liquidation_events"] > 1
    assert today["final_equity_usd"] != before["final_equity_usd"]
    assert found[None]["unhedged"] == today  # v3.3 is the default
    with pytest.raises(SystemExit) as exited:
        main(_args(shared_data, "--liquidation-rules", "v3.2"))
    assert exited.value.code == 2
    assert "invalid choice: 'v3.2'" in capsys.readouterr().err
