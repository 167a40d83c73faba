"""The study under `hedgebot tune`: kept in SQLite, resumed by name, refused when its inputs changed, and
pruned window by window. The scorer here is a plain function of the parameters (the command's real scorer
is the evaluation's replay, tested in test_tune_cli.py); what is under test is the study around it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest

from bot.errors import UsageError
from bot.tune.space import derive, narrow
from bot.tune.study import open_study, outcome, run_trials, storage_url
from strategies.dynamic import DynamicParams

INPUTS = {"strategy": "dynamic", "data": {"split": "2021-01-01T00:00Z"}}


def _space() -> Any:
    return narrow(derive(DynamicParams), DynamicParams, {"leverage": "2:8", "z_off": "2:6"}, only=True)


def _scores(params: dict[str, Any]) -> Iterator[float]:
    """Ten 'windows' whose running score peaks at leverage 5, z_off 3."""
    value = -((params["leverage"] - 5) ** 2) - (params["z_off"] - 3) ** 2
    for k in range(1, 11):
        yield value * k / 10


def test_the_study_resumes_from_its_file_and_keeps_its_best(tmp_path: Path) -> None:
    url = storage_url(str(tmp_path / "tune.sqlite"), tmp_path)
    space = _space()
    first = open_study(url, "s", INPUTS, seed=0, warmup_windows=2)
    assert run_trials(first, space, _scores, 8) == 8
    before = outcome(first, url, space, 8)
    again = open_study(url, "s", INPUTS, seed=0, warmup_windows=2)
    assert len(again.trials) == 8  # read back from the file
    run_trials(again, space, _scores, 6)
    after = outcome(again, url, space, 6)
    assert after.complete + after.pruned == 14
    assert before.best_value is not None and after.best_value is not None
    assert after.best_value >= before.best_value
    assert after.best_params["stop_pct"] == DynamicParams().stop_pct  # the fixed ones come back with the sampled ones
    # Seeded past the trials held: the resumed run explored new points, not the first 6 again.
    points = [(t.params["leverage"], t.params["z_off"]) for t in again.trials]
    assert len(set(points)) == 14


def test_the_same_seed_gives_the_same_trials(tmp_path: Path) -> None:
    runs = []
    for name in ("a", "b"):
        study = open_study(storage_url(str(tmp_path / f"{name}.sqlite"), tmp_path), name, INPUTS, 7, 2)
        run_trials(study, _space(), _scores, 5)
        runs.append([t.params for t in study.trials])
    assert runs[0] == runs[1]


def test_a_study_run_on_other_inputs_is_refused_by_name(tmp_path: Path) -> None:
    url = storage_url(str(tmp_path / "tune.sqlite"), tmp_path)
    run_trials(open_study(url, "s", INPUTS, 0, 2), _space(), _scores, 1)
    other = {**INPUTS, "data": {"split": "2022-01-01T00:00Z"}}
    with pytest.raises(UsageError, match="was run with data"):
        open_study(url, "s", other, 0, 2)


def test_a_trial_that_trails_the_median_is_pruned_before_its_last_window(tmp_path: Path) -> None:
    study = open_study(storage_url(str(tmp_path / "t.sqlite"), tmp_path), "p", INPUTS, 0, warmup_windows=2)
    run_trials(study, _space(), _scores, 6)
    study.enqueue_trial({"leverage": 8.0, "z_off": 6.0})  # the worst corner: behind every trial at every window
    run_trials(study, _space(), _scores, 1)
    last = study.trials[-1]
    assert last.state == optuna.trial.TrialState.PRUNED
    assert max(last.intermediate_values) == 2  # stopped at the first window the pruner may judge


def test_storage_defaults_to_tune_sqlite_beside_the_journal_and_takes_urls(tmp_path: Path) -> None:
    assert storage_url(None, tmp_path) == f"sqlite:///{tmp_path / 'tune.sqlite'}"
    assert storage_url("postgresql://u@h/db", tmp_path) == "postgresql://u@h/db"
    with pytest.raises(UsageError, match="does not exist"):
        storage_url(str(tmp_path / "nope" / "t.sqlite"), tmp_path)
