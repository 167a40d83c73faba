"""The devnet's pinned chain parts: anvil and Multicall3's code (node_modules), Aave v3.0's artifacts as
shipped by @aave/core-v3, and Aave v3.6's compiled at install time from @aave-dao/aave-v3-origin's sources."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from bot.errors import UsageError

REPO = Path(__file__).resolve().parents[3]
# Where `npm ci` put the pinned parts; HEDGEBOT_NODE_MODULES points elsewhere (e.g. for an installed wheel).
NODE_MODULES = Path(os.environ.get("HEDGEBOT_NODE_MODULES", REPO / "node_modules"))
AAVE_ARTIFACTS = NODE_MODULES / "@aave" / "core-v3" / "artifacts" / "contracts"
# Written by compile_aave.mjs (`make install`); HEDGEBOT_AAVE_BUILD points elsewhere.
AAVE_V36_BUILD = Path(os.environ.get("HEDGEBOT_AAVE_BUILD", REPO / "build" / "aave-v3.6")) / "artifacts.json"
COMPILE_SCRIPT = Path(__file__).with_name("compile_aave.mjs")
AAVE_VERSIONS = ("3.6", "3.0")  # the first is the default
_INSTALL_HINT = "run `make install` (npm ci) at the repo root to install the pinned chain parts"


@dataclass(frozen=True, slots=True)
class Artifact:
    """A compiled contract: its ABI, its creation bytecode (hex, may hold link placeholders) and links."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    link_references: dict[str, dict[str, list[dict[str, int]]]]

    def linked(self, libraries: dict[str, str]) -> str:
        """Creation bytecode (0x-hex) with every library placeholder replaced by its address."""
        # Placeholders are not hex ("__$...$__"), so patch the hex text at twice the byte offsets.
        code = self.bytecode.removeprefix("0x")
        for refs in self.link_references.values():
            for lib, spots in refs.items():
                if lib not in libraries:
                    raise ValueError(f"{self.name} needs library {lib} linked")
                address = libraries[lib].removeprefix("0x").lower()
                for spot in spots:
                    start = 2 * spot["start"]
                    code = code[:start] + address + code[start + 2 * spot["length"] :]
        return "0x" + code


def aave_artifact(name: str, version: str = "3.0") -> Artifact:
    """The Aave artifact of contract `name` in `version` ("3.0": "Pool", "MintableERC20"; "3.6": "PoolInstance")."""
    if version == "3.6":
        return _v36_artifact(name)
    if version != "3.0":
        raise UsageError(f"Aave {version} is not on the devnet: choose one of {', '.join(AAVE_VERSIONS)}")
    return _v30_artifact(name)


@cache
def _v30_artifact(name: str) -> Artifact:
    if not AAVE_ARTIFACTS.is_dir():
        raise UsageError(f"{AAVE_ARTIFACTS} is missing: {_INSTALL_HINT}")
    matches = [p for p in AAVE_ARTIFACTS.rglob(f"{name}.json") if not p.name.endswith(".dbg.json")]
    if len(matches) != 1:
        raise ValueError(f"expected one artifact named {name}, found {len(matches)}")
    data = json.loads(matches[0].read_text())
    return Artifact(name, data["abi"], data["bytecode"], data.get("linkReferences", {}))


def v36_build_key() -> str | None:
    """The key compile_aave.mjs gives its build: package-lock.json's and its own hash; None outside a checkout."""
    lock = REPO / "package-lock.json"
    if not lock.is_file() or not COMPILE_SCRIPT.is_file():
        return None
    return hashlib.sha256(lock.read_bytes() + COMPILE_SCRIPT.read_bytes()).hexdigest()


@cache
def _v36_build() -> dict[str, Any]:
    hint = "run `make install`: it compiles Aave v3.6 from the pinned sources once (solc-js, under a minute)"
    if not AAVE_V36_BUILD.is_file():
        raise UsageError(f"{AAVE_V36_BUILD} is missing: {hint}; or use --aave 3.0")
    data: dict[str, Any] = json.loads(AAVE_V36_BUILD.read_text())
    key = v36_build_key()
    if key is not None and data.get("key") != key:
        raise UsageError(f"{AAVE_V36_BUILD} was built from another package-lock.json: {hint}")
    return data


def _v36_artifact(name: str) -> Artifact:
    contracts = _v36_build()["contracts"]
    if name not in contracts:
        raise ValueError(f"no Aave v3.6 contract named {name} in the build (have: {', '.join(sorted(contracts))})")
    c = contracts[name]
    return Artifact(name, c["abi"], c["bytecode"], c["linkReferences"])


def anvil_binary() -> Path:
    """The anvil executable shipped in the platform package of @foundry-rs/anvil."""
    machine = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(
        platform.machine().lower(), platform.machine().lower()
    )
    system = platform.system().lower()
    path = NODE_MODULES / "@foundry-rs" / f"anvil-{system}-{machine}" / "bin" / "anvil"
    if not path.is_file():
        raise UsageError(f"anvil is not installed at {path}: {_INSTALL_HINT}")
    return path


@cache
def multicall3_creation_code() -> str:
    """Multicall3's creation bytecode, as shipped by viem (it has no constructor arguments)."""
    path = NODE_MODULES / "viem" / "_cjs" / "constants" / "contracts.js"
    if not path.is_file():
        raise UsageError(f"{path} is missing: {_INSTALL_HINT}")
    found = re.search(r"multicall3Bytecode\s*=\s*'(0x[0-9a-fA-F]+)'", path.read_text())
    if found is None:
        raise ValueError(f"no multicall3Bytecode in {path}")
    return found.group(1)
