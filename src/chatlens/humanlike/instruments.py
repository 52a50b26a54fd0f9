"""Questionnaire instruments (HAL16Q, HAL32Q, user rubrics) as validated data files.

Why one object: the HAL study's worst defect (hal.md section 1.4) came from keeping the
statements, their prompt order and the weight vector in three places that drifted apart. Here an
:class:`Instrument` is one frozen value holding the items (key, statement, weight), the scale, the
role wording, the prompt messages and the output format. Judges render prompts from it, answers
are parsed *by item key* (never by position), and scores are computed from the same items.

Bundled instruments live in ``chatlens/data/instruments/*.yaml``; a user's YAML file with the same
schema (or one that ``extends:`` a bundled instrument and overrides weights) loads the same way.
Invalid files raise :class:`~chatlens.errors.InstrumentError` naming the file, key and item.

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

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from chatlens import _yaml
from chatlens.errors import InstrumentError, InvalidParameterError

#: Placeholders a prompt template may use; anything else in ``{lower_case}`` form is an error.
PLACEHOLDERS: frozenset[str] = frozenset(
    {"dialogue", "speaker", "other", "speaker_label", "n_items", "anchors", "statements",
     "output_example"}
)
_PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")
_TOP_KEYS = frozenset(
    {"name", "version", "description", "source", "scale", "scoring", "roles", "output", "groups",
     "prompt", "items", "extends", "weights", "select_weighted", "language", "key_space"}
)
_ITEM_KEYS = frozenset({"key", "statement", "weight", "reverse", "group"})
#: Upper bound on the judge answer we try to parse (answers are hostile input).
MAX_ANSWER_CHARS = 200_000


@dataclass(frozen=True)
class Item:
    """One questionnaire statement.

    ``key`` is the identifier the judge must answer under (for HAL, the statement number as a
    string); ``weight`` is its coefficient in the logit; ``reverse`` flips the scale before
    weighting (``min + max - x``), as for reverse-keyed Big Five items.
    """

    key: str
    statement: str
    weight: float = 0.0
    reverse: bool = False
    group: str | None = None


@dataclass(frozen=True)
class Scale:
    """An integer rating scale with labelled anchor points (e.g. 1, 3 and 5)."""

    min: int
    max: int
    anchors: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class RoleWording:
    """How the prompt names the rated speaker and the other party (e.g. Witness W / Investigator I)."""

    speaker: str
    other: str


@dataclass(frozen=True)
class Group:
    """A group of items; grouped output formats nest answers under the group key."""

    key: str
    title: str = ""


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


@dataclass(frozen=True)
class Instrument:
    """A questionnaire judge: items, scale, prompt, output format and scoring weights.

    The logit of an answer vector ``x`` (in item order, reverse items flipped) is
    ``w . x + bias``; the probability is its logistic transform. ``bias`` is None for
    instruments without a fitted classifier (e.g. a plain Big Five inventory).
    ``key_space`` names the numbering the item keys belong to (default: the instrument's name):
    ``hal16q`` uses HAL32Q numbers, so HAL32Q answers can be read for it by key, whereas the keys
    of ``hal16q-published`` are its own and must never be matched to HAL32Q positions.
    """

    name: str
    version: str
    description: str
    source: Mapping[str, Any]
    scale: Scale
    items: tuple[Item, ...]
    bias: float | None
    roles: Mapping[str, RoleWording]
    default_role: str | None
    messages: tuple[tuple[str, str], ...]
    output_root_key: str | None = "likert_evaluation"
    output_grouped: bool = False
    groups: tuple[Group, ...] = ()
    clean: bool = True
    key_space: str = ""
    path: str | None = field(default=None, compare=False)

    # -- simple views ---------------------------------------------------------------------------
    @property
    def keys(self) -> tuple[str, ...]:
        """Item keys in instrument order."""
        return tuple(i.key for i in self.items)

    @property
    def weights(self) -> np.ndarray:
        """Weights in item order (float64)."""
        return np.array([i.weight for i in self.items], dtype=np.float64)

    @property
    def reverse_mask(self) -> np.ndarray:
        """Boolean mask of reverse-keyed items, in item order."""
        return np.array([i.reverse for i in self.items], dtype=bool)

    @property
    def has_weights(self) -> bool:
        """Whether the instrument carries a fitted classifier (a bias is set)."""
        return self.bias is not None

    def item_columns(self, prefix: str = "hl_item_") -> dict[str, str]:
        """Output column name per item key (``hl_item_<key>``), used by judge and score."""
        return {k: f"{prefix}{k}" for k in self.keys}

    def role(self, speaker: str | None = None) -> RoleWording:
        """Role wording for a speaker label; unknown labels get a neutral wording."""
        label = speaker if speaker is not None else self.default_role
        if label is not None and label in self.roles:
            return self.roles[label]
        if label is None:
            return RoleWording("the rated speaker", "the other participant")
        return RoleWording(f"Speaker {label}", "the other participant")

    # -- prompt -------------------------------------------------------------------------------
    def statements_block(self) -> str:
        """The numbered statement list as it appears in the prompt (with group headings)."""
        if not self.groups:
            return "\n".join(f"{i.key}. {i.statement}" for i in self.items)
        blocks = []
        for g in self.groups:
            lines = [f"{i.key}. {i.statement}" for i in self.items if i.group == g.key]
            if lines:
                title = f"{g.key}: {g.title}" if g.title else g.key
                blocks.append("\n".join([f"**{title}**", *lines]))
        return "\n\n".join(blocks)

    def anchors_block(self) -> str:
        """The scale anchors as a bullet list, highest first."""
        return "\n".join(f"- Score {v}: {t}" for v, t in sorted(self.scale.anchors, reverse=True))

    def output_example(self) -> str:
        """A one-line example of the expected JSON answer."""
        slot = f"INT({self.scale.min}-{self.scale.max})"

        def flat(items: Sequence[Item]) -> str:
            return "{" + ", ".join(f'"{i.key}": {slot}' for i in items) + "}"

        if self.output_grouped and self.groups:
            inner = "{" + ", ".join(
                f'"{g.key}": {flat([i for i in self.items if i.group == g.key])}'
                for g in self.groups
                if any(i.group == g.key for i in self.items)
            ) + "}"
        else:
            inner = flat(self.items)
        return f'{{"{self.output_root_key}": {inner}}}' if self.output_root_key else inner

    def render_prompt(self, dialogue: str, speaker: str | None = None) -> list[dict[str, str]]:
        """Chat messages asking the judge to rate ``speaker``'s turns in ``dialogue``.

        ``speaker`` is the transcript label of the rated party (``"W"``, ``"P"``, ...); it selects
        the role wording. Placeholders are filled in one pass, so braces or placeholder-like text
        inside the dialogue are never expanded.
        """
        text = clean_dialogue(dialogue) if self.clean else dialogue
        wording = self.role(speaker)
        label = speaker if speaker is not None else (self.default_role or "")
        values = {
            "dialogue": text,
            "speaker": wording.speaker,
            "other": wording.other,
            "speaker_label": label,
            "n_items": str(len(self.items)),
            "anchors": self.anchors_block(),
            "statements": self.statements_block(),
            "output_example": self.output_example(),
        }
        return [
            {"role": role, "content": _PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], content)}
            for role, content in self.messages
        ]

    def output_schema(self) -> dict[str, Any]:
        """JSON Schema of a valid answer (ratings object, or ``{"error": "..."}``)."""
        rating = {"type": "integer", "minimum": self.scale.min, "maximum": self.scale.max}

        def obj(items: Sequence[Item]) -> dict[str, Any]:
            return {
                "type": "object",
                "properties": {i.key: rating for i in items},
                "required": [i.key for i in items],
            }

        if self.output_grouped and self.groups:
            used = [g for g in self.groups if any(i.group == g.key for i in self.items)]
            body: dict[str, Any] = {
                "type": "object",
                "properties": {
                    g.key: obj([i for i in self.items if i.group == g.key]) for g in used
                },
                "required": [g.key for g in used],
            }
        else:
            body = obj(self.items)
        ratings = (
            {"type": "object", "properties": {self.output_root_key: body},
             "required": [self.output_root_key]}
            if self.output_root_key
            else body
        )
        error = {"type": "object", "properties": {"error": {"type": "string"}},
                 "required": ["error"]}
        return {"anyOf": [ratings, error]}

    # -- answers ------------------------------------------------------------------------------
    def parse_answer(self, text: str | Mapping[str, Any] | None) -> ParsedRatings:
        """Parse a judge answer by item key (never by position); see :func:`parse_ratings`."""
        return parse_ratings(text, self)

    def score(self, ratings: Any) -> Any:
        """Shortcut for :func:`score_ratings` with this instrument."""
        return score_ratings(ratings, self)


# ---------------------------------------------------------------------------------------------
# dialogue cleaning
_NEWLINES = re.compile(r"\n+")
_SPACES = re.compile(r"[ \t]+")


def clean_dialogue(text: str) -> str:
    """Normalise a transcript the way the HAL judges saw it.

    ``---`` rules are removed, runs of newlines collapse to one and runs of spaces/tabs are
    squeezed (hal.md section 1.2), so prompt tokens are not wasted on layout. (HAL collapsed
    newlines before removing rules, which could leave a blank line; here rules go first.)
    """
    text = text.replace("\r\n", "\n").replace("---", "")
    return _SPACES.sub(" ", _NEWLINES.sub("\n", text)).strip()


# ---------------------------------------------------------------------------------------------
# parsing answers
_FENCE = re.compile(r"^```[a-zA-Z]*\s*|\s*```$")


def _load_json_object(text: str) -> tuple[Any, str | None]:
    text = text.strip()
    if len(text) > MAX_ANSWER_CHARS:
        return None, f"answer too long ({len(text)} characters > {MAX_ANSWER_CHARS})"
    candidates = [text, _FENCE.sub("", text).strip()]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        candidates.append(text[start : end + 1])
    for cand in candidates:
        try:
            return json.loads(cand), None
        except (json.JSONDecodeError, ValueError):
            continue
    return None, "answer is not a JSON object"


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
    if isinstance(text, Mapping):
        data: Any = text
    else:
        data, err = _load_json_object(str(text))
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
    missing = [k for k in instrument.keys if k not in seen]
    if missing:
        problems.append("missing items " + ", ".join(missing))
    return ParsedRatings(values, tuple(problems), None)


# ---------------------------------------------------------------------------------------------
# scoring
def _sigmoid(x: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def ratings_matrix(ratings: Any, instrument: Instrument) -> np.ndarray:
    """Ratings as an (n, k) float array in item order; NaN where missing.

    ``ratings`` may be a mapping key -> value (one row), a mapping key -> sequence (columns),
    a 1-D/2-D array already in item order, or a polars DataFrame with one column per item key
    (named as the key or as ``hl_item_<key>``).
    """
    keys = instrument.keys
    try:
        import polars as pl
    except ImportError:  # pragma: no cover - polars is a core dependency
        pl = None
    if pl is not None and isinstance(ratings, pl.DataFrame):
        cols = []
        named = instrument.item_columns()
        for k in keys:
            name = k if k in ratings.columns else named[k]
            if name not in ratings.columns:
                msg = (f"ratings frame lacks a column for item {k!r} of instrument "
                       f"{instrument.name!r}; expected '{k}' or '{named[k]}'")
                raise InvalidParameterError(msg)
            cols.append(ratings.get_column(name).cast(pl.Float64).to_numpy())
        return np.column_stack(cols) if cols else np.empty((ratings.height, 0))
    if isinstance(ratings, Mapping):
        missing = [k for k in keys if k not in ratings]
        if missing:
            msg = (f"ratings lack items {missing} of instrument {instrument.name!r}; "
                   f"got keys {sorted(map(str, ratings))[:40]}")
            raise InvalidParameterError(msg)
        cols = [np.atleast_1d(np.asarray(
            [np.nan if v is None else v for v in np.atleast_1d(np.asarray(ratings[k], dtype=object))],
            dtype=np.float64)) for k in keys]
        return np.column_stack(cols)
    arr = np.asarray(ratings, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] != len(keys):
        msg = (f"ratings array must have {len(keys)} columns (items of {instrument.name!r} in "
               f"order); got shape {arr.shape}")
        raise InvalidParameterError(msg)
    return arr


def score_ratings(ratings: Any, instrument: Instrument) -> Any:
    """Logit and probability of human-likeness for ratings, vectorised.

    Returns ``(logit, prob)`` floats for a single mapping of key -> rating, otherwise a pair of
    float arrays; for a polars DataFrame (item columns) it returns the frame with ``hl_logit``
    and ``hl_prob`` appended. Rows with any missing rating get NaN/null scores.

    Examples
    --------
    >>> inst = load_instrument("hal16q-published")
    >>> logit, prob = score_ratings({k: 1 for k in inst.keys}, inst)
    >>> round(logit, 4)
    -2.2378
    """
    if instrument.bias is None:
        msg = (f"instrument {instrument.name!r} has no scoring weights (no 'scoring.bias'); "
               "fit some with `chatlens humanlike fit`")
        raise InvalidParameterError(msg)
    x = ratings_matrix(ratings, instrument)
    rev = instrument.reverse_mask
    if rev.any():
        x = x.copy()
        x[:, rev] = instrument.scale.min + instrument.scale.max - x[:, rev]
    logit = x @ instrument.weights + instrument.bias
    prob = _sigmoid(logit)
    try:
        import polars as pl

        if isinstance(ratings, pl.DataFrame):
            return ratings.with_columns(
                pl.Series("hl_logit", logit).fill_nan(None),
                pl.Series("hl_prob", prob).fill_nan(None),
            )
    except ImportError:  # pragma: no cover
        pass
    if isinstance(ratings, Mapping) and all(np.ndim(ratings[k]) == 0 for k in instrument.keys):
        return float(logit[0]), float(prob[0])
    return logit, prob


# ---------------------------------------------------------------------------------------------
# loading and validation
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
        names = _PLACEHOLDER_RE.findall(content)
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
