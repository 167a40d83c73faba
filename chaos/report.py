"""The chaos table: one row per fault class, summed over runs, and the same as JSON.

Each finding is charged to the fault in force, or injected last, when it happened (an orphan when its order
was created, a duplicate when the exchange accepted the id again, a secret when its log line was written);
findings before the first fault of a run go to the "(no fault yet)" row.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chaos import checks
from chaos.faults import Injected
from chaos.runner import RunResult

BASELINE = "(no fault yet)"
END = "(end of run)"  # the book read after the final clean stop: its short contracts with no stop


@dataclass
class Row:
    cls: str
    runs: int = 0
    faults: int = 0
    hit: int | None = None  # None when no fault of the class can be seen through a proxy (a dead port)
    duplicates: int = 0
    orphans: int = 0
    bad_data_orders: int = 0
    gaps: list[float | None] = field(default_factory=list)
    secrets: int = 0
    unprotected: int = 0

    def over(self, limit_s: float) -> int:
        """Faults after which no fresh decision came within `limit_s` (or none at all)."""
        return sum(1 for g in self.gaps if g is None or g > limit_s)

    @property
    def max_gap_s(self) -> float | None:
        """The longest gap; inf when a fault was never followed by a fresh decision; None with no faults."""
        if not self.gaps:
            return None
        return max(math.inf if g is None else g for g in self.gaps)

    def bad(self, limit_s: float) -> bool:
        return bool(
            self.duplicates
            or self.orphans
            or self.bad_data_orders
            or self.secrets
            or self.unprotected
            or self.over(limit_s)
        )


def bad_orders(fault: Injected, order_log: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    if fault.bad_from is None or fault.bad_to is None:
        return []
    return [dict(r) for r in checks.orders_between(order_log, fault.bad_from, fault.bad_to)]


def rows(results: Sequence[RunResult]) -> list[Row]:
    by_cls: dict[str, Row] = {}

    def row(cls: str) -> Row:
        return by_cls.setdefault(cls, Row(cls))

    for result in results:
        faults = sorted(result.faults, key=lambda f: f.t_start)
        starts = [f.t_start for f in faults]

        def charged(t: float | None, faults: list[Injected] = faults, starts: list[float] = starts) -> Row:
            i = checks.attribute(t, starts)
            return row(BASELINE if i is None else faults[i].cls)

        for cls in {f.cls for f in faults}:
            row(cls).runs += 1
        for f in faults:
            r = row(f.cls)
            r.faults += 1
            if f.hit is not None:
                r.hit = (r.hit or 0) + f.hit
            r.gaps.append(f.gap_s)
            r.bad_data_orders += len(bad_orders(f, result.order_log))
            r.orphans += len(f.orphans)
            r.unprotected += f.unprotected_contracts
        for dup in result.duplicates:
            charged(dup["ts_ms"] / 1000).duplicates += 1
        for orphan in result.end.orphans:
            charged(orphan["created_ms"] / 1000).orphans += 1
        for secret in result.secrets:
            charged(secret.t).secrets += 1
        end = row(END)
        end.runs += 1
        end.unprotected += result.end.unprotected_contracts
    ordered = sorted(by_cls.values(), key=lambda r: (r.cls in (BASELINE, END), r.cls == END, r.cls))
    return [r for r in ordered if r.cls != BASELINE or r.bad(math.inf)]


def ok(results: Sequence[RunResult], limit_s: float) -> bool:
    return not any(r.bad(limit_s) for r in rows(results))


def _gap(r: Row, limit_s: float) -> str:
    g = r.max_gap_s
    if g is None:
        return "-"
    text = "never" if math.isinf(g) else f"{g:.1f}"
    return text + ("*" if g > limit_s else "")


HEADER = ("fault class", "runs", "faults", "hit", "dup", "orphans", "no-stop", "bad-data", "max gap s", "secrets")


def table(results: Sequence[RunResult], limit_s: float) -> str:
    """The table a person reads; a * marks a gap beyond the limit."""
    lines = []
    body = [
        (
            r.cls,
            r.runs,
            r.faults or "-",
            "-" if r.hit is None else r.hit,
            r.duplicates,
            r.orphans,
            r.unprotected,
            r.bad_data_orders,
            _gap(r, limit_s),
            r.secrets,
        )
        for r in rows(results)
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(HEADER, *body, strict=True)]
    for values in [HEADER, *body]:
        cells = [
            str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.append("")
    for result in results:
        end = result.end
        lines.append(
            f"run {result.config.strategy} seed {result.config.seed}: {len(result.faults)} faults in "
            f"{result.seconds:.0f} s; at the end {len(end.orphans)} orphan orders, "
            f"{end.unprotected_contracts} short contracts without a stop; "
            f"{len(result.unexpected_exits)} exits the runner did not ask for; secrets searched in "
            + ", ".join(f"{n} {kind}" for kind, n in result.scanned.items())
        )
        restarts = sorted(f.restart_s for f in result.faults if f.restart_s is not None)
        if restarts:
            lines.append(
                f"  {len(restarts)} restarts after SIGKILL: blind while starting up, "
                f"median {restarts[len(restarts) // 2]:.1f} s, longest {restarts[-1]:.1f} s (process start to recovery)"
            )
        lines.extend(f"  note: {n}" for n in result.notes)
    lines.append(f"* no fresh decision within {limit_s:g} s of the fault's end (two poll cycles); never: none at all")
    lines.append("no-stop: short contracts no resting stop covered when the book was read with no bot running")
    lines.append("chaos: " + ("all bad columns are 0" if ok(results, limit_s) else "FAILED: see the non-zero columns"))
    return "\n".join(lines)


def as_json(results: Sequence[RunResult], limit_s: float) -> dict[str, Any]:
    def gap(g: float | None) -> float | None:
        return None if g is None or math.isinf(g) else round(g, 3)

    return {
        "ok": ok(results, limit_s),
        "gap_limit_s": limit_s,
        "rows": [
            {
                "class": r.cls,
                "runs": r.runs,
                "faults": r.faults,
                "hit": r.hit,
                "duplicates": r.duplicates,
                "orphans": r.orphans,
                "unprotected_contracts": r.unprotected,
                "bad_data_orders": r.bad_data_orders,
                "max_gap_s": gap(r.max_gap_s),
                "gaps_over_limit": r.over(limit_s),
                "never_recovered": sum(1 for g in r.gaps if g is None),
                "secrets": r.secrets,
            }
            for r in rows(results)
        ],
        "runs": [
            {
                "strategy": res.config.strategy,
                "seed": res.config.seed,
                "seconds": round(res.seconds, 1),
                "workdir": str(res.workdir),
                "unprotected_contracts": res.end.unprotected_contracts,
                "orphans": res.end.orphans,
                "duplicates": res.duplicates,
                "secrets": [s.__dict__ for s in res.secrets],
                "scanned": res.scanned,
                "notes": res.notes,
                "unexpected_exits": res.unexpected_exits,
                "faults": [
                    {
                        "class": f.cls,
                        "t_start": round(f.t_start, 3),
                        "t_end": round(f.t_end, 3),
                        "gap_s": gap(f.gap_s),
                        "hit": f.hit,
                        "evidence": f.evidence,
                        "bad_data_orders": bad_orders(f, res.order_log),
                        "restarted_by_runner": f.restarted_by_runner,
                        "restart_s": None if f.restart_s is None else round(f.restart_s, 2),
                        "orphans": f.orphans,
                        "unprotected_contracts": f.unprotected_contracts,
                    }
                    for f in res.faults
                ],
            }
            for res in results
        ],
    }


def document(table: str, command: str, started: float, ended: float) -> str:
    """The table as printed, in a Markdown file that says what printed it, when and where (docs/chaos-table.md)."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    machine = f"{platform.node() or 'unknown host'}, {platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
    return (
        f"<!-- written by `{command}`: do not edit by hand -->\n"
        f"`{command}`, started {when}, {(ended - started) / 60:.0f} minutes, on {machine}:\n\n"
        f"```\n{table}\n```\n"
    )
