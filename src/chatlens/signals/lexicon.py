r"""Pattern lexicons: versioned YAML data files parsed into frozen dataclasses.

Why data files: the cues that decide "refusal" or "jailbreak" are research instruments. They must be
readable, diffable and citable (``name``/``version``/``source``), and a report must be able to say
which lexicon version produced a number. So no pattern lives in a Python list; every cue lives in
``chatlens/signals/patterns/*.yaml``.

File schema (each key has exactly one meaning; unknown keys are errors)::

    name: refusal-en            # unique lexicon name
    version: "1.0"
    language: en                # ISO 639-1 code, or "multi"
    source: "who wrote it / citation"
    detector: refusal           # refusal | jailbreak | legacy-refusal | legacy-jailbreak
    boundaries: word            # word (phrases wrapped in Unicode word boundaries) | none (CJK)
    macros:                     # optional: {{NAME}} placeholders usable inside regex: items
      ASSIST: "(?:help|assist)"
    cues:
      - id: refuse.cannot_assist      # unique within the file; reported as "<language>.<id>"
        kind: refuse                  # what the cue is evidence of (see KINDS)
        type: policy                  # none | capability | policy (refusal typing)
        weight: 2.5                   # contribution to the detector's score
        boundaries: none              # optional per-cue override (e.g. patterns starting at "\n")
        phrases: ["i can't help with"]   # literal text: escaped, spaces match any whitespace
        regex: ['i\s+(?:cannot|can''t)\s+{{ASSIST}}']   # regular expressions

Every text is scanned with a newline before and after it, so ``\n`` in a regex means "at a line
start/end" (``^``/``$`` are not available). Phrases are matched on normalised text (case-folded, curly quotes straightened), so write them in
lower case with ASCII apostrophes. Bad files raise :class:`~chatlens.errors.LexiconParseError`
naming the file, the key and the item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from chatlens import _yaml
from chatlens.errors import LexiconParseError

DETECTORS = ("refusal", "jailbreak", "legacy-refusal", "legacy-jailbreak")

#: Evidence kinds a cue may carry, per detector family.
KINDS: dict[str, frozenset[str]] = {
    "refusal": frozenset(
        {
            "refuse",  # a direct statement of not doing the task ("i can't help with that")
            "apology",  # an apology lead-in ("i'm sorry, but")
            "policy",  # an ethics / safety / law / policy reason
            "capability",  # a limit of the system (no internet, no body, knowledge cutoff...)
            "disclaimer",  # an "as an ai / language model" self-disclaimer
            "lecture",  # moralising / "it's important to note" / "i must point out"
            "redirect",  # offering something else instead, pointing to professionals
            "withhold",  # explicitly withholding part of an otherwise given answer
            "comply",  # evidence of compliance ("sure, here is", "certainly!")
            "lookalike",  # looks like a refusal but is not ("i'm sorry to hear that")
        }
    ),
    "jailbreak": frozenset(
        {
            "instruction_override",
            "persona",
            "developer_mode",
            "fictional_framing",
            "authority_claim",
            "refusal_suppression",
            "adversarial_suffix",
            "encoding",
            "other",
            "benign",  # negative evidence
        }
    ),
    "legacy-refusal": frozenset({"instrumental", "value_based"}),
    "legacy-jailbreak": frozenset({"jailbreak"}),
}
TYPES = ("none", "capability", "policy")
_FILE_KEYS = {
    "name",
    "version",
    "language",
    "source",
    "detector",
    "boundaries",
    "macros",
    "cues",
    "description",
}
_CUE_KEYS = {"id", "kind", "type", "weight", "boundaries", "phrases", "regex", "note"}
_MACRO_RE = re.compile(r"\{\{([A-Z_][A-Z0-9_]*)\}\}")
_ID_RE = re.compile(r"^[a-z0-9_]+(?:\.[a-z0-9_]+)*$")


@dataclass(frozen=True)
class Cue:
    """One named piece of evidence, matched by any of its patterns.

    ``patterns`` are final regular expressions (phrases already escaped, macros expanded, word
    boundaries not yet added; see :attr:`boundaries`).
    """

    id: str
    kind: str
    type: str
    weight: float
    patterns: tuple[str, ...]
    boundaries: bool


@dataclass(frozen=True)
class Lexicon:
    """A parsed, validated lexicon file."""

    name: str
    version: str
    language: str
    source: str
    detector: str
    cues: tuple[Cue, ...]
    path: str = field(default="", compare=False)

    @property
    def label(self) -> str:
        """``name@version``, the string recorded in provenance."""
        return f"{self.name}@{self.version}"


def _fail(path: str, key: str, item: object, expected: str) -> LexiconParseError:
    msg = f"Invalid lexicon file {path}: key {key!r}, item {item!r}: expected {expected}."
    return LexiconParseError(msg)


def _phrase_to_regex(phrase: str) -> str:
    """Escape a literal phrase; runs of spaces match any run of whitespace."""
    parts = [re.escape(p) for p in phrase.strip().split()]
    return r"\s+".join(parts)


def _expand(pattern: str, macros: dict[str, str], path: str, key: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in macros:
            raise _fail(path, key, pattern, f"a defined macro (unknown {{{{{name}}}}}; "
                        f"defined: {sorted(macros) or 'none'})")
        return macros[name]

    for _ in range(5):  # macros may use macros; bounded so a cycle cannot loop forever
        expanded = _MACRO_RE.sub(sub, pattern)
        if expanded == pattern:
            return expanded
        pattern = expanded
    raise _fail(path, key, pattern, "macros that do not refer to each other in a cycle")


def _check_regex(pattern: str, path: str, key: str, item: object) -> None:
    probe = pattern.replace(r"\p{L}", "a").replace(r"\p{N}", "0")
    try:
        re.compile(probe)
    except re.error as exc:
        raise _fail(path, key, item, f"a valid regular expression ({exc})") from None


def parse_lexicon(data: Any, path: str) -> Lexicon:
    """Validate the parsed YAML of one lexicon file into a :class:`Lexicon`.

    Raises
    ------
    LexiconParseError
        On an unknown key, a missing or mistyped value, a bad regex, a duplicate cue id or an
        unknown kind/type; the message names the file, the key and the item.
    """
    if not isinstance(data, dict):
        raise _fail(path, "<root>", type(data).__name__, "a mapping")
    unknown = set(data) - _FILE_KEYS
    if unknown:
        raise _fail(path, sorted(unknown)[0], data[sorted(unknown)[0]],
                    f"one of the known keys {sorted(_FILE_KEYS)}")
    for key in ("name", "version", "language", "source", "detector"):
        value = data.get(key)
        if isinstance(value, (int, float)) and key == "version":
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise _fail(path, key, value, "a non-empty string")
    detector = data["detector"]
    if detector not in DETECTORS:
        raise _fail(path, "detector", detector, f"one of {DETECTORS}")
    boundaries = data.get("boundaries", "word")
    if boundaries not in ("word", "none"):
        raise _fail(path, "boundaries", boundaries, "'word' or 'none'")
    macros = data.get("macros") or {}
    if not isinstance(macros, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in macros.items()
    ):
        raise _fail(path, "macros", macros, "a mapping of NAME: regex strings")
    for name, value in macros.items():
        _check_regex(_MACRO_RE.sub("x", value), path, f"macros.{name}", value)
    cues_raw = data.get("cues")
    if not isinstance(cues_raw, list) or not cues_raw:
        raise _fail(path, "cues", cues_raw, "a non-empty list of cue mappings")
    kinds = KINDS[detector]
    seen: set[str] = set()
    cues: list[Cue] = []
    for i, raw in enumerate(cues_raw):
        where = f"cues[{i}]"
        if not isinstance(raw, dict):
            raise _fail(path, where, raw, "a mapping")
        bad = set(raw) - _CUE_KEYS
        if bad:
            raise _fail(path, f"{where}.{sorted(bad)[0]}", raw[sorted(bad)[0]],
                        f"one of the cue keys {sorted(_CUE_KEYS)}")
        cid = raw.get("id")
        if not isinstance(cid, str) or not _ID_RE.match(cid):
            raise _fail(path, f"{where}.id", cid, "a dotted lower-case identifier")
        if cid in seen:
            raise _fail(path, f"{where}.id", cid, "an id not used by another cue in the file")
        seen.add(cid)
        kind = raw.get("kind")
        if kind not in kinds:
            raise _fail(path, f"{where}.kind", kind, f"one of {sorted(kinds)}")
        ctype = raw.get("type", "none")
        if ctype not in TYPES:
            raise _fail(path, f"{where}.type", ctype, f"one of {TYPES}")
        weight = raw.get("weight", 1.0)
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise _fail(path, f"{where}.weight", weight, "a number")
        cue_bounds = raw.get("boundaries", boundaries)
        if cue_bounds not in ("word", "none"):
            raise _fail(path, f"{where}.boundaries", cue_bounds, "'word' or 'none'")
        patterns: list[str] = []
        for key in ("phrases", "regex"):
            items = raw.get(key, [])
            if not isinstance(items, list):
                raise _fail(path, f"{where}.{key}", items, "a list of strings")
            for j, item in enumerate(items):
                if not isinstance(item, str) or not item.strip():
                    raise _fail(path, f"{where}.{key}[{j}]", item, "a non-empty string")
                if key == "phrases":
                    if item != item.casefold() and detector in ("refusal", "jailbreak"):
                        raise _fail(path, f"{where}.{key}[{j}]", item,
                                    "lower-case text (phrases match case-folded input)")
                    pattern = _phrase_to_regex(item)
                else:
                    pattern = _expand(item, macros, path, f"{where}.{key}[{j}]")
                _check_regex(pattern, path, f"{where}.{key}[{j}]", item)
                if cue_bounds == "word" and pattern.endswith((r"\s+", r"\s", r"\s*")):
                    raise _fail(path, f"{where}.{key}[{j}]", item,
                                "a pattern that does not end in whitespace (the word boundary "
                                "after it already consumes one character)")
                patterns.append(pattern)
        if not patterns:
            raise _fail(path, where, cid, "at least one item under 'phrases:' or 'regex:'")

        cues.append(
            Cue(
                id=f"{data['language']}.{cid}" if detector in ("refusal", "jailbreak") else cid,
                kind=kind,
                type=ctype,
                weight=float(weight),
                patterns=tuple(patterns),
                boundaries=cue_bounds == "word",
            )
        )
    return Lexicon(
        name=data["name"],
        version=str(data["version"]),
        language=data["language"],
        source=data["source"],
        detector=detector,
        cues=tuple(cues),
        path=path,
    )


def load_lexicon(path: str | Path) -> Lexicon:
    """Load and validate one lexicon YAML file from disk."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"Cannot read lexicon file {p}: {exc}"
        raise LexiconParseError(msg) from exc
    return _parse_text(text, str(p))


