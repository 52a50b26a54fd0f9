"""JSON parsing that notices keys given twice in one object.

Why: JSON leaves a repeated key's meaning open; Python's parser (and ``JSON.parse``) keep the last
value without a word. Corpus readers count the values so dropped (``repairs["duplicate_key"]``),
the questionnaire answer parser names the repeated items and the LLM answer parser re-asks;
all read through this one hook. :func:`strict_json` makes a value writable as strict JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any


def recording_repeats(found: list[str]) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """An ``object_pairs_hook`` that builds each object as ``json`` does (last value wins) and
    appends every key given again to ``found``."""

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                found.append(key)
            out[key] = value
        return out

    return hook


def loads_noting_repeats(text: str | bytes) -> tuple[Any, list[str]]:
    """``json.loads(text)`` (last value wins) and the keys repeated inside an object, in order.

    >>> loads_noting_repeats('{"a": 1, "b": {"c": 2, "c": 3}, "a": 4}')
    ({'a': 4, 'b': {'c': 3}}, ['c', 'a'])
    """
    repeated: list[str] = []
    return json.loads(text, object_pairs_hook=recording_repeats(repeated)), repeated


def strict_json(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by ``None`` (JSON ``null``).

    Why: a not-estimable statistic (a risk ratio of 0 when no refused conversation ended) has
    NaN bounds, and ``json.dumps`` wrote them as the bare token ``NaN``, which is not JSON:
    ``JSON.parse``, ``jq`` and most other readers of ``summary.json`` refused the whole file.
    The estimate keeps its ``estimable: false``, which says why the bounds are missing. Every
    JSON file chatlens writes for a reader (``summary.json``, ``chatlens validate --json``,
    ``fit.json``, ``turing eval --out``, a discovery run's step records, the judge's summary)
    goes through it."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    return value
