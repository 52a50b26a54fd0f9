"""Questionnaire instruments (HAL16Q, HAL32Q, user rubrics) as validated data files.

Why one object: the HAL study's worst defect (hal.md section 1.4) came from keeping the
statements, their prompt order and the weight vector in three places that drifted apart. Here an
:class:`Instrument` is one frozen value holding the items (key, statement, weight), the scale, the
role wording, the prompt messages and the output format. Judges render prompts from it, answers
are parsed *by item key* (never by position), and scores are computed from the same items.

Bundled instruments live in ``chatlens/data/instruments/*.yaml``; a user's YAML file with the same
schema (or one that ``extends:`` a bundled instrument and overrides weights) loads the same way.
Invalid files raise :class:`~chatlens.errors.InstrumentError` naming the file, key and item.

The parts, one job each: :mod:`~chatlens.humanlike.instrument_types` (the frozen value),
:mod:`~chatlens.humanlike.instrument_schema` (validating a file), :mod:`~chatlens.humanlike.prompt`
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

from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from chatlens import _yaml
from chatlens.errors import InstrumentError
from chatlens.humanlike.answers import ParsedRatings, parse_ratings
from chatlens.humanlike.instrument_schema import instrument_from_dict
from chatlens.humanlike.instrument_types import Group, Instrument, Item, RoleWording, Scale
from chatlens.humanlike.item_scores import ratings_matrix, score_ratings
from chatlens.humanlike.prompt import clean_dialogue


def _bundled_dir() -> Any:
    return resources.files("chatlens").joinpath("data", "instruments")


def list_instruments() -> list[str]:
    """Names of the bundled instruments (file stems under ``chatlens/data/instruments``)."""
    return sorted(
        p.name[: -len(".yaml")]
        for p in _bundled_dir().iterdir()
        if p.name.endswith(".yaml") and not p.name.startswith("_")
    )


def _read_yaml(name_or_path: str | Path) -> tuple[dict[str, Any], str]:
    import yaml

    text: str
    where: str
    p = Path(name_or_path)
    if isinstance(name_or_path, Path) or p.suffix in (".yaml", ".yml", ".json") or p.exists():
        if not p.is_file():
            msg = f"instrument file {str(p)!r} not found"
            raise InstrumentError(msg)
        text, where = p.read_text(encoding="utf-8"), str(p)
    else:
        res = _bundled_dir().joinpath(f"{name_or_path}.yaml")
        if not res.is_file():
            import difflib

            names = list_instruments()
            close = difflib.get_close_matches(str(name_or_path), names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            msg = (f"unknown instrument {str(name_or_path)!r}; expected a bundled name or a YAML "
                   f"path.{hint} Available: {', '.join(names)}")
            raise InstrumentError(msg)
        text, where = res.read_text(encoding="utf-8"), f"<bundled>/{name_or_path}.yaml"
    try:
        data = _yaml.safe_load(text)
    except yaml.YAMLError as exc:
        msg = f"instrument file {where}: not valid YAML ({exc})"
        raise InstrumentError(msg) from None
    if not isinstance(data, dict):
        msg = f"instrument file {where}: expected a mapping at top level, got {type(data).__name__}"
        raise InstrumentError(msg)
    return data, where


def _resolve_extends(data: dict[str, Any], where: str, depth: int = 0) -> dict[str, Any]:
    """Merge a file that ``extends:`` another instrument (top-level keys override)."""
    parent_ref = data.get("extends")
    if parent_ref is None:
        return data
    if depth > 5:
        msg = f"instrument file {where}: 'extends' chain deeper than 5"
        raise InstrumentError(msg)
    ref = str(parent_ref)
    if ref not in list_instruments() and not Path(ref).is_absolute():
        cand = Path(where).parent / ref
        if cand.is_file():
            ref = str(cand)
    parent, pwhere = _read_yaml(ref)
    parent = _resolve_extends(parent, pwhere, depth + 1)
    merged = {**parent, **{k: v for k, v in data.items() if k not in ("extends", "weights")}}
    merged.setdefault("key_space", parent.get("key_space") or parent.get("name"))
    weights = data.get("weights")
    if weights is not None:
        if not isinstance(weights, Mapping):
            msg = f"instrument file {where}: key 'weights' must map item key -> number"
            raise InstrumentError(msg)
        base_items = merged.get("items") or []
        base_keys = [str(i.get("key")) for i in base_items if isinstance(i, Mapping)]
        unknown = [str(k) for k in weights if str(k) not in base_keys]
        if unknown:
            msg = (f"instrument file {where}: key 'weights' names items {unknown} that "
                   f"{parent_ref!r} does not have (items: {', '.join(base_keys)})")
            raise InstrumentError(msg)
        wmap = {str(k): v for k, v in weights.items()}
        keep_only = bool(data.get("select_weighted", True))
        new_items = []
        for it in base_items:
            k = str(it.get("key"))
            if k in wmap:
                new_items.append({**it, "weight": wmap[k]})
            elif not keep_only:
                new_items.append({**it, "weight": 0.0})
        merged["items"] = new_items
    merged.pop("select_weighted", None)
    return merged


def load_instrument(name_or_path: str | Path | Instrument) -> Instrument:
    """Load a bundled instrument by name (see :func:`list_instruments`) or a user YAML file.

    A user file may be complete, or ``extends: <name or path>`` and override top-level keys;
    ``weights: {key: w}`` then replaces item weights and (unless ``select_weighted: false``)
    keeps only the weighted items. This is the format ``chatlens humanlike fit`` writes.
    """
    if isinstance(name_or_path, Instrument):
        return name_or_path
    data, where = _read_yaml(name_or_path)
    data = _resolve_extends(data, where)
    return instrument_from_dict(data, where)


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
    "list_instruments",
    "load_instrument",
    "parse_ratings",
    "ratings_matrix",
    "score_ratings",
    "validate_instrument",
]
