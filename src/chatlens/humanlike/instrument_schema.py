"""Validating a parsed instrument file into an :class:`~chatlens.humanlike.instrument_types.Instrument`.

Why apart from loading: this is the instrument file's schema check, kept in one module so it can
be swapped for the package's data-file registry without touching how instruments are found,
extended or used. Every problem raises :class:`~chatlens.errors.InstrumentError` naming the file,
the key and the item.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from chatlens.errors import InstrumentError
from chatlens.humanlike.instrument_types import Group, Instrument, Item, RoleWording, Scale
from chatlens.humanlike.prompt import PLACEHOLDER_RE, PLACEHOLDERS

__all__ = ["instrument_from_dict"]


_TOP_KEYS = frozenset(
    {"name", "version", "description", "source", "scale", "scoring", "roles", "output", "groups",
     "prompt", "items", "extends", "weights", "select_weighted", "language", "key_space"}
)
_ITEM_KEYS = frozenset({"key", "statement", "weight", "reverse", "group"})


def _req(d: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if key not in d:
        msg = f"instrument file {where}: missing required key '{key}'"
        raise InstrumentError(msg)
    val = d[key]
    if not isinstance(val, kind):
        names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
        msg = f"instrument file {where}: key '{key}' must be {names}, got {type(val).__name__}"
        raise InstrumentError(msg)
    return val


def _number(val: Any, where: str, what: str) -> float:
    if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val):
        msg = f"instrument file {where}: {what} must be a finite number, got {val!r}"
        raise InstrumentError(msg)
    return float(val)


def instrument_from_dict(data: Mapping[str, Any], where: str = "<dict>") -> Instrument:
    """Validate a parsed instrument mapping into an :class:`Instrument`.

    Unknown keys, wrong types, duplicate item keys, items in undeclared groups, unknown prompt
    placeholders and a prompt without ``{dialogue}`` all raise :class:`InstrumentError` naming
    ``where`` (the file), the key and the item.
    """
    data = dict(data)
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        msg = (f"instrument file {where}: unknown top-level keys {unknown}; "
               f"allowed: {sorted(_TOP_KEYS)}")
        raise InstrumentError(msg)
    name = str(_req(data, "name", where, (str,)))
    version = str(_req(data, "version", where, (str, int, float)))
    description = str(data.get("description", ""))
    source = data.get("source", {}) or {}
    if not isinstance(source, Mapping):
        source = {"citation": str(source)}

    sc = _req(data, "scale", where, (dict,))
    smin, smax = sc.get("min"), sc.get("max")
    if not (isinstance(smin, int) and isinstance(smax, int) and smin < smax):
        msg = f"instrument file {where}: key 'scale' needs integers min < max, got {smin!r}, {smax!r}"
        raise InstrumentError(msg)
    anchors = []
    for k, v in (sc.get("anchors") or {}).items():
        if not isinstance(k, int) or not smin <= k <= smax:
            msg = f"instrument file {where}: scale anchor {k!r} is not an integer in {smin}-{smax}"
            raise InstrumentError(msg)
        anchors.append((k, str(v)))
    scale = Scale(smin, smax, tuple(sorted(anchors)))

    scoring = data.get("scoring") or {}
    if not isinstance(scoring, Mapping):
        msg = f"instrument file {where}: key 'scoring' must be a mapping"
        raise InstrumentError(msg)
    bias = scoring.get("bias")
    bias = None if bias is None else _number(bias, where, "scoring.bias")
    if scoring.get("link", "logit") != "logit":
        msg = f"instrument file {where}: scoring.link must be 'logit', got {scoring.get('link')!r}"
        raise InstrumentError(msg)

    groups: list[Group] = []
    for j, g in enumerate(data.get("groups") or []):
        if not isinstance(g, Mapping) or "key" not in g:
            msg = f"instrument file {where}: groups[{j}] must be a mapping with a 'key'"
            raise InstrumentError(msg)
        groups.append(Group(str(g["key"]), str(g.get("title", ""))))
    group_keys = {g.key for g in groups}

    raw_items = _req(data, "items", where, (list,))
    if not raw_items:
        msg = f"instrument file {where}: key 'items' is empty"
        raise InstrumentError(msg)
    items: list[Item] = []
    seen: set[str] = set()
    for j, it in enumerate(raw_items):
        if not isinstance(it, Mapping):
            msg = f"instrument file {where}: items[{j}] must be a mapping, got {type(it).__name__}"
            raise InstrumentError(msg)
        bad = sorted(set(it) - _ITEM_KEYS)
        if bad:
            msg = (f"instrument file {where}: items[{j}] (key {it.get('key')!r}) has unknown "
                   f"fields {bad}; allowed: {sorted(_ITEM_KEYS)}")
            raise InstrumentError(msg)
        if "key" not in it or "statement" not in it:
            msg = f"instrument file {where}: items[{j}] needs 'key' and 'statement'"
            raise InstrumentError(msg)
        key = str(it["key"]).strip()
        if not key or key in seen:
            msg = f"instrument file {where}: items[{j}] has an empty or duplicate key {key!r}"
            raise InstrumentError(msg)
        seen.add(key)
        statement = it["statement"]
        if not isinstance(statement, str) or not statement.strip():
            msg = f"instrument file {where}: item {key!r}: 'statement' must be non-empty text"
            raise InstrumentError(msg)
        weight = _number(it.get("weight", 0.0), where, f"item {key!r} weight")
        reverse = it.get("reverse", False)
        if not isinstance(reverse, bool):
            msg = f"instrument file {where}: item {key!r}: 'reverse' must be true/false"
            raise InstrumentError(msg)
        group = it.get("group")
        if group is not None and str(group) not in group_keys:
            msg = (f"instrument file {where}: item {key!r} is in group {group!r}, which is not "
                   f"declared under 'groups' ({sorted(group_keys)})")
            raise InstrumentError(msg)
        items.append(Item(key, statement.strip(), weight, reverse,
                          None if group is None else str(group)))

    roles_raw = data.get("roles") or {}
    roles: dict[str, RoleWording] = {}
    for label, rw in (roles_raw.get("labels") or {}).items():
        if not isinstance(rw, Mapping) or "speaker" not in rw or "other" not in rw:
            msg = f"instrument file {where}: roles.labels.{label} needs 'speaker' and 'other'"
            raise InstrumentError(msg)
        roles[str(label)] = RoleWording(str(rw["speaker"]), str(rw["other"]))
    default_role = roles_raw.get("default")
    if default_role is not None and str(default_role) not in roles:
        msg = f"instrument file {where}: roles.default {default_role!r} is not in roles.labels"
        raise InstrumentError(msg)

    out = data.get("output") or {}
    root_key = out.get("root_key", "likert_evaluation")
    grouped = bool(out.get("grouped", False))
    if grouped and not groups:
        msg = f"instrument file {where}: output.grouped is true but no 'groups' are declared"
        raise InstrumentError(msg)
    if grouped and any(i.group is None for i in items):
        msg = f"instrument file {where}: output.grouped is true but some items have no 'group'"
        raise InstrumentError(msg)

    prompt = _req(data, "prompt", where, (dict,))
    msgs_raw = _req(prompt, "messages", f"{where} (prompt)", (list,))
    messages: list[tuple[str, str]] = []
    n_dialogue = 0
    for j, m in enumerate(msgs_raw):
        if not isinstance(m, Mapping) or m.get("role") not in ("system", "user", "assistant"):
            msg = (f"instrument file {where}: prompt.messages[{j}] needs role "
                   "system/user/assistant and content")
            raise InstrumentError(msg)
        content = m.get("content")
        if not isinstance(content, str):
            msg = f"instrument file {where}: prompt.messages[{j}].content must be text"
            raise InstrumentError(msg)
        names = PLACEHOLDER_RE.findall(content)
        bad = sorted(set(names) - PLACEHOLDERS)
        if bad:
            msg = (f"instrument file {where}: prompt.messages[{j}] uses unknown placeholders "
                   f"{bad}; allowed: {sorted(PLACEHOLDERS)}")
            raise InstrumentError(msg)
        n_dialogue += names.count("dialogue")
        messages.append((str(m["role"]), content))
    if n_dialogue != 1:
        msg = (f"instrument file {where}: the prompt must contain {{dialogue}} exactly once, "
               f"found {n_dialogue}")
        raise InstrumentError(msg)

    return Instrument(
        name=name, version=version, description=description, source=dict(source), scale=scale,
        items=tuple(items), bias=bias, roles=roles,
        default_role=None if default_role is None else str(default_role),
        messages=tuple(messages), output_root_key=None if root_key is None else str(root_key),
        output_grouped=grouped, groups=tuple(groups), clean=bool(prompt.get("clean", True)),
        key_space=str(data.get("key_space") or name), path=where,
    )
