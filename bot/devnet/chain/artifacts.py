"""The devnet's pinned chain parts, read from node_modules: anvil, Aave V3 artifacts, Multicall3 code."""

from __future__ import annotations

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


@cache
def aave_artifact(name: str) -> Artifact:
    """The Aave V3 artifact of contract `name` (e.g. "Pool", "MintableERC20")."""
    if not AAVE_ARTIFACTS.is_dir():
        raise UsageError(f"{AAVE_ARTIFACTS} is missing: {_INSTALL_HINT}")
    matches = [p for p in AAVE_ARTIFACTS.rglob(f"{name}.json") if not p.name.endswith(".dbg.json")]
    if len(matches) != 1:
        raise ValueError(f"expected one artifact named {name}, found {len(matches)}")
    data = json.loads(matches[0].read_text())
    return Artifact(name, data["abi"], data["bytecode"], data.get("linkReferences", {}))


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
