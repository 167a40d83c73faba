"""`hedgebot tune` from the command line, on real data from ../shared/data: bad input exits 2 naming it, a
study resumes from its SQLite file, a plugin tunes like a built-in, and the table at the end scores only the
windows after the split."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import optuna
import pytest

from bot.backtest.data import align, load_candles, load_funding, parse_time_ms
from bot.cli import main
from bot.commands.backtest_cmd import replay_settings
from bot.evaluate import EVALUATION_SETUP, StrategySpec, evaluate, fortnights, rising_quarters
from bot.ops.output import jsonable
from bot.plugins.loader import resolve
from bot.plugins.skeleton import write_skeleton
from bot.tune.split import walk
from bot.venues.ccxt.registry import builtin_instrument
from strategies.dynamic import DynamicParams

# Four and a half months of 2021 hourly bars: 11 fortnights end before the split, 4 start after it.
START, END, SPLIT = "2021-03-01", "2021-07-15", "2021-06-01"


def _tune(shared: Path, storage: Path, *extra: str) -> list[str]:
    return [
        "tune",
        "--btc-data",
        str(shared / "binance_BTCUSDT_1h.csv.gz"),
        "--collateral-data",
        str(shared / "binance_ETHUSDT_1h.csv.gz"),
        "--start",
        START,
        "--end",
        END,
        "--split",
        SPLIT,
        "--storage",
        str(storage),
        "--processes",
        "1",
        *extra,
    ]


def _json(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(capsys.readouterr().out)
    return out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--param", "levrage=2:8"], "unknown parameter 'levrage'"),
        (["--param", "leverage=2:50"], "--param leverage=2:50: the high end 50 is outside leverage's bounds"),
        (["--param", "stop_pct=0:0.2"], "--param stop_pct=0:0.2: the low end 0 is outside stop_pct's bounds"),
        (["--split", "2021-07-10"], "too little data for the walk-forward split at 2021-07-10"),
        (["--split", "2019-01-01"], "too little data for the walk-forward split: --split 2019-01-01 is outside"),
        (["--end", "2021-04-01", "--split", "2021-03-20"], "too little data for the walk-forward split"),
        (  # five calm fortnights in autumn 2019: no crash to judge a hedge on
            ["--start", "2019-09-22", "--end", "2019-12-01", "--split", "2019-11-10"],
            "5 fortnights end before it (0 of them crashes",
        ),
        (["--strategy", "nope"], "unknown strategy 'nope'"),
        (["--start-health-factor", "0.9"], "start health factor"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_it(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    storage = tmp_path / "tune.sqlite"
    assert main(_tune(shared_data, storage, "--trials", "1", *extra)) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not storage.exists()  # refused before any study was opened


def test_a_short_real_tune_resumes_from_its_study_and_keeps_its_best(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEDGEBOT_DB_PATH", str(tmp_path / "hedgebot.sqlite"))
    args = [a for a in _tune(shared_data, tmp_path, "--json") if a not in ("--storage", str(tmp_path))]
    space = ["--param", "leverage=3:15", "--param", "z_off=2:8", "--only"]
    assert main([*args, *space, "--trials", "3"]) == 0
    first = _json(capsys)
    assert (tmp_path / "tune.sqlite").is_file()  # beside the journal, by default
    assert first["trials_run"] == 3 and first["trials_complete"] + first["trials_pruned"] == 3
    assert first["in_sample"]["fortnights"] == 11 and first["out_of_sample"]["fortnights"] == 4

    assert main([*args, *space, "--trials", "2"]) == 0
    second = _json(capsys)
    assert second["study"] == first["study"]  # the same command found the same study
    assert second["trials_run"] == 2 and second["trials_complete"] + second["trials_pruned"] == 5
    assert second["best"]["objective"] >= first["best"]["objective"]
    if second["best"]["trial"] == first["best"]["trial"]:
        assert second["best"]["params"] == first["best"]["params"]
    study = optuna.load_study(study_name=first["study"], storage=f"sqlite:///{tmp_path / 'tune.sqlite'}")
    assert len(study.trials) == 5
    # A complete trial was scored on the 11 in-sample windows and no others: one pruner step per window from
    # the first crash on (before it there is no effectiveness to judge), the last one the 11th window.
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    for t in complete:
        steps = sorted(t.intermediate_values)
        assert steps == list(range(steps[0], 11)), steps
    assert {"leverage", "z_off"} == set(complete[0].params)
    assert second["best"]["params"]["stop_pct"] == DynamicParams().stop_pct  # --only: the rest at dynamic's defaults


def test_the_out_of_sample_table_scores_only_windows_after_the_split(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = _tune(shared_data, tmp_path / "t.sqlite", "--param", "max_ratio=0.3:1.2", "--only", "--trials", "2")
    assert main([*args, "--json"]) == 0
    out = _json(capsys)
    split_ms = parse_time_ms(SPLIT)
    bars = align(
        load_candles(shared_data / "binance_BTCUSDT_1h.csv.gz"),
        load_candles(shared_data / "binance_ETHUSDT_1h.csv.gz"),
        parse_time_ms(START),
        parse_time_ms(END),
    )
    parts = walk(bars, split_ms)
    assert all(w.end_ms <= split_ms for w in parts.in_sample)
    assert parts.out_of_sample and all(w.start_ms >= split_ms for w in parts.out_of_sample)
    # The tuned row is exactly evaluate's figures on the windows that start on or after the split.
    after = [w for w in [*fortnights(bars), *rising_quarters(bars)] if w.start_ms >= split_ms]
    settings = replay_settings(argparse.Namespace(config=None, gas_usd=5.0, liquidation_rules="v3.3"))
    spec = StrategySpec("dynamic", out["best"]["params"], "dynamic tuned")
    expected = evaluate(
        [spec],
        bars,
        builtin_instrument("binancecoinm"),
        load_funding(shared_data / "binance_BTCUSDT_perp_funding_8h.csv"),  # tune's default, as evaluate's
        windows=after,
        setup=EVALUATION_SETUP,
        settings=settings,
        history=False,
        processes=1,
    ).summaries[0]
    tuned = out["out_of_sample"]["strategies"][0]
    assert tuned["label"] == "dynamic tuned" and tuned["fortnights"] == len(parts.out_of_sample) == 4
    history = tuned.pop("history")
    assert tuned == jsonable({k: v for k, v in expected.as_dict().items() if k != "history"})
    # and its survival run, too, starts at the split
    assert history["start_ms"] == split_ms and history["end_ms"] == parse_time_ms(END)
    assert [s["label"] for s in out["out_of_sample"]["strategies"]] == [
        "dynamic tuned",
        "dynamic defaults",
        "static 50 %",
    ]


def test_a_plugin_strategy_tunes_its_own_parameters(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_skeleton("calm-hedge", tmp_path)
    plugin = folder / "hedgebot_calm_hedge" / "strategy.py"
    args = _tune(shared_data, tmp_path / "t.sqlite", "--strategy", str(plugin), "--trials", "2", "--json")
    assert main([*args, "--param", "hedge_ratio=0.1:0.9", "--param", "leverage=5:10", "--only"]) == 0
    out = _json(capsys)
    assert out["study"].startswith("calm-hedge-")
    defaults = resolve(str(plugin)).Params()
    assert 0.1 <= out["best"]["params"]["hedge_ratio"] <= 0.9
    assert out["best"]["params"]["danger_ratio"] == defaults.danger_ratio
    assert out["out_of_sample"]["strategies"][0]["label"] == "calm-hedge tuned"
