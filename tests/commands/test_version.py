"""`hedgebot --version` prints the installed package's version, the one pyproject.toml declares."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.cli import main

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_version_is_the_package_metadata(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["version"]
    assert capsys.readouterr().out == f"hedgebot {declared}\n"
