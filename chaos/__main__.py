"""`python -m chaos` (`make chaos`): the fault suite's command line.

    python -m chaos                  # the full suite: every fault class, two strategies (about 30 minutes)
    python -m chaos --quick          # the seeded subset `make test` runs (four faults, about a minute)
    python -m chaos --classes 'rpc:*' --repeat 3 --strategies dynamic
    python -m chaos --json           # the table as one JSON object on stdout (progress stays on stderr)

Exit codes: 0 every bad column is 0, 1 a bad column is not, 2 bad usage.
"""

from __future__ import annotations

import argparse
import asyncio
import fnmatch
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from chaos import report
from chaos.faults import FAULTS, Injected
from chaos.runner import Run, RunConfig, RunResult, dump

GROUPS = ("kill", "rpc", "exchange", "data")
QUICK = ("kill:send-journal", "exchange:drop-after-accept", "rpc:dead", "data:oracle-x10")
QUICK_SEED = 3  # its rpc:dead outage is a short one: the subset stays near a minute


def plan_runs(classes: list[str], strategies: list[str], repeat: int, kills: int, seed: int) -> list[RunConfig]:
    """One run per strategy and fault group, each with its classes `repeat` times (kills `kills` times), shuffled."""
    runs: list[RunConfig] = []
    for strategy in strategies:
        for group in GROUPS:
            chosen = [c for c in classes if c.split(":")[0] == group]
            if not chosen:
                continue
            seed_here = seed + len(runs)
            times = kills if group == "kill" else repeat
            schedule = [c for c in chosen for _ in range(times)]
            random.Random(seed_here).shuffle(schedule)
            runs.append(RunConfig(strategy=strategy, seed=seed_here, classes=tuple(schedule)))
    return runs


def _progress(fault: Injected) -> None:
    gap = "never" if fault.gap_s is None else f"{fault.gap_s:.1f} s"
    print(f"  {time.strftime('%H:%M:%S')} {fault.cls:<28} gap {gap:<8} {'; '.join(fault.evidence)}", file=sys.stderr)


async def _main(configs: list[RunConfig], out: Path) -> list[RunResult]:
    results = []
    for i, config in enumerate(configs, 1):
        workdir = out / f"run{i}-{config.strategy}-seed{config.seed}"
        print(f"run {i}/{len(configs)}: {config.strategy}, seed {config.seed}, "
              f"{len(config.classes)} faults, evidence in {workdir}", file=sys.stderr)  # fmt: skip
        result = await Run(config, workdir).execute(on_fault=_progress)
        (workdir / "evidence.json").write_text(dump(result))
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m chaos", description=__doc__.split("\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="the short seeded subset make test runs")
    p.add_argument("--classes", default="*", help="comma-separated fault classes or globs (default: all; see --list)")
    p.add_argument("--strategies", default="dynamic,layered-stop", help="comma-separated strategies to run")
    p.add_argument("--repeat", type=int, default=2, help="faults of each non-kill class per run (default 2)")
    p.add_argument("--kills", type=int, default=4, help="SIGKILLs at each kill point per run (default 4)")
    p.add_argument("--seed", type=int, default=1, help="the first run's seed (default 1)")
    p.add_argument("--gap-limit-s", type=float, default=2.0, help="longest monitoring gap allowed (default 2 s)")
    p.add_argument("--out", type=Path, help="where each run keeps its logs, journal and evidence (default: a temp dir)")
    p.add_argument(
        "--table",
        type=Path,
        help="also write the table as printed, with the command, date and machine, to this file (docs/chaos-table.md)",
    )
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--list", action="store_true", help="list the fault classes and exit")
    args = p.parse_args(argv)
    if args.list:
        print("\n".join(FAULTS))
        return 0
    if args.quick:
        configs = [RunConfig(strategy="dynamic", seed=QUICK_SEED, classes=QUICK)]
    else:
        patterns = [c.strip() for c in args.classes.split(",") if c.strip()]
        classes = [c for c in FAULTS if any(fnmatch.fnmatchcase(c, pat) for pat in patterns)]
        if not classes:
            p.error(f"no fault class matches {args.classes!r}; --list shows them")
        strategies = [s.strip() for s in args.strategies.split(",") if s.strip()]
        configs = plan_runs(classes, strategies, args.repeat, args.kills, args.seed)
    out = args.out or Path(tempfile.mkdtemp(prefix="hedgebot-chaos-"))
    started = time.time()
    results = asyncio.run(_main(configs, out))
    table = report.table(results, args.gap_limit_s)
    if args.json:
        print(json.dumps(report.as_json(results, args.gap_limit_s), indent=1, default=str))
    else:
        print(table)
    if args.table is not None:
        argv_text = " ".join(sys.argv[1:] if argv is None else argv)
        args.table.write_text(report.document(table, f"python -m chaos {argv_text}".strip(), started, time.time()))
    return 0 if report.ok(results, args.gap_limit_s) else 1


if __name__ == "__main__":
    sys.exit(main())
