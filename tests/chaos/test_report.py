"""The chaos table: findings are charged to the fault in force or injected last, bad columns fail the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chaos import checks, report
from chaos.faults import Injected
from chaos.runner import RunConfig, RunResult


def fault(cls: str, t_start: float, gap_s: float | None = 0.5, **kw: Any) -> Injected:
    return Injected(cls, t_start=t_start, t_end=t_start + 5, gap_s=gap_s, hit=3, **kw)


def run(faults: list[Injected], order_log: list[dict[str, Any]] | None = None, **kw: Any) -> RunResult:
    return RunResult(
        config=RunConfig(strategy="dynamic", seed=1, classes=tuple(f.cls for f in faults)),
        workdir=Path("/tmp/x"),
        faults=faults,
        order_log=order_log or [],
        end=kw.pop("end", checks.EndState([], 0)),
        duplicates=kw.pop("duplicates", []),
        secrets=kw.pop("secrets", []),
        **kw,
    )


def test_a_clean_run_is_all_zeros_and_ok() -> None:
    results = [run([fault("rpc:dead", 10.0), fault("kill:random", 30.0)])]
    assert report.ok(results, 2.0)
    table = report.table(results, 2.0)
    assert "chaos: all bad columns are 0" in table
    assert [r.cls for r in report.rows(results)] == ["kill:random", "rpc:dead", report.END]


def test_findings_are_charged_to_the_fault_before_them() -> None:
    order_log = [{"client_id": "a", "ts_ms": 12_000, "outcome": "accepted"}]
    results = [
        run(
            [
                fault("data:oracle-x10", 10.0, bad_from=11.0, bad_to=15.0),
                fault("kill:send-journal", 20.0),
            ],
            order_log,
            end=checks.EndState([{"created_ms": 21_000, "client_id": "s"}], 7),
            duplicates=[{"client_id": "b", "ts_ms": 22_000}],
            secrets=[checks.SecretFound("HTTP token", "bot.log:3", 1.0)],
        )
    ]
    by = {r.cls: r for r in report.rows(results)}
    assert by["data:oracle-x10"].bad_data_orders == 1
    assert (by["kill:send-journal"].orphans, by["kill:send-journal"].duplicates) == (1, 1)
    assert by[report.BASELINE].secrets == 1  # before the first fault
    assert by[report.END].unprotected == 7
    assert not report.ok(results, 2.0)


def test_a_gap_beyond_the_limit_or_no_recovery_is_bad_and_shown() -> None:
    results = [run([fault("exchange:slow", 10.0, gap_s=2.5), fault("rpc:dead", 20.0, gap_s=None)])]
    table = report.table(results, 2.0)
    assert "2.5*" in table and "never*" in table
    data = report.as_json(results, 2.0)
    assert not data["ok"]
    rows = {r["class"]: r for r in data["rows"]}
    assert rows["rpc:dead"]["never_recovered"] == 1 and rows["rpc:dead"]["max_gap_s"] is None
    assert rows["exchange:slow"]["gaps_over_limit"] == 1
    json.dumps(data)  # the --json output is plain JSON


def test_the_table_file_holds_the_table_as_printed_and_what_printed_it() -> None:
    text = report.document("fault class  runs\nrpc:dead        2", "python -m chaos --table t.md", 0.0, 1_800.0)
    assert "```\nfault class  runs\nrpc:dead        2\n```" in text
    assert "`python -m chaos --table t.md`, started 1970-01-01 00:00 UTC, 30 minutes, on " in text
