"""The Optuna side of `hedgebot tune`: a resumable study in SQLite, seeded sampling, pruning per window.

The study is the only state: its storage keeps every trial, so running the same command again adds
`--trials` more to it. What the trials were scored against (strategy, search space, position, data, split)
is recorded on the study when it is created, and a later run that asks for something else under the same
name is refused rather than mixed in.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from bot.errors import UsageError
from bot.tune.space import Dimension, SearchSpace

STUDY_FILE = "tune.sqlite"
INPUTS_ATTR = "hedgebot_inputs"
INVALID_ATTR = "invalid_params"

# Each trial's running objective after each in-sample window: the pruner compares trials window by window.
Scores = Callable[[dict[str, Any]], Iterable[float]]
TrialDone = Callable[[int, int, float | None], None]  # (done, of, best so far)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the study holds after this run."""

    study_name: str
    storage: str
    trials_run: int  # by this run
    complete: int  # over the study's whole life
    pruned: int
    best_value: float | None
    best_params: dict[str, Any]  # the full parameter set: sampled and fixed
    best_trial: int | None


def storage_url(storage: str | None, beside: Path) -> str:
    """An SQLAlchemy URL: `--storage` as given when it is one, a file path as SQLite, else tune.sqlite beside
    the journal (`beside` is the journal's folder)."""
    if storage and "://" in storage:
        return storage
    path = Path(storage) if storage else beside / STUDY_FILE
    if path.parent and not path.parent.is_dir():
        raise UsageError(f"--storage {path}: the folder {path.parent} does not exist")
    return f"sqlite:///{path}"


def open_study(url: str, name: str, inputs: Mapping[str, Any], seed: int, warmup_windows: int) -> optuna.Study:
    """The study `name` in `url`, created or resumed; UsageError when it was run on other inputs.

    The sampler's seed is `seed` plus the trials already held, so a resumed study goes on to new points
    instead of replaying the first ones, and the same commands give the same study.
    """
    optuna.logging.set_verbosity(logging.WARNING)  # the progress bar and the table say what the INFO lines would
    recorded = json.loads(json.dumps(dict(inputs), default=str))
    try:
        study = optuna.create_study(
            storage=url,
            study_name=name,
            direction="maximize",
            load_if_exists=True,
            pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warmup_windows),
        )
    except Exception as exc:  # SQLAlchemy and Optuna raise many kinds; what matters is which storage failed
        raise UsageError(f"cannot open the study {name!r} in {url}: {exc}") from None
    before = study.user_attrs.get(INPUTS_ATTR)
    if before is None:
        study.set_user_attr(INPUTS_ATTR, recorded)
    elif before != recorded:
        key = next(k for k in sorted(set(before) | set(recorded)) if before.get(k) != recorded.get(k))
        raise UsageError(
            f"study {name!r} in {url} was run with {key} = {before.get(key)!r}, not {recorded.get(key)!r};"
            " give another --study-name (or --storage) for a new search"
        )
    study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    return study


def suggest(trial: optuna.Trial, dim: Dimension) -> Any:
    """One sampled value of `dim`."""
    if dim.kind == "categorical":
        return trial.suggest_categorical(dim.name, list(dim.choices))
    if dim.kind == "int":
        return trial.suggest_int(dim.name, int(dim.low), int(dim.high), log=dim.log)
    return trial.suggest_float(dim.name, dim.low, dim.high, log=dim.log)


def full_params(space: SearchSpace, sampled: Mapping[str, Any]) -> dict[str, Any]:
    """The sampled values with the fixed ones, in the strategy's parameter order."""
    return space.ordered({**space.fixed, **sampled})


def run_trials(
    study: optuna.Study, space: SearchSpace, scores: Scores, trials: int, on_trial: TrialDone | None = None
) -> int:
    """Add `trials` trials to `study`; returns how many ran. Each trial's running score is reported after
    every window, and the median pruner stops a trial that trails the others' at the same window."""

    def objective(trial: optuna.Trial) -> float:
        params = full_params(space, {d.name: suggest(trial, d) for d in space.dimensions})
        last: float | None = None
        try:
            for step, value in enumerate(scores(params)):
                last = value
                if not math.isfinite(value):
                    continue  # nothing to judge on yet (no crash window so far): no step to compare
                trial.report(value, step)
                if trial.should_prune():
                    raise optuna.TrialPruned()
        except UsageError as exc:  # a plugin's own validator refused this combination: not a point to score
            trial.set_user_attr(INVALID_ATTR, str(exc))
            raise optuna.TrialPruned() from None
        if last is None or not math.isfinite(last):
            raise UsageError("no in-sample window to judge a trial on")
        return last

    done = 0

    def after(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        nonlocal done
        done += 1
        if on_trial is not None:
            on_trial(done, trials, best_value(study))

    study.optimize(objective, n_trials=trials, callbacks=[after], gc_after_trial=False)
    return done


def best_value(study: optuna.Study) -> float | None:
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return max((t.value for t in complete if t.value is not None), default=None)


def outcome(study: optuna.Study, url: str, space: SearchSpace, ran: int) -> Outcome:
    """The study's totals and its best trial (over every run, not just this one)."""
    states = [t.state for t in study.get_trials(deepcopy=False)]
    complete = states.count(optuna.trial.TrialState.COMPLETE)
    pruned = states.count(optuna.trial.TrialState.PRUNED)
    if complete == 0:
        return Outcome(study.study_name, url, ran, 0, pruned, None, {}, None)
    best = study.best_trial
    return Outcome(
        study.study_name, url, ran, complete, pruned, best.value, full_params(space, best.params), best.number
    )
