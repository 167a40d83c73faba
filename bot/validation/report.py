"""What the start-up checks found: one finding per check, and the exit code they add up to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from bot.errors import ConfigError, EnvironmentFailure

Status = Literal["ok", "warning", "error", "skipped"]
CONFIG = 2  # the settings are wrong: fix them
ENVIRONMENT = 1  # the settings may be right, the world did not answer: a retry may succeed


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's outcome. `detail` says what was checked or, for a warning or an error, what is wrong."""

    check: str
    status: Status
    detail: str
    exit_code: int = CONFIG  # of an error


@dataclass(frozen=True, slots=True)
class Report:
    findings: tuple[Finding, ...]

    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "error"]

    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "warning"]

    def exit_code(self) -> int:
        """0 without errors; 2 when a setting is wrong; 1 when only the environment failed."""
        codes = {f.exit_code for f in self.errors()}
        return CONFIG if CONFIG in codes else (ENVIRONMENT if codes else 0)

    def raise_for_errors(self) -> None:
        """ConfigError (exit 2) or EnvironmentFailure (exit 1) with every error on one line."""
        errors = self.errors()
        if not errors:
            return
        text = "; ".join(f.detail for f in errors)
        if self.exit_code() == CONFIG:
            raise ConfigError(text)
        raise EnvironmentFailure(text)

    def as_json(self) -> list[dict[str, Any]]:
        return [{"check": f.check, "status": f.status, "detail": f.detail} for f in self.findings]
