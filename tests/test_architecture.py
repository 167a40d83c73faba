"""The layout holds: a handful of modules at the root of bot/, no import cycle between its packages,
the pure core imports nothing from the shell, and nothing but the CLI imports the commands."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
ROOT_MODULES = {"__init__", "cli", "app", "config", "modes", "errors", "log", "clock", "compat"}


def _imports(path: Path) -> set[str]:
    """Every bot.* module `path` imports, at any depth (function-level imports count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("bot."))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("bot") and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
    return found


def _package_of(module: str) -> str:
    """The component a module belongs to: bot.<component> (bot.domain.lending counts as bot.domain)."""
    parts = module.split(".")
    if len(parts) < 2:
        return "bot"
    return ".".join(parts[:2]) if (BOT / parts[1]).is_dir() else "bot"


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in BOT.rglob("*.py"):
        rel = path.relative_to(BOT.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        src = _package_of(module)
        if src == "bot":
            continue  # the root modules wire the components together
        for target in _imports(path):
            dst = _package_of(target)
            if dst not in (src, "bot"):
                graph[src].add(dst)
    return graph


def test_only_the_listed_modules_sit_at_the_root_of_bot() -> None:
    assert {p.stem for p in BOT.glob("*.py")} <= ROOT_MODULES


def test_no_import_cycle_between_packages() -> None:
    graph = _package_graph()
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif len(path) < len(graph) + 1:
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    assert not cycles, f"import cycles between packages: {cycles[:5]}"


def test_the_pure_core_imports_only_itself() -> None:
    graph = _package_graph()
    assert graph.get("bot.domain", set()) == set()
    assert graph.get("bot.paper", set()) <= {"bot.domain"}


def test_nothing_but_the_cli_imports_the_commands() -> None:
    assert [src for src, dsts in _package_graph().items() if "bot.commands" in dsts] == []
