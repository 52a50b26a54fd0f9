"""Phrase banks of the synthetic corpus: parsing, validating and loading the YAML files.

The files load through the data layer (kinds ``synth-bank`` and ``synth-common``, whose schemas
check the top level); :func:`parse_bank` checks the slots and templates, a small language of
their own, and every problem is a :class:`~chatlens.errors.DataFileError` naming file and key.

Why data files: the realism of the corpus lives in its phrasings, and keeping them as YAML under
``chatlens/data/synth/`` lets anyone review, extend or translate them without touching code while
the ground truth travels with the text (each template carries the flags it plants). The file
format and template syntax are specified in ``docs/synth.md``.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from chatlens import datafiles
from chatlens.datafiles.schemas import SynthCommonFile, SynthPhrases
from chatlens.errors import DataFileError, InstrumentError
from chatlens.synth.vocab import (
    KIND_ID,
    KINDS,
    LANGUAGE_FILES,
    MODERATION_CATEGORIES,
    OPTIONAL_KINDS,
    SENTIMENTS,
)

_TEMPLATE_KEYS = frozenset(
    {"text", "sentiment", "disclaimer", "lookalike", "jailbreak_lookalike", "profanity"}
)
_REF = re.compile(r"\{([a-z_]+)(?:#([0-9]))?(?:\.([a-z_]+))?(?:\|([a-z0-9]+))?\}")


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _b64(s: str) -> str:
    return base64.b64encode(s.encode("utf-8")).decode("ascii")


TRANSFORMS = {"cap": _cap, "b64": _b64, "upper": str.upper, "lower": str.lower}


@dataclass(frozen=True)
class Ref:
    """One slot reference inside a template: ``{slot#draw.field|transform}``."""

    slot: str
    draw: int
    field: str | None
    transform: str | None


@dataclass(frozen=True)
class Template:
    """One template with the ground truth it plants.

    ``parts`` alternates literal text (str) and :class:`Ref` objects, in order.
    """

    kind: str
    text: str
    parts: tuple[str | Ref, ...]
    sentiment: str
    disclaimer: bool
    lookalike: bool
    jailbreak_lookalike: bool
    profanity: int
    where: str  # "file: templates.kind[i]" for error messages


@dataclass(frozen=True)
class Slot:
    """A slot's fillers: ``values[i][field]``; metadata fields start with ``_``."""

    name: str
    fields: tuple[str, ...]
    values: tuple[dict[str, str], ...]
    where: str

    @property
    def default_field(self) -> str:
        return self.fields[0]


@dataclass(frozen=True)
class PhraseBank:
    """A validated phrase bank (one language, or the shared ``common`` bank)."""

    name: str
    version: int
    language: str | None
    source: str
    file: str
    slots: dict[str, Slot]
    templates: dict[str, tuple[Template, ...]]
    episode_slots: tuple[str, ...] = ()
    profanity_slots: tuple[str, ...] = ()



def _origin(file: str, key: str) -> str:
    """``"en.yaml: templates.ask[3]"``: where a slot or template comes from.

    Only the file's *name* is used, never its folder or the data layer's ``<bundled>/`` label:
    rendering seeds each template's random choices from this string, so the corpus must not
    change with where the file was read from.
    """
    return f"{file.rsplit('/', 1)[-1]}: {key}"


def _gibberish(spec: dict[str, Any], file: str, key: str) -> list[str]:
    """Deterministic GCG-like suffixes built from a token list (seeded by the file content)."""
    import numpy as np

    tokens = spec.get("tokens")
    length = spec.get("length")
    count = spec.get("count")
    if not (isinstance(tokens, list) and tokens and all(isinstance(t, str) for t in tokens)):
        raise DataFileError(file, f"{key}.gibberish.tokens", "a non-empty list of strings", tokens)
    if not (isinstance(length, list) and len(length) == 2 and all(isinstance(x, int) for x in length)):
        raise DataFileError(file, f"{key}.gibberish.length", "[min, max] integers", length)
    if not (isinstance(count, int) and count > 0):
        raise DataFileError(file, f"{key}.gibberish.count", "a positive integer", count)
    rng = np.random.default_rng(len(tokens) * 7919 + count)
    out = []
    for _ in range(count):
        n = int(rng.integers(length[0], length[1] + 1))
        out.append(" ".join(tokens[i] for i in rng.integers(0, len(tokens), n)))
    return out


def _parse_slot(name: str, raw: Any, file: str) -> Slot:
    key = f"slots.{name}"
    if isinstance(raw, dict):
        if set(raw) == {"range"}:
            lo_hi = raw["range"]
            if not (
                isinstance(lo_hi, list)
                and len(lo_hi) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) for x in lo_hi)
                and lo_hi[0] <= lo_hi[1]
            ):
                raise DataFileError(file, f"{key}.range", "[lo, hi] integers with lo <= hi", lo_hi)
            values = [{"text": str(i)} for i in range(lo_hi[0], lo_hi[1] + 1)]
            return Slot(name, ("text",), tuple(values), _origin(file, key))
        if set(raw) == {"gibberish"} and isinstance(raw["gibberish"], dict):
            values = [{"text": s} for s in _gibberish(raw["gibberish"], file, key)]
            return Slot(name, ("text",), tuple(values), _origin(file, key))
        raise DataFileError(file, key, "a list, {range: [lo, hi]} or {gibberish: {...}}", raw)
    if not isinstance(raw, list) or not raw:
        raise DataFileError(file, key, "a non-empty list of fillers", raw)
    if all(isinstance(v, str) for v in raw):
        return Slot(name, ("text",), tuple({"text": v} for v in raw), _origin(file, key))
    if not all(isinstance(v, dict) for v in raw):
        bad = next(v for v in raw if not isinstance(v, (str, dict)) or isinstance(v, str))
        raise DataFileError(file, key, "all strings or all mappings", bad)
    fields = tuple(raw[0])
    for i, v in enumerate(raw):
        if tuple(v) != fields and set(v) != set(fields):
            raise DataFileError(file, f"{key}[{i}]", f"the same fields as the first entry {list(fields)}", list(v))
        for f, s in v.items():
            if not isinstance(s, str):
                raise DataFileError(file, f"{key}[{i}].{f}", "a string", s)
    if not any(not f.startswith("_") for f in fields):
        raise DataFileError(file, key, "at least one field not starting with '_'", list(fields))
    fields = tuple(f for f in fields if not f.startswith("_")) + tuple(
        f for f in fields if f.startswith("_")
    )
    if "_mod" in fields:
        for i, v in enumerate(raw):
            if v["_mod"] not in MODERATION_CATEGORIES:
                raise DataFileError(file, f"{key}[{i}]._mod", f"one of {list(MODERATION_CATEGORIES)}", v["_mod"])
    return Slot(name, fields, tuple(dict(v) for v in raw), _origin(file, key))


