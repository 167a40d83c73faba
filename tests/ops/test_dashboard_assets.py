"""The dashboard's files: uPlot vendored byte for byte from the npm package the lockfile pins, no inline script."""

from __future__ import annotations

import json
import re

import pytest

from bot.ops.dashboard import ASSETS, STATIC
from tests.conftest import REPO

VENDORED = {"vendor/uPlot.iife.min.js": "dist/uPlot.iife.min.js", "vendor/uPlot.min.css": "dist/uPlot.min.css"}


def test_uplot_is_pinned_exactly_in_package_json_and_the_lockfile() -> None:
    version = json.loads((REPO / "package.json").read_text())["dependencies"]["uplot"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), "pin uPlot to an exact version"
    locked = json.loads((REPO / "package-lock.json").read_text())["packages"]["node_modules/uplot"]
    assert locked["version"] == version and locked["integrity"].startswith("sha512-")


@pytest.mark.parametrize(("ours", "theirs"), sorted(VENDORED.items()))
def test_the_vendored_uplot_is_the_locked_packages_file(ours: str, theirs: str) -> None:
    package = REPO / "node_modules" / "uplot"
    if not package.is_dir():
        pytest.skip("node_modules is not installed (make install runs npm ci)")
    version = json.loads((REPO / "package.json").read_text())["dependencies"]["uplot"]
    assert json.loads((package / "package.json").read_text())["version"] == version
    assert (STATIC / ours).read_bytes() == (package / theirs).read_bytes(), (
        f"bot/ops/static/{ours} differs from uplot@{version}'s {theirs}: copy it again after upgrading uplot"
    )


def test_every_asset_exists_and_the_pages_carry_no_inline_script() -> None:
    for name in [*ASSETS, "dashboard.html", "login.html"]:
        assert (STATIC / name).is_file(), name
    for page in ("dashboard.html", "login.html"):
        text = (STATIC / page).read_text()
        # The Content-Security-Policy allows scripts from the server's own files only.
        assert re.findall(r"<script(?![^>]*\bsrc=)", text) == [], f"{page} has an inline script"
        assert re.findall(r"\son[a-z]+\s*=", text) == [], f"{page} has an inline event handler"
