"""The one-way flow of DESIGN.md, enforced: a package imports only from layers to its left.

source → corpus → signals → features → statistics → report; services (llm, stats) sit low so any
layer may use them; orchestration (pipeline, run) and the CLI sit on top. A new import that points
the wrong way (say, ``corpus`` importing ``signals``) fails here with the offending file named.
"""

from __future__ import annotations

import ast
from pathlib import Path

import chatlens

PACKAGE = Path(chatlens.__file__).resolve().parent

BASE = {"errors", "_progress", "_lazy", "_cache", "_typing", "_yaml", "__init__", "datafiles", "vocabulary"}
RANK = {
    "corpus": 1,
    "llm": 1,
    "stats": 1,
    "signals": 2,
    "ratings": 2,
    "engine": 2,
    "features": 3,
    "humanlike": 3,
    "validate": 3,
    "pipeline": 4,
    "report": 4,
    "query": 4,
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
