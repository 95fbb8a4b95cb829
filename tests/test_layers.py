"""The package's data flows one way: faces → facade → steps → parts → base.

Every ``import`` in ``bot/`` counts, including those under ``TYPE_CHECKING`` and those
inside functions: a cycle hidden from the interpreter is still a cycle to a reader.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "bot"

# Highest first. A module may import its own layer or any layer below it.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("face", ("bot.__main__", "bot.cli", "bot.scheduler", "bot.web", "bot.telegram")),
    ("facade", ("bot.core", "bot.status", "bot.checks")),
    ("step", ("bot.pipeline",)),
    ("part", ("bot.feeds", "bot.http", "bot.articles", "bot.rules", "bot.policy",
              "bot.alerts", "bot.preflight", "bot.shapes", "bot.triggers", "bot.cards",
              "bot.captions", "bot.publishers", "bot.store")),
    ("base", ("bot", "bot.config", "bot.errors", "bot.models", "bot.units", "bot.dates",
              "bot.redact", "bot.limits", "bot.logs", "bot.templates", "bot.files",
              "bot.memory", "bot.envfile")),
]
RANK = {name: rank for rank, (name, _) in enumerate(LAYERS)}


def module_name(path: Path, package: Path = PACKAGE) -> str:
    """``bot/pipeline/poll.py`` → ``bot.pipeline.poll``."""
    parts = list(path.relative_to(package.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> str:
    """The layer a module belongs to: the longest prefix that names one."""
    best: tuple[int, str] | None = None
    for name, prefixes in LAYERS:
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), name)
    assert best is not None, f"{module} is in no layer: add it to LAYERS in {__file__}"
    return best[1]


def imports_of(path: Path, modules: set[str]) -> Iterator[tuple[str, int]]:
    """Every bot module that ``path`` imports, anywhere in the file, with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from bot.x import y`` may import the submodule bot.x.y.
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name in modules:
                yield name, node.lineno


def import_graph(package: Path = PACKAGE) -> dict[str, dict[str, int]]:
    """module → {imported module: line} over every ``.py`` file in ``package``."""
    files = {module_name(p, package): p for p in package.rglob("*.py")}
    modules = set(files)
    graph: dict[str, dict[str, int]] = {}
    for name, path in files.items():
        edges: dict[str, int] = {}
        for target, line in imports_of(path, modules):
            if target != name:
                edges.setdefault(target, line)
        graph[name] = edges
    return graph


def find_cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One import cycle, as a list of modules that ends where it starts, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, {})):
            if state.get(target) == 1:
                return [*stack[stack.index(target):], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def layering_violations(graph: dict[str, dict[str, int]]) -> list[str]:
    """Imports that climb to a higher layer, one readable line each."""
    problems = []
    for module, targets in sorted(graph.items()):
        own = layer_of(module)
        for target, line in sorted(targets.items()):
            theirs = layer_of(target)
            # A package's __init__ may re-export its own submodules.
            if target.startswith(module + ".") or module == "bot":
                continue
            if RANK[theirs] < RANK[own]:
                problems.append(f"{module}:{line} ({own}) imports {target} ({theirs})")
    return problems


def test_bot_has_no_import_cycles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_module_imports_a_layer_above_its_own() -> None:
    assert layering_violations(import_graph()) == []


def test_every_module_is_in_a_layer() -> None:
    for module in import_graph():
        layer_of(module)


def test_steps_never_import_the_facade_and_parts_never_import_faces() -> None:
    graph = import_graph()
    for module, targets in graph.items():
        if layer_of(module) == "step":
            assert "bot.core" not in targets, f"{module} imports the facade"
        if layer_of(module) != "face":
            assert not any(layer_of(t) == "face" for t in targets), (
                f"{module} imports a face: {sorted(targets)}")


@pytest.mark.parametrize("source, expected", [
    ("from bot.core import Bot\n", "bot.pipeline.poll:1 (step) imports bot.core (facade)"),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.core import Bot\n",
     "bot.pipeline.poll:3 (step) imports bot.core (facade)"),
    ("def f():\n    from bot.cli import main\n",
     "bot.pipeline.poll:2 (step) imports bot.cli (face)"),
])
def test_the_check_catches_a_step_that_imports_upward(tmp_path: Path, source: str,
                                                       expected: str) -> None:
    package = tmp_path / "bot"
    (package / "pipeline").mkdir(parents=True)
    for name in ("__init__.py", "core.py", "cli.py", "pipeline/__init__.py"):
        (package / name).write_text("")
    (package / "pipeline" / "poll.py").write_text(source)
    assert layering_violations(import_graph(package)) == [expected]


def test_the_check_catches_a_cycle_hidden_under_type_checking(tmp_path: Path) -> None:
    package = tmp_path / "bot"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "feeds.py").write_text("from bot.articles import Article\n")
    (package / "articles.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.feeds import x\n")
    assert find_cycle(import_graph(package)) in (
        ["bot.articles", "bot.feeds", "bot.articles"], ["bot.feeds", "bot.articles", "bot.feeds"])
