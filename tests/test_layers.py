"""The one-way flow of DESIGN.md, enforced: a package imports only from layers to its left.

source → corpus → signals → features → statistics → report; services (llm, stats) sit low so any
layer may use them; orchestration (pipeline, run) and the CLI sit on top. A new import that points
the wrong way (say, ``corpus`` importing ``signals``) fails here with the offending file named.

Inside a package the layers are modules, and the same rule holds as "no cycles": the module import
graph — every import statement, including those inside functions, which hide a cycle from Python
until the function runs — must be acyclic. Imports under ``if TYPE_CHECKING:`` never execute and
are left out, so annotations may name a type from a module above.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import chatlens

PACKAGE = Path(chatlens.__file__).resolve().parent

BASE = {"errors", "_override", "_progress", "_lazy", "_cache", "_json", "_plot", "_repr", "_typing", "_yaml", "__init__", "datafiles", "vocabulary"}
RANK = {
    "corpus": 1,
    "llm": 1,
    "stats": 1,
    "signals": 2,
    "ratings": 2,
    "engine": 2,
    "synth": 2,
    "features": 3,
    "humanlike": 3,
    "instrument": 4,
    "validate": 4,
    "pipeline": 4,
    "align": 4,
    "report": 4,
    "query": 4,
    "audit": 5,
    "run": 5,
    "cli": 6,
}


def _unit(path: Path) -> str:
    rel = path.relative_to(PACKAGE).parts
    return rel[0] if len(rel) > 1 else rel[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        targets |= {n.split(".")[1] for n in names if n.startswith("chatlens.")}
    return targets


def test_every_unit_has_a_layer() -> None:
    units = {_unit(p) for p in PACKAGE.rglob("*.py")} - BASE
    assert units <= set(RANK), f"give these a layer in tests/test_layers.py: {sorted(units - set(RANK))}"


def test_imports_point_left_only() -> None:
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        unit = _unit(path)
        if unit in BASE:
            continue
        for target in _imports(path) - BASE - {unit}:
            if RANK.get(target, 99) >= RANK[unit]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports chatlens.{target} (layer {RANK.get(target)} >= {RANK[unit]})")
    assert not wrong, "imports against the one-way flow:\n" + "\n".join(wrong)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement at any depth, except the bodies of ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for child in node.orelse for n in _runtime_imports(ast.Module([child], [])))
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        yield from _runtime_imports(node)


def module_graph() -> dict[str, set[str]]:
    """``chatlens`` module -> the ``chatlens`` modules it imports (relative imports resolved;
    ``from pkg import name`` points at ``pkg.name`` when that is a module, else at ``pkg``)."""
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
                continue
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            targets |= {f"{base}.{a.name}" if f"{base}.{a.name}" in paths else base for a in node.names}
        graph[name] = {t for t in targets if t in paths and t != name}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle (as a closed path ``a -> b -> a``) per strongly connected component of size > 1."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan; the graph is a few hundred modules deep at most
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                components.append(comp)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    cycles = []
    for comp in components:
        start = min(comp)
        path, seen = [start], {start}
        while True:  # walk inside the component until the path closes on itself
            nxt = min(w for w in graph[path[-1]] if w in comp)
            if nxt in seen:
                cycles.append([*path[path.index(nxt):], nxt])
                break
            path.append(nxt)
            seen.add(nxt)
    return cycles


def test_cycle_finder_sees_function_level_imports() -> None:
    graph = {"p.a": {"p.b"}, "p.b": {"p.c"}, "p.c": {"p.a"}, "p.d": {"p.a"}}
    assert find_cycles(graph) == [["p.a", "p.b", "p.c", "p.a"]]
    assert find_cycles({"p.a": {"p.b"}, "p.b": set()}) == []
    hidden = ast.parse("def f():\n    import chatlens.x\nif TYPE_CHECKING:\n    import chatlens.y\n")
    assert [a.name for n in _runtime_imports(hidden) for a in n.names] == ["chatlens.x"]


def test_no_import_cycles_between_modules() -> None:
    graph = module_graph()
    assert "chatlens.ratings.plots" in graph["chatlens.ratings.io"]  # imported inside write_result
    assert "chatlens.ratings.result" not in graph["chatlens.ratings.io"]  # annotation only
    cycles = find_cycles(graph)
    assert not cycles, "import cycles (function-level imports included):\n" + "\n".join(
        " -> ".join(c) for c in cycles)
