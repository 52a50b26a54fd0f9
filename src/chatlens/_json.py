"""JSON parsing that notices keys given twice in one object.

Why: JSON leaves a repeated key's meaning open; Python's parser (and ``JSON.parse``) keep the last
value without a word. Corpus readers count the values so dropped (``repairs["duplicate_key"]``)
and the questionnaire answer parser names the repeated items; both read through this one hook.
"""

from __future__ import annotations

import json
from typing import Any


def loads_noting_repeats(text: str | bytes) -> tuple[Any, list[str]]:
    """``json.loads(text)`` (last value wins) and the keys repeated inside an object, in order.

    >>> loads_noting_repeats('{"a": 1, "b": {"c": 2, "c": 3}, "a": 4}')
    ({'a': 4, 'b': {'c': 3}}, ['c', 'a'])
    """
    repeated: list[str] = []

    def last_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in pairs:
            if key in out:
                repeated.append(key)
            out[key] = value
        return out

    return json.loads(text, object_pairs_hook=last_wins), repeated
