"""The deep checks of the settings: `hedgebot config check` runs them, and so does `hedgebot run` before it
connects to anything. One list of checks, offline ones always, on-chain ones when asked and an RPC is set.
"""

from __future__ import annotations

from bot.config import Mode, Settings
from bot.validation.offline import OFFLINE_CHECKS, offline_findings
from bot.validation.onchain import ONCHAIN_CHECKS, chain_findings, skipped
from bot.validation.report import CONFIG, ENVIRONMENT, Finding, Report


async def validate(settings: Settings, mode: Mode, *, online: bool = True, unreachable_is_error: bool = True) -> Report:
    """Every check's finding: the offline ones, then (`online`, and only once those passed) the on-chain ones."""
    findings = offline_findings(settings)
    if not online:
        findings += skipped("--offline")
    elif any(f.status == "error" for f in findings):
        findings += skipped("the offline checks failed: fix those first")
    else:
        findings += await chain_findings(settings, mode, unreachable_is_error=unreachable_is_error)
    return Report(tuple(findings))


__all__ = [
    "CONFIG",
    "ENVIRONMENT",
    "OFFLINE_CHECKS",
    "ONCHAIN_CHECKS",
    "Finding",
    "Report",
    "validate",
]
