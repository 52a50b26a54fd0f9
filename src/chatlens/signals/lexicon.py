r"""Pattern lexicons: versioned YAML data files parsed into frozen dataclasses.

Why data files: the cues that decide "refusal" or "jailbreak" are research instruments. They must be
readable, diffable and citable (``name``/``version``/``source``), and a report must be able to say
which lexicon version produced a number. So no pattern lives in a Python list; every cue lives in
``chatlens/data/signals/patterns/*.yaml``.

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
lower case with ASCII apostrophes. The file's shape is the schema
:class:`~chatlens.datafiles.schemas.CueLexiconFile`; this module adds what only the signals layer
knows (macros expanded, phrases escaped, regexes compiled). Bad files raise
:class:`~chatlens.errors.DataFileError` naming the file, the key and the item.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatlens import datafiles
from chatlens.datafiles.schemas import CueLexiconFile
from chatlens.errors import DataFileError

_MACRO_RE = re.compile(r"\{\{([A-Z_][A-Z0-9_]*)\}\}")


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


def _phrase_to_regex(phrase: str) -> str:
    """Escape a literal phrase; runs of spaces match any run of whitespace."""
    parts = [re.escape(p) for p in phrase.strip().split()]
    return r"\s+".join(parts)


def _expand(pattern: str, macros: dict[str, str], path: str, key: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in macros:
            expected = f"a defined macro (unknown {{{{{name}}}}}; defined: {sorted(macros) or 'none'})"
            raise DataFileError(path, key, expected, pattern)
        return macros[name]

    for _ in range(5):  # macros may use macros; bounded so a cycle cannot loop forever
        expanded = _MACRO_RE.sub(sub, pattern)
        if expanded == pattern:
            return expanded
        pattern = expanded
    raise DataFileError(path, key, "macros that do not refer to each other in a cycle", pattern)


def _check_regex(pattern: str, path: str, key: str, item: object, *, macro: bool = False) -> None:
    probe = pattern.replace(r"\p{L}", "a").replace(r"\p{N}", "0")
    try:
        compiled = re.compile(probe)
    except re.error as exc:
        raise DataFileError(path, key, f"a valid regular expression ({exc})", item) from None
    if not macro and compiled.fullmatch(""):  # the scanners report empty matches: every message
        raise DataFileError(path, key, "a pattern that needs some text to match (this one matches "
                            "the empty string, so its cue would fire on every message)", item)


def parse_lexicon(data: Any, path: str) -> Lexicon:
    """Validate the parsed YAML of one lexicon file into a :class:`Lexicon`.

    Raises
    ------
    DataFileError
        On an unknown key, a missing or mistyped value, a bad regex, a duplicate cue id or an
        unknown kind/type; the message names the file, the key and the item.
    """
    return build_lexicon(datafiles.parse(data, kind="cue-lexicon", file=path), path)


def build_lexicon(doc: CueLexiconFile, path: str) -> Lexicon:
    """A validated lexicon file with its patterns made final (macros expanded, phrases escaped)."""
    for name, value in doc.macros.items():
        _check_regex(_MACRO_RE.sub("x", value), path, f"macros.{name}", value, macro=True)
    cues: list[Cue] = []
    for i, raw in enumerate(doc.cues):
        where = f"cues[{i}]"
        cue_bounds = raw.boundaries or doc.boundaries
        patterns: list[str] = []
        for key, items in (("phrases", raw.phrases), ("regex", raw.regex)):
            for j, item in enumerate(items):
                if key == "phrases":
                    pattern = _phrase_to_regex(item)
                else:
                    pattern = _expand(item, doc.macros, path, f"{where}.{key}[{j}]")
                _check_regex(pattern, path, f"{where}.{key}[{j}]", item)
                if cue_bounds == "word" and pattern.endswith((r"\s+", r"\s", r"\s*")):
                    raise DataFileError(path, f"{where}.{key}[{j}]",
                                        "a pattern that does not end in whitespace (the word boundary "
                                        "after it already consumes one character)", item)
                patterns.append(pattern)
        cues.append(
            Cue(
                id=f"{doc.language}.{raw.id}" if doc.detector in ("refusal", "jailbreak") else raw.id,
                kind=raw.kind,
                type=raw.type,
                weight=raw.weight,
                patterns=tuple(patterns),
                boundaries=cue_bounds == "word",
            )
        )
    return Lexicon(
        name=doc.name,
        version=str(doc.version),
        language=doc.language,
        source=doc.source,
        detector=doc.detector,
        cues=tuple(cues),
        path=path,
    )


def check_lexicon(doc: CueLexiconFile, path: str) -> Lexicon:
    """:func:`build_lexicon`, then every pattern compiled by the scanner that runs it (the kind's
    builder: ``chatlens validate --data-file`` and ``--lexicon``). Why: Python's ``re`` accepts
    what hyperscan and RE2 refuse (look-behind, back-references), so such a file was reported
    ``ok`` by ``--data-file`` and failed at the first analysis."""
    from chatlens.signals.scanner import Scanner

    lexicon = build_lexicon(doc, path)
    Scanner([(p, c.boundaries) for c in lexicon.cues for p in c.patterns],
            names=[c.id for c in lexicon.cues for _ in c.patterns])
    return lexicon


def load_lexicon(path: str | Path) -> Lexicon:
    """Load and validate one lexicon YAML file from disk."""
    doc, record = datafiles.load_with_record(Path(path), kind="cue-lexicon")
    return build_lexicon(doc, record.file)


@datafiles.cached
def bundled_lexicons() -> tuple[Lexicon, ...]:
    """Every cue lexicon shipped in ``chatlens/data/signals/patterns`` (parsed once per process)."""
    out = []
    for name in datafiles.bundled("cue-lexicon"):
        doc, record = datafiles.load_with_record(name)
        out.append(build_lexicon(doc, record.file))
    return tuple(out)


def lexicons_for(detector: str) -> tuple[Lexicon, ...]:
    """The bundled lexicons of one detector family, in file-name order."""
    return tuple(lex for lex in bundled_lexicons() if lex.detector == detector)
