"""The engine's layout: each subpackage imports only the layers its docstring names, and no import cycle exists.

Imports are read from the source (module level and inside functions: a lazy import is still a run-time dependency);
only imports under `if TYPE_CHECKING:` are left out, because they never run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "core"
TOP_LEVEL = {"core.errors", "core.atomic"}  # foundation modules every layer may use


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in CORE.rglob("*.py")}


def is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def runtime_imports(path: Path) -> set[str]:
    """Every core module `path` imports when it runs (a `from pkg import name` counts pkg.name if that is a module)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "core")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "core" and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


GRAPH = {name: runtime_imports(path) for name, path in MODULES.items()}


def subpackage(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2])


def declared_layers(package: str) -> tuple[str, ...]:
    tree = ast.parse((CORE / package.split(".")[1] / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "MAY_IMPORT" for t in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise AssertionError(f"{package}/__init__.py declares no MAY_IMPORT")


SUBPACKAGES = sorted({subpackage(m) for m in MODULES if m.count(".") >= 1 and (CORE / m.split(".")[1]).is_dir()})


def test_the_engine_is_cut_into_subpackages_by_concern():
    assert SUBPACKAGES == ["core.align", "core.data", "core.discovery", "core.embedding", "core.evaluation",
                           "core.runs", "core.studio", "core.tuning"]
    loose = sorted(m for m in MODULES if m.count(".") == 1 and subpackage(m) not in SUBPACKAGES)
    assert loose == ["core.__main__", "core.atomic", "core.bench", "core.cli", "core.errors"]


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_a_subpackage_imports_only_the_layers_its_docstring_names(package):
    allowed = set(declared_layers(package)) | {package}
    doc = ast.get_docstring(ast.parse((CORE / package.split(".")[1] / "__init__.py").read_text()))
    assert "May import: " + ", ".join(declared_layers(package)) + "." in doc  # the docstring says what the code checks
    wrong = {}
    for module, imports in GRAPH.items():
        if subpackage(module) != package:
            continue
        outside = {i for i in imports if (i if i in TOP_LEVEL else subpackage(i)) not in allowed}
        if outside:
            wrong[module] = sorted(outside)
    assert not wrong, f"imports outside {package}'s layers: {wrong}"


def test_the_foundation_imports_nothing_of_core():
    for name in TOP_LEVEL:
        assert GRAPH[name] == set(), name


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := walk(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            return cycle
    return None


def test_no_import_cycle_at_run_time():
    assert find_cycle(GRAPH) is None, " -> ".join(find_cycle(GRAPH))


def test_the_cycle_finder_finds_a_planted_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None


def test_type_checking_imports_are_not_counted(tmp_path):
    source = tmp_path / "m.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from core.align.train import Trainer\n"
                      "def f():\n    from core.errors import InputError\n")
    assert runtime_imports(source) == {"core.errors"}


def test_the_training_loop_and_the_plan_name_no_method_or_encoder():
    """The loop and the plan ask an encoder's kind and a method's objective, never a name: no string in either file
    is a method or encoder name (a new encoder or method then needs no edit here)."""
    from core.align.config import ENCODERS, METHODS

    for name in ("train.py", "plan.py"):
        tree = ast.parse((CORE / "align" / name).read_text())
        strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
        assert not strings & (set(ENCODERS) | set(METHODS)), (name, strings & (set(ENCODERS) | set(METHODS)))


def test_every_encoder_named_in_the_config_has_a_kind_with_a_factory():
    from core.align.config import ENCODERS, METHODS
    from core.align.encoders import ENCODER_KINDS
    from core.align.objectives import OBJECTIVES

    assert set(ENCODER_KINDS) == set(ENCODERS) and set(OBJECTIVES) == set(METHODS)
    assert all(callable(kind.build) and callable(kind.settle) for kind in ENCODER_KINDS.values())
    assert [name for name, kind in ENCODER_KINDS.items() if not kind.reads_text] == ["lookup"]
