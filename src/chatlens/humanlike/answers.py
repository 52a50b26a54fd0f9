"""Parsing a judge's answer by item key (never by position).

Why by key: the HAL study's worst defect (hal.md section 1.4) came from reading answers by
position after the statement order drifted. Answers are hostile input: bounded in size, code
fences and chatter around the JSON tolerated, every deviation recorded in
:class:`ParsedRatings` rather than silently filled.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from chatlens._json import loads_noting_repeats

if TYPE_CHECKING:
    from chatlens.humanlike.instrument_types import Instrument, Scale

__all__ = ["MAX_ANSWER_CHARS", "ParsedRatings", "parse_ratings"]


#: Upper bound on the judge answer we try to parse (answers are hostile input).
MAX_ANSWER_CHARS = 200_000


@dataclass(frozen=True)
class ParsedRatings:
    """A judge answer parsed by item key.

    ``values`` maps every item key to its integer rating or ``None`` (missing or invalid);
    ``problems`` lists every deviation found (missing key, out of range, unexpected key, ...);
    ``error`` holds the judge's own ``{"error": ...}`` message or a parse failure.
    """

    values: Mapping[str, int | None]
    problems: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when every item has a valid rating and nothing else was wrong."""
        return self.error is None and not self.problems and all(
            v is not None for v in self.values.values()
        )

    @property
    def reason(self) -> str | None:
        """One line describing what was wrong, or None when :attr:`ok`."""
        if self.ok:
            return None
        parts = ([self.error] if self.error else []) + list(self.problems)
        return "; ".join(parts) if parts else "missing ratings"


_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


def _load_json_object(text: str) -> tuple[Any, str | None, list[str]]:
    """The answer's JSON (tolerating fences and chatter), a parse error, and repeated keys."""
    text = text.strip()
    if len(text) > MAX_ANSWER_CHARS:
        return None, f"answer too long ({len(text)} characters > {MAX_ANSWER_CHARS})", []
    candidates = [text, _FENCE.sub("", text).strip()]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for cand in candidates:
        try:
            doc, repeated = loads_noting_repeats(cand)
            return doc, None, repeated
        except (json.JSONDecodeError, ValueError):
            continue
        except RecursionError:  # nested deeper than the parser's stack: not a ratings object
            return None, "answer is JSON nested too deeply", []
    return None, "answer is not a JSON object", []


def _as_rating(value: Any, scale: Scale) -> tuple[int | None, str | None]:
    if isinstance(value, bool) or value is None:
        return None, f"expected an integer {scale.min}-{scale.max}, got {value!r}"
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None, f"expected an integer {scale.min}-{scale.max}, got {value!r}"
    if not isinstance(value, (int, float)) or isinstance(value, float) and (
        not math.isfinite(value) or not value.is_integer()
    ):
        return None, f"expected an integer {scale.min}-{scale.max}, got {value!r}"
    v = int(value)
    if not scale.min <= v <= scale.max:
        return None, f"rating {v} outside {scale.min}-{scale.max}"
    return v, None


def _leaves(obj: Mapping[str, Any], depth: int = 0) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for k, v in obj.items():
        if isinstance(v, Mapping) and depth < 4:
            out.extend(_leaves(v, depth + 1))
        else:
            out.append((str(k).strip(), v))
    return out


def parse_ratings(text: str | Mapping[str, Any] | None, instrument: Instrument) -> ParsedRatings:
    """Parse a judge's answer into per-item ratings, **by item key**.

    Accepts the flat (``{"likert_evaluation": {"1": 4, ...}}``) and grouped
    (``{"likert_evaluation": {"Group 1": {"1": 4, ...}, ...}}``) layouts, with or without the
    root key, code fences or surrounding chatter. Keys are matched exactly after stripping, so
    an answer with keys in any order scores the same; a missing key is ``None`` and is reported,
    never filled from another position.
    """
    empty = dict.fromkeys(instrument.keys)
    if text is None:
        return ParsedRatings(empty, (), "empty answer")
    repeated: list[str] = []
    if isinstance(text, Mapping):
        data: Any = text
    else:
        data, err, repeated = _load_json_object(str(text))
        if err:
            return ParsedRatings(empty, (), err)
    if not isinstance(data, Mapping):
        return ParsedRatings(empty, (), f"expected a JSON object, got {type(data).__name__}")
    if "error" in data and not (instrument.output_root_key and instrument.output_root_key in data):
        return ParsedRatings(empty, (), f"judge returned error: {str(data['error'])[:300]}")
    root = instrument.output_root_key
    body = data.get(root, data) if root else data
    if not isinstance(body, Mapping):
        return ParsedRatings(empty, (), f"'{root}' is not an object")
    wanted = set(instrument.keys)
    values: dict[str, int | None] = dict(empty)
    seen: set[str] = set()
    problems: list[str] = []
    for key, raw in _leaves(body):
        if key not in wanted:
            problems.append(f"unexpected key {key!r}")
            continue
        if key in seen:
            problems.append(f"duplicate key {key!r}")
            values[key] = None
            continue
        seen.add(key)
        val, why = _as_rating(raw, instrument.scale)
        values[key] = val
        if why:
            problems.append(f"item {key}: {why}")
    for key in dict.fromkeys(k.strip() for k in repeated):  # within one object: last won
        if key in wanted or key == root:  # an item's rating, or the whole body, is ambiguous
            problems.append(f"duplicate key {key!r}")
            if key in wanted:
                values[key] = None
    missing = [k for k in instrument.keys if k not in seen]
    if missing:
        problems.append("missing items " + ", ".join(missing))
    return ParsedRatings(values, tuple(problems), None)
