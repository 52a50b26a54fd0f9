"""Personas: read them, expand each into sub-personas by a seeded rule, split train/test.

The rule is HAL's 4-bucket oversampling (hal.md §3.1), its parameters a data file
(``data/align/oversampling.yaml``, whose comment states the rule). Unlike HAL, every random step
draws from one ``numpy.random.default_rng(seed)`` stream, so the same file and seed give the same
sub-personas and the same split on every machine, and the split is by *parent* persona: the four
sub-personas of one person never land on both sides.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from chatlens import datafiles
from chatlens.datafiles.schemas import AlignOversampling
from chatlens.errors import InvalidParameterError, SchemaError, SourceNotFoundError

DEFAULT_RULE = "align/oversampling.yaml"


def read_personas(path: str | Path) -> list[dict[str, Any]]:
    """Personas from a JSON array of objects, a JSONL file or a CSV (one persona per row).

    Raises :class:`~chatlens.errors.SchemaError` naming the file (and the row) when the file is
    empty or a row is not an object with attributes.
    """
    p = Path(path)
    if not p.is_file():
        msg = f"Persona file {p} does not exist."
        raise SourceNotFoundError(msg)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        import polars as pl

        rows: list[Any] = pl.read_csv(p, infer_schema=False, glob=False).to_dicts()
    elif suffix in (".jsonl", ".ndjson"):
        rows = []
        # "\n" only: splitlines() would also cut at a raw U+2028/U+2029/U+0085 inside a value
        for i, line in enumerate(p.read_text(encoding="utf-8").split("\n"), start=1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except ValueError as exc:
                    msg = f"Persona file {p}, line {i}: not valid JSON ({exc})."
                    raise SchemaError(msg) from None
    else:
        try:
            rows = json.loads(p.read_text(encoding="utf-8"))
        except ValueError as exc:
            msg = f"Persona file {p}: not valid JSON ({exc}). Expected an array of objects."
            raise SchemaError(msg) from None
        if isinstance(rows, dict):  # {"personas": [...]} or {id: persona}
            rows = rows.get("personas", list(rows.values()))
    if not isinstance(rows, list) or not rows:
        msg = f"Persona file {p} holds no personas. Expected a non-empty list of objects."
        raise SchemaError(msg)
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not row:
            msg = (
                f"Persona file {p}, persona {i}: expected an object of attributes "
                f"(age, sex, ...). Got {str(row)[:80]!r}."
            )
            raise SchemaError(msg)
    return rows


#: The ids :func:`expand_personas` gives every sub-persona (not attributes of a persona).
IDS = ("persona_id", "parent_id")


def load_rule(rule: str | Path | AlignOversampling | None = None) -> AlignOversampling:
    """The oversampling parameters (the bundled HAL rule by default)."""
    if isinstance(rule, AlignOversampling):
        return rule
    return datafiles.load(rule or DEFAULT_RULE, kind="align-oversampling")


def _kept(value: Any, drop: set[str]) -> bool:
    return value is not None and str(value).strip() not in drop


def _buckets(n_attrs: int, rule: AlignOversampling) -> tuple[int, int, int]:
    """(n, step, window) for ``n_attrs`` shuffled attributes: n is reduced until a window holds
    at least ``min_attributes`` attributes (or the attributes run out)."""
    n = rule.n_buckets
    while n > 1 and 2 * (n_attrs // (n + 1)) < rule.min_attributes:
        n -= 1
    step = max(n_attrs // (n + 1), 1)
    return n, step, min(2 * step, n_attrs) if n > 1 else n_attrs


def expand_personas(
    personas: list[dict[str, Any]],
    *,
    rule: str | Path | AlignOversampling | None = None,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Sub-personas: each persona dealt into up to ``n_buckets`` overlapping attribute buckets.

    Every sub-persona carries ``persona_id`` (= parent index × n_buckets + bucket), ``parent_id``
    and its attributes; ``always_keep`` attributes (age, sex) are in every bucket and the age is
    jittered.

    Examples
    --------
    >>> people = [{"age": 40, "sex": "F", "job": "nurse", "city": "Ohio", "pet": "cat",
    ...            "car": "none", "food": "pasta", "sport": "golf", "music": "jazz",
    ...            "hobby": "chess", "lang": "en", "kids": 2}]
    >>> subs = expand_personas(people, seed=1)
    >>> [s["persona_id"] for s in subs], [len(s) - 4 for s in subs], subs[0]["sex"]
    ([0, 1, 2, 3], [4, 4, 4, 4], 'F')
    """
    r = load_rule(rule)
    rng = np.random.default_rng(seed)
    drop = {str(v).strip() for v in r.drop_values}
    out: list[dict[str, Any]] = []
    for parent, persona in enumerate(personas):
        taken = [k for k in IDS if k in persona]
        if taken:
            # an attribute of that name overwrote the numbering in the buckets that dealt it:
            # two sub-personas shared an id, or one person's sub-personas got other parents
            # (and could land on both sides of the split)
            msg = (
                f"Persona {parent} has an attribute named {taken[0]!r}, which chatlens uses to "
                f"number sub-personas ({', '.join(IDS)}). Rename that attribute."
            )
            raise SchemaError(msg)
        attrs = {k: v for k, v in persona.items() if _kept(v, drop)}
        keep = {k: attrs[k] for k in r.always_keep if k in attrs}
        others = [k for k in attrs if k not in keep]
        order = [others[i] for i in rng.permutation(len(others))]
        n, step, window = _buckets(len(order), r)
        tripled = order * 3
        for i in range(n):
            chosen = tripled[i * step : i * step + window] if order else []
            sub = {"persona_id": parent * r.n_buckets + i, "parent_id": parent, **keep}
            sub.update({k: attrs[k] for k in dict.fromkeys(chosen)})
            if r.age_key in sub:
                try:
                    age = float(sub[r.age_key])
                except (TypeError, ValueError):
                    pass
                else:
                    sub[r.age_key] = round(age * rng.uniform(1 - r.age_jitter, 1 + r.age_jitter))
            out.append(sub)
    return out


def split_personas(
    subs: list[dict[str, Any]], *, test_fraction: float = 0.1, seed: int = 0
) -> dict[int, str]:
    """``{persona_id: "train" | "test"}``, drawn by parent (HAL: 450/50 parents, unseeded).

    >>> subs = [{"persona_id": i, "parent_id": i // 4} for i in range(40)]
    >>> split = split_personas(subs, test_fraction=0.2, seed=3)
    >>> sum(v == "test" for v in split.values()), len({s["parent_id"] for s in subs
    ...     if split[s["persona_id"]] == "test"})
    (8, 2)
    """
    if not 0.0 <= test_fraction < 1.0:
        msg = f"The 'test_fraction' parameter of split_personas must be in [0, 1). Got {test_fraction}."
        raise InvalidParameterError(msg)
    parents = sorted({s["parent_id"] for s in subs})
    n_test = round(len(parents) * test_fraction)
    if test_fraction > 0 and len(parents) > 1:
        n_test = min(max(n_test, 1), len(parents) - 1)
    rng = np.random.default_rng(seed)
    test = {parents[i] for i in rng.permutation(len(parents))[:n_test]}
    return {s["persona_id"]: "test" if s["parent_id"] in test else "train" for s in subs}


def describe_persona(sub: dict[str, Any]) -> str:
    """A sub-persona's attributes as ``key: value`` lines (ids left out), for the prompt."""
    lines = []
    for k, v in sub.items():
        if k in ("persona_id", "parent_id"):
            continue
        shown = json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else str(v)
        lines.append(f"{k}: {shown}")
    return "\n".join(lines)
