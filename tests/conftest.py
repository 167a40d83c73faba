"""Shared fixtures: the path to ../shared/data, which must exist beside the repo (it does in CI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.backtest.data import SHARED_DATA_DIR as SHARED_DATA

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data; a missing folder is an error, never a silent skip."""
    if not SHARED_DATA.is_dir():
        raise RuntimeError(f"{SHARED_DATA} is missing: clone the repo with ../shared beside it")
    return SHARED_DATA
