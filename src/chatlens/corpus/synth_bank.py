"""Phrase banks and generator configuration of the synthetic corpus: loading and validation.

Why data files: the realism of the synthetic corpus lives in its phrasings (refusals in many
styles and languages, look-alikes, user reactions). Keeping them as YAML under
``chatlens/data/synth/`` lets anyone review, extend or translate them without touching code, and
lets the ground truth travel with the text: every template carries the flags (sentiment,
disclaimer, look-alike, profanity) that describe what it plants.

File format (one file per language, plus ``common.yaml`` and ``config.yaml``)::

    name: synth-en            # required
    version: 1                # required
    language: en              # required in language files
    source: ...               # provenance, required
    slots:                    # slot name -> fillers
      topic: [photosynthesis, ...]                      # list of strings
      harm: [{do: ..., ing: ..., _mod: violence}, ...]  # mappings, same fields each
      number: {range: [3, 12]}                          # generated integers
    templates:                # kind -> list of templates
      ask:
        - "Can you explain {topic}?"                    # plain string
        - {text: "...", sentiment: pos, profanity: 1}   # with ground-truth flags

Template references: ``{slot}`` (first field), ``{slot.field}``, ``{slot#2}`` (an independent
second draw of the same slot) and a transform ``{slot|cap}`` / ``|b64`` / ``|upper`` /
``|lower``. Any other text, including braces in code, is literal. Every problem (unknown key,
wrong type, unknown slot or field, missing kind) raises :class:`~chatlens.errors.InstrumentError`
naming the file, the key and the item.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from chatlens import _yaml
from chatlens.errors import InstrumentError

#: The OpenAI moderation categories of LMSYS-Chat-1M, in the dataset's order.
MODERATION_CATEGORIES: tuple[str, ...] = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "self-harm",
    "self-harm/instructions",
    "self-harm/intent",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)

JAILBREAK_FAMILIES: tuple[str, ...] = (
    "instruction_override",
    "persona",
    "dev_mode",
    "fictional",
    "authority",
    "prefix_suppression",
    "adversarial_suffix",
    "obfuscation",
    "other",
)

#: Every language file must define templates for each of these kinds (the generator composes
#: messages from them; see :mod:`chatlens.corpus.synth_sim`). ``user`` kinds are user text.
USER_KINDS: tuple[str, ...] = (
    "ask",
    "ask_code",
    "ask_greet",
    "ask_trap",
    "ask_edgy",
    "ask_harm",
    "ask_cap",
    "ask_suffix",
    "followup",
    "topic_change",
    "rephrase_harm",
    "rephrase_cap",
    "pushback",
    "accept",
    *(f"jailbreak.{f}" for f in JAILBREAK_FAMILIES),
)
ASSISTANT_KINDS: tuple[str, ...] = (
    "intro",
    "body",
    "list_intro",
    "list_item",
    "closing",
    "code_intro",
    "code_outro",
    "greet_reply",
    "disclaimer_intro",
    "cap_answer",
    "edgy_answer",
    "trap_answer",
    "lookalike_lead",
    "lookalike_inline",
    "lookalike_story",
    "lookalike_code",
    "refusal_direct",
    "refusal_lecture",
    "refusal_redirect",
    "safety_body",
    "refusal_cap",
    "refusal_mixed",
    "refusal_repeat",
    "partial_lead_policy",
    "partial_tail_policy",
    "partial_lead_cap",
    "cap_body",
    "comply_harm",
    "jailbreak_prefix",
    "concede",
    "accept_reply",
)
#: Model-family refusal signatures: optional kinds (a language may omit them; models whose config
#: names a signature use it only where the language has it).
SIGNATURES: tuple[str, ...] = ("llama2", "claude", "vicuna", "gpt")
OPTIONAL_KINDS: tuple[str, ...] = tuple(f"refusal_signature.{s}" for s in SIGNATURES)
KINDS: tuple[str, ...] = USER_KINDS + ASSISTANT_KINDS + OPTIONAL_KINDS
KIND_ID: dict[str, int] = {k: i for i, k in enumerate(KINDS)}

SENTIMENTS: tuple[str, ...] = ("neg", "neu", "pos")
LANGUAGE_FILES: tuple[str, ...] = ("en", "zh", "es", "ru", "pt", "fr", "de", "it", "ja", "ko")

_TEMPLATE_KEYS = frozenset(
    {"text", "sentiment", "disclaimer", "lookalike", "jailbreak_lookalike", "profanity"}
)
_BANK_KEYS = frozenset({"name", "version", "language", "source", "slots", "templates"})
_COMMON_KEYS = frozenset(
    {"name", "version", "source", "episode_slots", "profanity_slots", "slots", "templates"}
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


@dataclass(frozen=True)
class ModelSpec:
    """Generative parameters of one simulated model (see ``config.yaml`` for meanings)."""

    name: str
    refusal_rate: float
    capability_share: float
    mixed_share: float
    partial_share: float
    lecture: float
    redirect: float
    late: float
    jailbreak_resist: float
    rephrase_resist: float
    pushback_resist: float
    curly: float
    signature: str = "none"
    signature_share: float = 0.0


@dataclass(frozen=True)
class LanguageSpec:
    code: str
    name: str
    weight: float
    refusal_multiplier: float


@dataclass(frozen=True)
class SynthConfig:
    """The validated ``config.yaml``."""

    name: str
    version: int
    popularity_exponent: float
    models: tuple[ModelSpec, ...]
    languages: tuple[LanguageSpec, ...]
    turns_head: tuple[float, ...]
    turns_tail_mass: float
    turns_tail_ratio: float
    max_turns: int
    flow: dict[str, Any]
    answer: dict[str, Any]
    redacted: float


# --------------------------------------------------------------------------- helpers
def _fail(file: str, key: str, expected: str, got: object) -> InstrumentError:
    got_s = repr(got)
    if len(got_s) > 120:
        got_s = got_s[:117] + "..."
    msg = f"Invalid synthetic-corpus data file {file}, key {key}: expected {expected}; got {got_s}."
    return InstrumentError(msg)


def _read_yaml(filename: str) -> dict[str, Any]:
    ref = resources.files("chatlens.data.synth").joinpath(filename)
    try:
        text = ref.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"Synthetic-corpus data file {filename} is missing from chatlens/data/synth/."
        raise InstrumentError(msg) from None
    return parse_yaml(text, filename)


def parse_yaml(text: str, file: str) -> dict[str, Any]:
    """Parse YAML text into a mapping, turning syntax errors into InstrumentError."""
    try:
        data = _yaml.safe_load(text)
    except yaml.YAMLError as exc:
        msg = f"Synthetic-corpus data file {file} is not valid YAML: {exc}"
        raise InstrumentError(msg) from None
    if not isinstance(data, dict):
        raise _fail(file, "<top level>", "a mapping", type(data).__name__)
    return data


def _check_keys(data: dict[str, Any], allowed: frozenset[str], file: str, where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise _fail(file, f"{where}{unknown[0]}", f"one of {sorted(allowed)}", unknown[0])


def _req(data: dict[str, Any], key: str, typ: type | tuple[type, ...], file: str) -> Any:
    if key not in data:
        raise _fail(file, key, "a value (the key is required)", None)
    value = data[key]
    if not isinstance(value, typ) or isinstance(value, bool) and typ is not bool:
        name = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        raise _fail(file, key, name, value)
    return value


def _gibberish(spec: dict[str, Any], file: str, key: str) -> list[str]:
    """Deterministic GCG-like suffixes built from a token list (seeded by the file content)."""
    import numpy as np

    tokens = spec.get("tokens")
    length = spec.get("length")
    count = spec.get("count")
    if not (isinstance(tokens, list) and tokens and all(isinstance(t, str) for t in tokens)):
        raise _fail(file, f"{key}.gibberish.tokens", "a non-empty list of strings", tokens)
    if not (isinstance(length, list) and len(length) == 2 and all(isinstance(x, int) for x in length)):
        raise _fail(file, f"{key}.gibberish.length", "[min, max] integers", length)
    if not (isinstance(count, int) and count > 0):
        raise _fail(file, f"{key}.gibberish.count", "a positive integer", count)
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
                raise _fail(file, f"{key}.range", "[lo, hi] integers with lo <= hi", lo_hi)
            values = [{"text": str(i)} for i in range(lo_hi[0], lo_hi[1] + 1)]
            return Slot(name, ("text",), tuple(values), f"{file}: {key}")
        if set(raw) == {"gibberish"} and isinstance(raw["gibberish"], dict):
            values = [{"text": s} for s in _gibberish(raw["gibberish"], file, key)]
            return Slot(name, ("text",), tuple(values), f"{file}: {key}")
        raise _fail(file, key, "a list, {range: [lo, hi]} or {gibberish: {...}}", raw)
    if not isinstance(raw, list) or not raw:
        raise _fail(file, key, "a non-empty list of fillers", raw)
    if all(isinstance(v, str) for v in raw):
        return Slot(name, ("text",), tuple({"text": v} for v in raw), f"{file}: {key}")
    if not all(isinstance(v, dict) for v in raw):
        bad = next(v for v in raw if not isinstance(v, (str, dict)) or isinstance(v, str))
        raise _fail(file, key, "all strings or all mappings", bad)
    fields = tuple(raw[0])
    for i, v in enumerate(raw):
        if tuple(v) != fields and set(v) != set(fields):
            raise _fail(file, f"{key}[{i}]", f"the same fields as the first entry {list(fields)}", list(v))
        for f, s in v.items():
            if not isinstance(s, str):
                raise _fail(file, f"{key}[{i}].{f}", "a string", s)
    if not any(not f.startswith("_") for f in fields):
        raise _fail(file, key, "at least one field not starting with '_'", list(fields))
    fields = tuple(f for f in fields if not f.startswith("_")) + tuple(
        f for f in fields if f.startswith("_")
    )
    if "_mod" in fields:
        for i, v in enumerate(raw):
            if v["_mod"] not in MODERATION_CATEGORIES:
                raise _fail(file, f"{key}[{i}]._mod", f"one of {list(MODERATION_CATEGORIES)}", v["_mod"])
    return Slot(name, fields, tuple(dict(v) for v in raw), f"{file}: {key}")


def _parse_template(kind: str, i: int, raw: Any, file: str) -> Template:
    where = f"{file}: templates.{kind}[{i}]"
    key = f"templates.{kind}[{i}]"
    flags: dict[str, Any] = {}
    if isinstance(raw, str):
        text = raw
    elif isinstance(raw, dict):
        _check_keys(raw, _TEMPLATE_KEYS, file, f"{key}.")
        text = raw.get("text")
        if not isinstance(text, str):
            raise _fail(file, f"{key}.text", "a string", text)
        flags = raw
    else:
        raise _fail(file, key, "a string or a mapping with 'text'", raw)
    if not text.strip():
        raise _fail(file, key, "non-empty text", text)
    sentiment = flags.get("sentiment", "neu")
    if sentiment not in SENTIMENTS:
        raise _fail(file, f"{key}.sentiment", f"one of {list(SENTIMENTS)}", sentiment)
    for b in ("disclaimer", "lookalike", "jailbreak_lookalike"):
        if not isinstance(flags.get(b, False), bool):
            raise _fail(file, f"{key}.{b}", "true or false", flags[b])
    profanity = flags.get("profanity", 0)
    if not isinstance(profanity, int) or isinstance(profanity, bool) or profanity < 0:
        raise _fail(file, f"{key}.profanity", "a non-negative integer", profanity)
    parts: list[str | Ref] = []
    pos = 0
    for m in _REF.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        transform = m.group(4)
        if transform is not None and transform not in TRANSFORMS:
            raise _fail(file, key, f"a transform in {sorted(TRANSFORMS)}", transform)
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


def parse_bank(data: dict[str, Any], file: str, *, common: bool = False) -> PhraseBank:
    """Validate one parsed phrase-bank mapping (exposed for tests of bad files)."""
    _check_keys(data, _COMMON_KEYS if common else _BANK_KEYS, file, "")
    name = _req(data, "name", str, file)
    version = _req(data, "version", int, file)
    source = _req(data, "source", str, file)
    language = None if common else _req(data, "language", str, file)
    raw_slots = data.get("slots", {}) or {}
    if not isinstance(raw_slots, dict):
        raise _fail(file, "slots", "a mapping of slot name to fillers", raw_slots)
    slots = {}
    for sname, raw in raw_slots.items():
        if not isinstance(sname, str) or not re.fullmatch(r"[a-z_]+", sname):
            raise _fail(file, f"slots.{sname}", "a slot name of lowercase letters and _", sname)
        slots[sname] = _parse_slot(sname, raw, file)
    raw_templates = data.get("templates", {}) or {}
    if not isinstance(raw_templates, dict):
        raise _fail(file, "templates", "a mapping of kind to a list of templates", raw_templates)
    templates: dict[str, tuple[Template, ...]] = {}
    for kind, items in raw_templates.items():
        if kind not in KIND_ID:
            raise _fail(file, f"templates.{kind}", "a known kind (see chatlens.corpus.synth_bank.KINDS)", kind)
        if not isinstance(items, list) or not items:
            raise _fail(file, f"templates.{kind}", "a non-empty list of templates", items)
        templates[kind] = tuple(_parse_template(kind, i, t, file) for i, t in enumerate(items))
    episode: tuple[str, ...] = ()
    profanity: tuple[str, ...] = ()
    if common:
        for key in ("episode_slots", "profanity_slots"):
            val = data.get(key, [])
            if not (isinstance(val, list) and all(isinstance(s, str) for s in val)):
                raise _fail(file, key, "a list of slot names", val)
        episode = tuple(data.get("episode_slots", []))
        profanity = tuple(data.get("profanity_slots", []))
    return PhraseBank(
        name=name,
        version=version,
        language=language,
        source=source,
        file=file,
        slots=slots,
        templates=templates,
        episode_slots=episode,
        profanity_slots=profanity,
    )


def check_bank(bank: PhraseBank, common: PhraseBank) -> None:
    """Cross-check a language bank against the shared one: kinds present, refs resolvable."""
    for templates in bank.templates.values():
        for t in templates:
            for p in t.parts:
                if not isinstance(p, Ref):
                    continue
                slot = bank.slots.get(p.slot) or common.slots.get(p.slot)
                if slot is None:
                    msg = (
                        f"Invalid synthetic-corpus template {t.where}: unknown slot {{{p.slot}}}; "
                        f"expected one of {sorted(set(bank.slots) | set(common.slots))}."
                    )
                    raise InstrumentError(msg)
                if p.field is not None and (p.field not in slot.fields or p.field.startswith("_")):
                    msg = (
                        f"Invalid synthetic-corpus template {t.where}: slot {p.slot!r} has no field "
                        f"{p.field!r}; expected one of {[f for f in slot.fields if not f.startswith('_')]}."
                    )
                    raise InstrumentError(msg)
    missing = [
        k for k in KINDS if k not in bank.templates and k not in common.templates and k not in OPTIONAL_KINDS
    ]
    if missing:
        raise _fail(bank.file, f"templates.{missing[0]}", "templates for every generator kind", "missing")


# --------------------------------------------------------------------------- config
_MODEL_KEYS = {f for f in ModelSpec.__dataclass_fields__}
_LANG_KEYS = {f for f in LanguageSpec.__dataclass_fields__}


def _prob(file: str, key: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 1.0:
        raise _fail(file, key, "a probability in [0, 1]", v)
    return float(v)


def _dist(file: str, key: str, v: Any, names: tuple[str, ...] | None = None) -> dict[str, float]:
    if not isinstance(v, dict) or not v:
        raise _fail(file, key, "a mapping of outcome to probability", v)
    if names is not None and set(v) != set(names):
        raise _fail(file, key, f"exactly the outcomes {sorted(names)}", sorted(v))
    out = {k: _prob(file, f"{key}.{k}", p) for k, p in v.items()}
    if abs(sum(out.values()) - 1.0) > 1e-6:
        raise _fail(file, key, "probabilities summing to 1", round(sum(out.values()), 6))
    return out


def parse_config(data: dict[str, Any], file: str = "config.yaml") -> SynthConfig:
    """Validate the generator configuration mapping."""
    allowed = {"name", "version", "source", "popularity_exponent", "models", "languages", "turns", "flow", "answer", "redacted"}
    _check_keys(data, frozenset(allowed), file, "")
    models_raw = _req(data, "models", list, file)
    models = []
    optional = {"signature", "signature_share"}
    for i, m in enumerate(models_raw):
        if not isinstance(m, dict) or not (_MODEL_KEYS - optional <= set(m) <= _MODEL_KEYS):
            got = sorted(m) if isinstance(m, dict) else m
            raise _fail(file, f"models[{i}]", f"a mapping with keys {sorted(_MODEL_KEYS)}", got)
        if not isinstance(m["name"], str):
            raise _fail(file, f"models[{i}].name", "a string", m["name"])
        signature = m.get("signature", "none")
        if signature not in ("none", *SIGNATURES):
            raise _fail(file, f"models[{i}].signature", f"one of {['none', *SIGNATURES]}", signature)
        probs = {
            k: _prob(file, f"models[{i}].{k}", v) for k, v in m.items() if k not in ("name", "signature")
        }
        if probs["capability_share"] + probs["mixed_share"] > 1:
            raise _fail(file, f"models[{i}]", "capability_share + mixed_share <= 1", probs)
        if probs["lecture"] + probs["redirect"] + probs["late"] > 1:
            raise _fail(file, f"models[{i}]", "lecture + redirect + late <= 1", probs)
        models.append(ModelSpec(name=m["name"], signature=signature, **probs))
    langs = []
    for i, lang in enumerate(_req(data, "languages", list, file)):
        if not isinstance(lang, dict) or set(lang) != _LANG_KEYS:
            raise _fail(file, f"languages[{i}]", f"a mapping with keys {sorted(_LANG_KEYS)}", lang)
        if lang["code"] not in LANGUAGE_FILES:
            raise _fail(file, f"languages[{i}].code", f"one of {list(LANGUAGE_FILES)}", lang["code"])
        langs.append(
            LanguageSpec(
                code=lang["code"],
                name=str(lang["name"]),
                weight=float(lang["weight"]),
                refusal_multiplier=float(lang["refusal_multiplier"]),
            )
        )
    turns = _req(data, "turns", dict, file)
    head = turns.get("head")
    if not (isinstance(head, list) and head and all(isinstance(p, (int, float)) for p in head)):
        raise _fail(file, "turns.head", "a list of probabilities", head)
    max_turns = turns.get("max_turns")
    if not isinstance(max_turns, int) or not len(head) <= max_turns <= 60:
        raise _fail(file, "turns.max_turns", f"an integer in [{len(head)}, 60]", max_turns)
    tail_mass = _prob(file, "turns.tail_mass", turns.get("tail_mass"))
    if abs(sum(head) + tail_mass - 1.0) > 1e-6:
        raise _fail(file, "turns", "head + tail_mass summing to 1", sum(head) + tail_mass)
    flow = _req(data, "flow", dict, file)
    for k in ("jailbreak_first", "followup_after_answer", "abandon_after_refusal", "partial_lead"):
        _prob(file, f"flow.{k}", flow.get(k))
    _dist(file, "flow.request_if_refused", flow.get("request_if_refused"), ("ask_harm", "ask_edgy"))
    _dist(
        file,
        "flow.request_if_answered",
        flow.get("request_if_answered"),
        ("ask", "ask_code", "ask_greet", "ask_trap", "ask_edgy", "ask_cap", "ask_harm"),
    )
    reactions = ("rephrase", "jailbreak", "pushback", "accept", "topic_change")
    _dist(file, "flow.reaction_after_policy", flow.get("reaction_after_policy"), reactions)
    _dist(file, "flow.reaction_after_capability", flow.get("reaction_after_capability"), reactions)
    _dist(file, "flow.jailbreak_families", flow.get("jailbreak_families"), JAILBREAK_FAMILIES)
    answer = _req(data, "answer", dict, file)
    for k in ("long_answer", "list", "closing", "lookalike", "disclaimer_ask", "ask_suffix", "user_lowercase"):
        _prob(file, f"answer.{k}", answer.get(k))
    if not isinstance(answer.get("body_mean"), (int, float)) or answer["body_mean"] < 0:
        raise _fail(file, "answer.body_mean", "a non-negative number", answer.get("body_mean"))
    li = answer.get("list_items")
    if not (isinstance(li, list) and len(li) == 2 and all(isinstance(x, int) for x in li) and 1 <= li[0] <= li[1] <= 9):
        raise _fail(file, "answer.list_items", "[lo, hi] integers within 1..9", li)
    return SynthConfig(
        name=_req(data, "name", str, file),
        version=_req(data, "version", int, file),
        popularity_exponent=float(_req(data, "popularity_exponent", (int, float), file)),
        models=tuple(models),
        languages=tuple(langs),
        turns_head=tuple(float(p) for p in head),
        turns_tail_mass=tail_mass,
        turns_tail_ratio=_prob(file, "turns.tail_ratio", turns.get("tail_ratio")),
        max_turns=max_turns,
        flow=flow,
        answer=answer,
        redacted=_prob(file, "redacted", data.get("redacted")),
    )


@cache
def load_config() -> SynthConfig:
    """The bundled generator configuration (``chatlens/data/synth/config.yaml``)."""
    return parse_config(_read_yaml("config.yaml"))


@cache
def load_common() -> PhraseBank:
    """The shared slots and templates (``chatlens/data/synth/common.yaml``)."""
    return parse_bank(_read_yaml("common.yaml"), "common.yaml", common=True)


@cache
def load_bank(language: str) -> PhraseBank:
    """The validated phrase bank of one language (``chatlens/data/synth/<code>.yaml``)."""
    if language not in LANGUAGE_FILES:
        msg = f"No synthetic phrase bank for language {language!r}; expected one of {list(LANGUAGE_FILES)}."
        raise InstrumentError(msg)
    file = f"{language}.yaml"
    bank = parse_bank(_read_yaml(file), file)
    if bank.language != language:
        raise _fail(file, "language", repr(language), bank.language)
    check_bank(bank, load_common())
    return bank


__all__ = [
    "ASSISTANT_KINDS",
    "JAILBREAK_FAMILIES",
    "KINDS",
    "KIND_ID",
    "LANGUAGE_FILES",
    "MODERATION_CATEGORIES",
    "OPTIONAL_KINDS",
    "SIGNATURES",
    "USER_KINDS",
    "LanguageSpec",
    "ModelSpec",
    "PhraseBank",
    "Ref",
    "Slot",
    "SynthConfig",
    "Template",
    "check_bank",
    "load_bank",
    "load_common",
    "load_config",
    "parse_bank",
    "parse_config",
    "parse_yaml",
]
