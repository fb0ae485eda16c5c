"""The shape of the source, read from its syntax trees: no module uses another's private names,
and the modules of backprop import each other without a circle.

Only imports that run when a module is loaded count (not those inside a function, which are
lazy); a name or attribute that starts with one underscore is private to the module (or the
class) that defines it.
"""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "backprop"

# Private names one module may use of another's: none.
ALLOWED_PRIVATE_USES: set[tuple[str, str]] = set()


def modules() -> dict[str, ast.Module]:
    """Every module of the package by dotted name (a package by its own name), parsed."""
    found = {}
    for path in sorted((SOURCE / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SOURCE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = ast.parse(path.read_text(encoding="utf-8"), str(path))
    return found


def is_package(name: str) -> bool:
    return (SOURCE / Path(*name.split(".")) / "__init__.py").exists()


def absolute(module: str, node: ast.ImportFrom) -> str:
    """The dotted name ``from <node.module> import ...`` refers to, from inside ``module``."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package(module) else 0)]
    return ".".join(base + ([node.module] if node.module else []))


def load_time_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """The import statements outside every function body: those that run when the module loads."""
    found = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append(child)
            visit(child)

    visit(tree)
    return found


def import_graph(found: dict[str, ast.Module]) -> dict[str, set[str]]:
    """``graph[a]``: the package's modules that module ``a`` imports when it loads."""
    graph: dict[str, set[str]] = {name: set() for name in found}
    for name, tree in found.items():
        for node in load_time_imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                source = absolute(name, node)
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in found else source
                    for alias in node.names
                ]
            graph[name] |= {target for target in targets if target in found and target != name}
    return graph


def private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_uses(name: str, tree: ast.Module) -> list[str]:
    """``from m import _x`` of a package module, ``m._x`` of an imported package module, and
    ``obj._x`` of any object but ``self`` and ``cls`` (another object's private attribute)."""
    imported_modules = {}  # local name -> the module it is bound to
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                imported_modules[alias.asname or alias.name.split(".")[0]] = alias.name
        elif isinstance(node, ast.ImportFrom):
            source = absolute(name, node)
            for alias in node.names:
                if private(alias.name) and source.split(".")[0] == PACKAGE:
                    uses.append(f"from {source} import {alias.name}")
                imported_modules[alias.asname or alias.name] = f"{source}.{alias.name}"
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and private(node.attr)):
            continue
        owner = node.value
        if isinstance(owner, ast.Name):
            if owner.id in ("self", "cls"):
                continue
            bound = imported_modules.get(owner.id)
            if bound is not None and bound.split(".")[0] != PACKAGE:
                continue  # another library's private names (argparse._SubParsersAction) are its business
        uses.append(ast.unparse(node))
    return uses


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def test_no_module_uses_another_modules_private_names():
    found = modules()
    uses = {(name, use) for name, tree in found.items() for use in private_uses(name, tree)}
    assert sorted(uses - ALLOWED_PRIVATE_USES) == []
    assert uses >= ALLOWED_PRIVATE_USES, "an allowed private use is gone: delete it from ALLOWED_PRIVATE_USES"


def test_the_modules_import_each_other_without_a_circle():
    assert circles(import_graph(modules())) == []


def test_the_checks_see_what_they_look_for():
    """The scanner finds a private import, a private attribute and a circle in made-up modules."""
    tree = ast.parse("from .conv import _pair\nimport backprop.io as io\nio._x\nmodel._dtype()\nself._ok\n")
    assert private_uses("backprop.layers.pooling", tree) == [
        "from backprop.layers.conv import _pair", "io._x", "model._dtype",
    ]
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    lazy = ast.parse("import os\ndef f():\n    from . import late\n")
    assert [type(node).__name__ for node in load_time_imports(lazy)] == ["Import"]


def test_no_sub_command_imports_another():
    """The commands (train, evaluate, ...) share helpers through cli's helper modules, never sideways."""
    found = modules()
    graph = import_graph(found)
    from backprop.cli import COMMANDS  # every sub-command, so that a new one cannot be left out here

    commands = {command.__name__ for command in COMMANDS}
    assert f"{PACKAGE}.cli.lab" in commands and commands <= set(found)
    sideways = sorted((name, target) for name in commands for target in graph[name] & commands)
    assert sideways == []
