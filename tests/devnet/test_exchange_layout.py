"""The devnet's packages hold together without tangles: their modules import each other without a cycle
(imports under TYPE_CHECKING and inside functions count), and none reaches for another's private names."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DEVNET = Path(__file__).resolve().parents[2] / "bot" / "devnet"
PACKAGES = ["exchange", "chain"]


def _module_names(package: Path) -> set[str]:
    return {p.stem for p in package.glob("*.py")}


def _sibling(node: ast.ImportFrom, name: str, package: str, modules: set[str]) -> str | None:
    """The module of `package` that `from <node.module> import name` reaches, if any."""
    if node.level:  # relative: `from . import x` or `from .x import y`
        base = node.module.split(".")[0] if node.module else None
    elif node.module == package:
        base = None
    elif node.module and node.module.startswith(package + "."):
        base = node.module.removeprefix(package + ".").split(".")[0]
    else:
        return None
    if base is None:
        return name if name in modules else "__init__"
    return base


def _import_graph(package_dir: Path, package: str) -> dict[str, set[str]]:
    """module -> the modules of the same package it imports (`__init__` stands for the package itself)."""
    modules = _module_names(package_dir)
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for module in modules:
        for node in ast.walk(ast.parse((package_dir / f"{module}.py").read_text())):
            if isinstance(node, ast.ImportFrom):
                targets = {_sibling(node, a.name, package, modules) for a in node.names}
            elif isinstance(node, ast.Import):
                targets = {
                    a.name.removeprefix(package + ".").split(".")[0]
                    for a in node.names
                    if (a.name + ".").startswith(package + ".")
                }
                targets = {t if t in modules else "__init__" for t in targets}
            else:
                continue
            graph[module] |= {t for t in targets if t is not None and t != module}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                found.append([*path[path.index(nxt) :], nxt])
            else:
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    return found


def _private_reaches(package_dir: Path, package: str) -> list[str]:
    """Every `from <sibling> import _name` and `<sibling>._name` in the package, as 'module: name'."""
    modules = _module_names(package_dir)
    found = []
    for module in sorted(modules):
        tree = ast.parse((package_dir / f"{module}.py").read_text())
        bound: set[str] = set()  # local names bound to sibling modules
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    target = _sibling(node, alias.name, package, modules)
                    if target is None or target == module:
                        continue
                    if alias.name.startswith("_"):
                        found.append(f"{module}: {alias.name} from {target}")
                    elif target == alias.name:
                        bound.add(alias.asname or alias.name)
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
                continue
            if node.value.id in bound and node.attr.startswith("_") and not node.attr.startswith("__"):
                found.append(f"{module}: {node.value.id}.{node.attr}")
    return found


@pytest.mark.parametrize("name", PACKAGES)
def test_the_modules_import_each_other_without_a_cycle(name: str) -> None:
    graph = _import_graph(DEVNET / name, f"bot.devnet.{name}")
    assert _cycles(graph) == []


@pytest.mark.parametrize("name", PACKAGES)
def test_no_module_imports_a_private_name_of_another(name: str) -> None:
    assert _private_reaches(DEVNET / name, f"bot.devnet.{name}") == []


def test_the_exchange_handlers_get_the_state_not_the_server() -> None:
    graph = _import_graph(DEVNET / "exchange", "bot.devnet.exchange")
    assert [m for m, targets in graph.items() if "server" in targets] == ["__init__"]


def test_the_checks_catch_a_cycle_and_a_private_import(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "routes.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.server import S\n"
    )
    (pkg / "server.py").write_text("from pkg import routes\nfrom pkg.routes import _need\nx = routes._plain\n")
    assert _cycles(_import_graph(pkg, "pkg")) == [["routes", "server", "routes"], ["server", "routes", "server"]]
    assert _private_reaches(pkg, "pkg") == ["server: _need from routes", "server: routes._plain"]
