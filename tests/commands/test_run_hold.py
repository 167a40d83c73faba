"""`hedgebot run --hold`: under a supervisor that restarts whatever exits, a killed or misconfigured bot stays up
instead of restart-looping, and a cleared kill lets it exit 0 to be restarted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from bot.cli import main
from tests.commands.test_ops_cli import env, fill_journal

__all__ = ["env"]


def hold(extra_env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """`hedgebot run --hold`, returned once it says it is holding."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--hold"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(extra_env or {})},
    )
    assert proc.stderr is not None
    said = []
    for line in proc.stderr:
        said.append(line)
        if "holding (--hold)" in line:
            return proc
    proc.kill()
    raise AssertionError(f"no hold: {''.join(said)}")


def test_a_killed_bot_holds_until_the_kill_is_cleared_then_exits_0(env: Path) -> None:
    fill_journal(env)
    assert main(["kill", "--reason", "manual takeover"]) == 0
    proc = hold()
    assert proc.poll() is None  # still up: a restart policy has nothing to restart
    assert main(["kill", "--clear"]) == 0
    assert proc.wait(timeout=30) == 0


def test_a_signal_ends_the_hold_with_the_reason_it_held(env: Path) -> None:
    fill_journal(env)
    assert main(["kill"]) == 0
    proc = hold()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 3
    bad = hold({"HEDGEBOT_RISK__MAX_LEVERAGE": "500"})  # a configuration a restart cannot fix
    bad.send_signal(signal.SIGTERM)
    assert bad.wait(timeout=30) == 2
