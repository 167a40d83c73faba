"""`hedgebot evaluate`: bad input is one line and exit 2; a short span prints its table, JSON and chart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.backtest.data import SHARED_DATA_DIR
from bot.cli import main
from bot.commands.evaluate_cmd import default_specs, parse_spec
from bot.evaluate import StrategySpec

SPAN = ["--start", "2022-05-01", "--end", "2022-06-12"]  # 6 weeks: 4 fortnights after the warm-up


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--strategy", "nope"], "unknown strategy 'nope'"),
        (["--strategy", "percentage:hedge_ratio=9"], "hedge_ratio: got '9'"),
        (["--strategy", "dynamic:nonsense=1"], "nonsense: unknown parameter"),
        (["--start", "2022-01-01", "--end", "2022-01-10"], "holds no 14-day window"),
        (["--btc-data", "/nonexistent.csv"], "/nonexistent.csv: no such file"),
        (["--processes", "0"], "--processes must be at least 1"),
        (["--end", "2020-01-01", "--start", "2021-01-01"], "is not after"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_a_strategy_is_a_name_and_its_parameters() -> None:
    assert parse_spec("dynamic") == StrategySpec("dynamic", {})
    assert parse_spec("dynamic:z_off=3,leverage=5") == StrategySpec("dynamic", {"z_off": "3", "leverage": "5"})
    assert parse_spec("layered-stop:layer_distances=0.3,0.2,base_ratio=0.1").params == {
        "layer_distances": "0.3,0.2",
        "base_ratio": "0.1",
    }
    assert parse_spec("my_pkg.mod:MyHedge") == StrategySpec("my_pkg.mod:MyHedge", {})
    assert parse_spec("plug.py:MyHedge:ratio=0.2") == StrategySpec("plug.py:MyHedge", {"ratio": "0.2"})
    assert "stop-hunt-scalp" not in {s.strategy for s in default_specs()}  # opt-in: only when named
    assert {"percentage", "dynamic", "dca", "layered-stop"} <= {s.strategy for s in default_specs()}


@pytest.mark.skipif(not SHARED_DATA_DIR.is_dir(), reason="the shared market data is not mounted")
def test_json_and_chart_on_a_short_span(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    chart = tmp_path / "eff.png"
    argv = ["evaluate", *SPAN, "--strategy", "percentage:hedge_ratio=0.5", "--strategy", "stop-hunt-scalp"]
    assert main([*argv, "--processes", "2", "--json", "--chart", str(chart)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["windows"]["fortnights"] == 4 and out["windows"]["crashes"] >= 1
    static, scalp = out["strategies"]
    assert static["label"] == "percentage hedge_ratio=0.5" and static["is_hedge"] is True
    assert scalp["is_hedge"] is False and scalp["history"]["wiped"] in (True, False)
    assert 0 < static["effectiveness_mean"] < 1 and static["crash_windows"] == out["windows"]["crashes"]
    assert chart.read_bytes()[:4] == b"\x89PNG"
    assert main([*argv, "--processes", "1"]) == 0
    table = capsys.readouterr().out
    assert "stop-hunt-scalp (a trading strategy, not a hedge)" in table and "eff. p10" in table