def _parse_text(text: str, path: str) -> Lexicon:
    try:
        data = _yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark is not None else "unknown line"
        msg = f"Invalid lexicon file {path}: YAML syntax error at {line}: expected valid YAML."
        raise LexiconParseError(msg) from None
    return parse_lexicon(data, path)


#: File-name prefixes of cue lexicons (other YAML files in patterns/ have their own schema:
#: ``templates_*.yaml`` for similarity, ``legacy_profanity.yaml`` for the legacy word list).
_LEXICON_PREFIXES = ("refusal", "jailbreak", "legacy")


@cache
def bundled_lexicons() -> tuple[Lexicon, ...]:
    """Every lexicon shipped in ``chatlens/signals/patterns`` (parsed once per process)."""
    root = resources.files("chatlens.signals") / "patterns"
    out = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml") and entry.name.split("_")[0] in _LEXICON_PREFIXES \
                and entry.name != "legacy_profanity.yaml":
            out.append(_parse_text(entry.read_text(encoding="utf-8"), f"patterns/{entry.name}"))
    return tuple(out)


def lexicons_for(detector: str) -> tuple[Lexicon, ...]:
    """The bundled lexicons of one detector family, in file-name order."""
    return tuple(lex for lex in bundled_lexicons() if lex.detector == detector)
