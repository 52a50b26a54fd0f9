"""The generator configuration (``chatlens/data/synth/config.yaml``) as a typed value.

The file's shape (probabilities in [0, 1], distributions summing to 1, ...) is checked by the
data layer (:class:`~chatlens.datafiles.schemas.SynthConfigFile`); :func:`parse_config` checks
the generator's own names (signatures, language codes, each distribution's outcomes).

Why a data file: the simulated models' refusal rates and styles, the language mix and the
conversation flow are the knobs of the corpus; keeping them in one reviewed YAML file keeps them
out of code and lets the manifest record which version made a corpus.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache
from typing import Any

from chatlens import datafiles
from chatlens.datafiles.schemas import SynthConfigFile
from chatlens.errors import DataFileError
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


_OUTCOMES = {
    "request_if_refused": ("ask_harm", "ask_edgy"),
    "request_if_answered": REQUEST_KINDS,
    "reaction_after_policy": REACTIONS,
    "reaction_after_capability": REACTIONS,
    "jailbreak_families": JAILBREAK_FAMILIES,
}


def parse_config(doc: SynthConfigFile, file: str = "config.yaml") -> SynthConfig:
    """The :class:`SynthConfig` of a schema-checked file (the data layer's builder for ``synth-config``).

    Raises
    ------
    DataFileError
        A model's signature, a language code or a distribution's outcomes are not the
        generator's.
    """
    for i, m in enumerate(doc.models):
        if m.signature not in ("none", *SIGNATURES):
            raise DataFileError(file, f"models[{i}].signature", f"one of {['none', *SIGNATURES]}", m.signature)
    for i, lang in enumerate(doc.languages):
        if lang.code not in LANGUAGE_FILES:
            raise DataFileError(file, f"languages[{i}].code", f"one of {list(LANGUAGE_FILES)}", lang.code)
    flow = dataclasses.asdict(doc.flow)
    for key, names in _OUTCOMES.items():
        if set(flow[key]) != set(names):
            raise DataFileError(file, f"flow.{key}", f"exactly the outcomes {sorted(names)}", sorted(flow[key]))
    return SynthConfig(
        name=doc.name,
        version=doc.version,
        popularity_exponent=doc.popularity_exponent,
        models=tuple(ModelSpec(**dataclasses.asdict(m)) for m in doc.models),
        languages=tuple(LanguageSpec(**dataclasses.asdict(lang)) for lang in doc.languages),
        turns_head=doc.turns.head,
        turns_tail_mass=doc.turns.tail_mass,
        turns_tail_ratio=doc.turns.tail_ratio,
        max_turns=doc.turns.max_turns,
        flow=flow,
        answer=dataclasses.asdict(doc.answer),
        redacted=doc.redacted,
    )


@cache
def load_config() -> SynthConfig:
    """The bundled generator configuration (``chatlens/data/synth/config.yaml``)."""
    doc, record = datafiles.load_with_record("synth/config.yaml")
    return parse_config(doc, record.file)




__all__ = ["LanguageSpec", "ModelSpec", "SynthConfig", "load_config", "parse_config"]
