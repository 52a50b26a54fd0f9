"""The generator configuration (``chatlens/data/synth/config.yaml``): parsing and validating it.

Why a data file: the simulated models' refusal rates and styles, the language mix and the
conversation flow are the knobs of the corpus; keeping them in one reviewed YAML file keeps them
out of code and lets the manifest record which version made a corpus.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from chatlens.synth.datafile import check_keys, fail, read_yaml, require
from chatlens.synth.vocab import (
    JAILBREAK_FAMILIES,
    LANGUAGE_FILES,
    REACTIONS,
    REQUEST_KINDS,
    SIGNATURES,
)


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


_MODEL_KEYS = {f for f in ModelSpec.__dataclass_fields__}
_LANG_KEYS = {f for f in LanguageSpec.__dataclass_fields__}


def _prob(file: str, key: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= float(v) <= 1.0:
        raise fail(file, key, "a probability in [0, 1]", v)
    return float(v)


def _dist(file: str, key: str, v: Any, names: tuple[str, ...] | None = None) -> dict[str, float]:
    if not isinstance(v, dict) or not v:
        raise fail(file, key, "a mapping of outcome to probability", v)
    if names is not None and set(v) != set(names):
        raise fail(file, key, f"exactly the outcomes {sorted(names)}", sorted(v))
    out = {k: _prob(file, f"{key}.{k}", p) for k, p in v.items()}
    if abs(sum(out.values()) - 1.0) > 1e-6:
        raise fail(file, key, "probabilities summing to 1", round(sum(out.values()), 6))
    return out


def parse_config(data: dict[str, Any], file: str = "config.yaml") -> SynthConfig:
    """Validate the generator configuration mapping."""
    allowed = {"name", "version", "source", "popularity_exponent", "models", "languages", "turns", "flow", "answer", "redacted"}
    check_keys(data, frozenset(allowed), file, "")
    models_raw = require(data, "models", list, file)
    models = []
    optional = {"signature", "signature_share"}
    for i, m in enumerate(models_raw):
        if not isinstance(m, dict) or not (_MODEL_KEYS - optional <= set(m) <= _MODEL_KEYS):
            got = sorted(m) if isinstance(m, dict) else m
            raise fail(file, f"models[{i}]", f"a mapping with keys {sorted(_MODEL_KEYS)}", got)
        if not isinstance(m["name"], str):
            raise fail(file, f"models[{i}].name", "a string", m["name"])
        signature = m.get("signature", "none")
        if signature not in ("none", *SIGNATURES):
            raise fail(file, f"models[{i}].signature", f"one of {['none', *SIGNATURES]}", signature)
        probs = {
            k: _prob(file, f"models[{i}].{k}", v) for k, v in m.items() if k not in ("name", "signature")
        }
        if probs["capability_share"] + probs["mixed_share"] > 1:
            raise fail(file, f"models[{i}]", "capability_share + mixed_share <= 1", probs)
        if probs["lecture"] + probs["redirect"] + probs["late"] > 1:
            raise fail(file, f"models[{i}]", "lecture + redirect + late <= 1", probs)
        models.append(ModelSpec(name=m["name"], signature=signature, **probs))
    langs = []
    for i, lang in enumerate(require(data, "languages", list, file)):
        if not isinstance(lang, dict) or set(lang) != _LANG_KEYS:
            raise fail(file, f"languages[{i}]", f"a mapping with keys {sorted(_LANG_KEYS)}", lang)
        if lang["code"] not in LANGUAGE_FILES:
            raise fail(file, f"languages[{i}].code", f"one of {list(LANGUAGE_FILES)}", lang["code"])
        langs.append(
            LanguageSpec(
                code=lang["code"],
                name=str(lang["name"]),
                weight=float(lang["weight"]),
                refusal_multiplier=float(lang["refusal_multiplier"]),
            )
        )
    turns = require(data, "turns", dict, file)
    head = turns.get("head")
    if not (isinstance(head, list) and head and all(isinstance(p, (int, float)) for p in head)):
        raise fail(file, "turns.head", "a list of probabilities", head)
    max_turns = turns.get("max_turns")
    if not isinstance(max_turns, int) or not len(head) <= max_turns <= 60:
        raise fail(file, "turns.max_turns", f"an integer in [{len(head)}, 60]", max_turns)
    tail_mass = _prob(file, "turns.tail_mass", turns.get("tail_mass"))
    if abs(sum(head) + tail_mass - 1.0) > 1e-6:
        raise fail(file, "turns", "head + tail_mass summing to 1", sum(head) + tail_mass)
    flow = require(data, "flow", dict, file)
    for k in ("jailbreak_first", "followup_after_answer", "abandon_after_refusal", "partial_lead"):
        _prob(file, f"flow.{k}", flow.get(k))
    _dist(file, "flow.request_if_refused", flow.get("request_if_refused"), ("ask_harm", "ask_edgy"))
    _dist(file, "flow.request_if_answered", flow.get("request_if_answered"), REQUEST_KINDS)
    _dist(file, "flow.reaction_after_policy", flow.get("reaction_after_policy"), REACTIONS)
    _dist(file, "flow.reaction_after_capability", flow.get("reaction_after_capability"), REACTIONS)
    _dist(file, "flow.jailbreak_families", flow.get("jailbreak_families"), JAILBREAK_FAMILIES)
    answer = require(data, "answer", dict, file)
    for k in ("long_answer", "list", "closing", "lookalike", "disclaimer_ask", "ask_suffix", "user_lowercase"):
        _prob(file, f"answer.{k}", answer.get(k))
    if not isinstance(answer.get("body_mean"), (int, float)) or answer["body_mean"] < 0:
        raise fail(file, "answer.body_mean", "a non-negative number", answer.get("body_mean"))
    li = answer.get("list_items")
    if not (isinstance(li, list) and len(li) == 2 and all(isinstance(x, int) for x in li) and 1 <= li[0] <= li[1] <= 9):
        raise fail(file, "answer.list_items", "[lo, hi] integers within 1..9", li)
    return SynthConfig(
        name=require(data, "name", str, file),
        version=require(data, "version", int, file),
        popularity_exponent=float(require(data, "popularity_exponent", (int, float), file)),
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
    return parse_config(read_yaml("config.yaml"))




__all__ = ["LanguageSpec", "ModelSpec", "SynthConfig", "load_config", "parse_config"]