def _parse_template(kind: str, i: int, raw: Any, file: str) -> Template:
    where = _origin(file, f"templates.{kind}[{i}]")
    key = f"templates.{kind}[{i}]"
    flags: dict[str, Any] = {}
    if isinstance(raw, str):
        text = raw
    elif isinstance(raw, dict):
        unknown = sorted(set(raw) - _TEMPLATE_KEYS)
        if unknown:
            raise DataFileError(file, f"{key}.{unknown[0]}", f"one of the keys {sorted(_TEMPLATE_KEYS)}", raw[unknown[0]])
        text = raw.get("text")
        if not isinstance(text, str):
            raise DataFileError(file, f"{key}.text", "a string", text)
        flags = raw
    else:
        raise DataFileError(file, key, "a string or a mapping with 'text'", raw)
    if not text.strip():
        raise DataFileError(file, key, "non-empty text", text)
    sentiment = flags.get("sentiment", "neu")
    if sentiment not in SENTIMENTS:
        raise DataFileError(file, f"{key}.sentiment", f"one of {list(SENTIMENTS)}", sentiment)
    for b in ("disclaimer", "lookalike", "jailbreak_lookalike"):
        if not isinstance(flags.get(b, False), bool):
            raise DataFileError(file, f"{key}.{b}", "true or false", flags[b])
    profanity = flags.get("profanity", 0)
    if not isinstance(profanity, int) or isinstance(profanity, bool) or profanity < 0:
        raise DataFileError(file, f"{key}.profanity", "a non-negative integer", profanity)
    parts: list[str | Ref] = []
    pos = 0
    for m in _REF.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        transform = m.group(4)
        if transform is not None and transform not in TRANSFORMS:
            raise DataFileError(file, key, f"a transform in {sorted(TRANSFORMS)}", transform)
        parts.append(Ref(m.group(1), int(m.group(2) or 1), m.group(3), transform))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    return Template(
        kind=kind,
        text=text,
        parts=tuple(parts),
        sentiment=sentiment,
        disclaimer=bool(flags.get("disclaimer", False)),
        lookalike=bool(flags.get("lookalike", False)),
        jailbreak_lookalike=bool(flags.get("jailbreak_lookalike", False)),
        profanity=profanity,
        where=where,
    )


