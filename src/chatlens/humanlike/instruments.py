"""Questionnaire instruments (HAL16Q, HAL32Q, user rubrics) as validated data files.

Why one object: the HAL study's worst defect (hal.md section 1.4) came from keeping the
statements, their prompt order and the weight vector in three places that drifted apart. Here an
:class:`Instrument` is one frozen value holding the items (key, statement, weight), the scale, the
role wording, the prompt messages and the output format. Judges render prompts from it, answers
are parsed *by item key* (never by position), and scores are computed from the same items.

Bundled instruments live in ``chatlens/data/instruments/*.yaml``; a user's YAML file with the same
schema (or one that ``extends:`` a bundled instrument and overrides weights) loads the same way.
Files load through the one data layer (:mod:`chatlens.datafiles`, kind ``instrument``): an
invalid file raises :class:`~chatlens.errors.DataFileError` naming the file and the key path.

The parts, one job each: :mod:`~chatlens.humanlike.instrument_types` (the frozen value),
:mod:`~chatlens.humanlike.instrument_schema` (building one from a checked file), :mod:`~chatlens.humanlike.prompt`
(rendering prompts), :mod:`~chatlens.humanlike.answers` (parsing answers by key) and
:mod:`~chatlens.humanlike.item_scores` (logits). This module finds and loads instrument files
(bundled names, user paths, ``extends:``) and re-exports the public names of the parts.

Examples
--------
>>> from chatlens.humanlike.instruments import load_instrument
>>> inst = load_instrument("hal16q")
>>> [m["role"] for m in inst.render_prompt("I: hi\\nW: hey whats up", "W")]
['system', 'user', 'system']
>>> parsed = inst.parse_answer('{"likert_evaluation": {"1": 5, "2": 1}}')
>>> parsed.values["1"], parsed.ok
(5, False)
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chatlens import datafiles
from chatlens.errors import DataFileError, InstrumentError
from chatlens.humanlike.answers import ParsedRatings, parse_ratings
from chatlens.humanlike.instrument_schema import instrument_from_dict, instrument_from_document
from chatlens.humanlike.instrument_types import Group, Instrument, Item, RoleWording, Scale
from chatlens.humanlike.item_scores import ratings_matrix, score_ratings
from chatlens.humanlike.prompt import clean_dialogue

_MAX_EXTENDS = 5


def list_instruments() -> list[str]:
    """Names of the bundled instruments (file stems of ``chatlens/data/instruments/*.yaml``)."""
    return [p.removeprefix("instruments/").removesuffix(".yaml")
            for p in datafiles.bundled("instrument") if p.count("/") == 1]


def _parent_ref(ref: str, file: str) -> str:
    """Where an ``extends:`` value points: a bundled name, a path beside ``file``, or a path."""
    if ref in list_instruments():
        return f"instruments/{ref}.yaml"
    beside = Path(file).parent / ref
    return str(beside) if not Path(ref).is_absolute() and beside.is_file() else ref


def resolve_extends(data: Any, file: str, depth: int = 0) -> Any:
    """Merge a file that ``extends:`` another instrument (the data layer's ``prepare`` hook).

    Top-level keys override the parent's; ``weights: {key: w}`` replaces item weights and
    (unless ``select_weighted: false``) keeps only the weighted items. Runs before the merged
    document is checked against :class:`~chatlens.datafiles.schemas.InstrumentFile`.
    """
    if not isinstance(data, Mapping) or data.get("extends") is None:
        return data
    if depth >= _MAX_EXTENDS:
        raise DataFileError(file, "extends", f"a chain of at most {_MAX_EXTENDS} files", depth + 1)
    parent, parent_file = datafiles.read_document(_parent_ref(str(data["extends"]), file))
    parent = resolve_extends(parent, parent_file, depth + 1)
    if not isinstance(parent, Mapping):
        raise DataFileError(parent_file, "<root>", "a mapping", type(parent).__name__)
    merged = {**parent, **{k: v for k, v in data.items() if k not in ("extends", "weights", "select_weighted")}}
    merged.setdefault("key_space", parent.get("key_space") or parent.get("name"))
    weights = data.get("weights")
    if weights is None:
        return merged
    if not isinstance(weights, Mapping):
        raise DataFileError(file, "weights", "a mapping of item key to number", weights)
    base_items = [i for i in merged.get("items") or [] if isinstance(i, Mapping)]
    base_keys = [str(i.get("key")) for i in base_items]
    unknown = [str(k) for k in weights if str(k) not in base_keys]
    if unknown:
        raise DataFileError(file, "weights", f"keys of {data['extends']!r}'s items {base_keys}", unknown)
    wmap = {str(k): v for k, v in weights.items()}
    keep_only = bool(data.get("select_weighted", True))
    merged["items"] = [
        {**it, "weight": wmap.get(str(it.get("key")), 0.0)}
        for it in base_items
        if str(it.get("key")) in wmap or not keep_only
    ]
    return merged


def load_instrument(name_or_path: str | Path | Instrument) -> Instrument:
    """Load a bundled instrument by name (see :func:`list_instruments`) or a user YAML file.

    A user file may be complete, or ``extends: <name or path>`` and override top-level keys;
    ``weights: {key: w}`` then replaces item weights and (unless ``select_weighted: false``)
    keeps only the weighted items. This is the format ``chatlens humanlike fit`` writes.
    Unknown bundled names get "Did you mean ..."; a bad file raises
    :class:`~chatlens.errors.DataFileError` naming the file and key.
    """
    if isinstance(name_or_path, Instrument):
        return name_or_path
    p = Path(name_or_path)
    if isinstance(name_or_path, Path) or p.suffix in (".yaml", ".yml", ".json") or p.exists():
        doc, record = datafiles.load_with_record(p, kind="instrument")
    else:
        names = list_instruments()
        if str(name_or_path) not in names:
            close = difflib.get_close_matches(str(name_or_path), names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            msg = (f"unknown instrument {str(name_or_path)!r}; expected a bundled name or a YAML "
                   f"path.{hint} Available: {', '.join(names)}")
            raise InstrumentError(msg)
        doc, record = datafiles.load_with_record(f"instruments/{name_or_path}.yaml", kind="instrument")
    return instrument_from_document(doc, record.file)


def validate_instrument(name_or_path: str | Path) -> Instrument:
    """Load and validate; raises :class:`InstrumentError` on any problem (for CI and users)."""
    return load_instrument(name_or_path)


__all__ = [
    "Group",
    "Instrument",
    "Item",
    "ParsedRatings",
    "RoleWording",
    "Scale",
    "clean_dialogue",
    "instrument_from_dict",
    "instrument_from_document",
    "list_instruments",
    "load_instrument",
    "parse_ratings",
    "resolve_extends",
    "ratings_matrix",
    "score_ratings",
    "validate_instrument",
]