def parse_bank(doc: SynthPhrases, file: str) -> PhraseBank:
    """The :class:`PhraseBank` of a schema-checked phrase file (the data layer's builder)."""
    slots = {name: _parse_slot(name, raw, file) for name, raw in doc.slots.items()}
    templates: dict[str, tuple[Template, ...]] = {}
    for kind, items in doc.templates.items():
        if kind not in KIND_ID:
            raise DataFileError(file, f"templates.{kind}", "a known kind (see chatlens.synth.vocab.KINDS)", kind)
        templates[kind] = tuple(_parse_template(kind, i, t, file) for i, t in enumerate(items))
    common = isinstance(doc, SynthCommonFile)
    return PhraseBank(
        name=doc.name,
        version=doc.version,
        language=None if common else doc.language,
        source=doc.source,
        file=file,
        slots=slots,
        templates=templates,
        episode_slots=doc.episode_slots if common else (),
        profanity_slots=doc.profanity_slots if common else (),
    )


def check_bank(bank: PhraseBank, common: PhraseBank) -> None:
    """Cross-check a language bank against the shared one: kinds present, refs resolvable."""
    for templates in bank.templates.values():
        for t in templates:
            for p in t.parts:
                if not isinstance(p, Ref):
                    continue
                slot = bank.slots.get(p.slot) or common.slots.get(p.slot)
                key = t.where.partition(": ")[2]
                if slot is None:
                    expected = f"slots from {sorted(set(bank.slots) | set(common.slots))}"
                    raise DataFileError(bank.file, key, expected, f"{{{p.slot}}}")
                if p.field is not None and (p.field not in slot.fields or p.field.startswith("_")):
                    expected = f"fields of slot {p.slot!r}: {[f for f in slot.fields if not f.startswith('_')]}"
                    raise DataFileError(bank.file, key, expected, p.field)
    missing = [
        k for k in KINDS if k not in bank.templates and k not in common.templates and k not in OPTIONAL_KINDS
    ]
    if missing:
        raise DataFileError(bank.file, f"templates.{missing[0]}", "templates for every generator kind", "missing")


@cache
def load_common() -> PhraseBank:
    """The shared slots and templates (``chatlens/data/synth/common.yaml``)."""
    doc, record = datafiles.load_with_record("synth/common.yaml")
    return parse_bank(doc, record.file)


@cache
def load_bank(language: str) -> PhraseBank:
    """The validated phrase bank of one language (``chatlens/data/synth/<code>.yaml``)."""
    if language not in LANGUAGE_FILES:
        msg = f"No synthetic phrase bank for language {language!r}; expected one of {list(LANGUAGE_FILES)}."
        raise InstrumentError(msg)
    doc, record = datafiles.load_with_record(f"synth/{language}.yaml")
    bank = parse_bank(doc, record.file)
    if bank.language != language:
        raise DataFileError(record.file, "language", repr(language), bank.language)
    check_bank(bank, load_common())
    return bank



__all__ = [
    "TRANSFORMS",
    "PhraseBank",
    "Ref",
    "Slot",
    "Template",
    "check_bank",
    "load_bank",
    "load_common",
    "parse_bank",
]
