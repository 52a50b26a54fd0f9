"""Schemas of the synthetic-corpus generator's files: its configuration and phrase banks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any

from chatlens.datafiles._check import Check, Invalid
from chatlens.datafiles.schemas._base import (
    DataFile,
    NonEmpty,
    NonNegative,
    Unit,
)


def _sums_to_one(dist: dict[str, float]) -> bool:
    return bool(dist) and abs(sum(dist.values()) - 1.0) <= 1e-6


Distribution = Annotated[dict[NonEmpty, Unit], Check("probabilities (in [0, 1]) summing to 1", _sums_to_one)]


@dataclass(frozen=True, kw_only=True)
class SynthModel:
    """One simulated model of ``synth/config.yaml`` (meanings in that file)."""

    name: str
    refusal_rate: Unit
    capability_share: Unit
    mixed_share: Unit
    partial_share: Unit
    lecture: Unit
    redirect: Unit
    late: Unit
    jailbreak_resist: Unit
    rephrase_resist: Unit
    pushback_resist: Unit
    curly: Unit
    signature: str = "none"
    signature_share: Unit = 0.0

    def __post_init__(self) -> None:
        if self.capability_share + self.mixed_share > 1:
            raise Invalid(key="", expected="capability_share + mixed_share <= 1",
                          got=(self.capability_share, self.mixed_share))
        if self.lecture + self.redirect + self.late > 1:
            raise Invalid(key="", expected="lecture + redirect + late <= 1",
                          got=(self.lecture, self.redirect, self.late))


@dataclass(frozen=True, kw_only=True)
class SynthLanguage:
    code: str
    name: str
    weight: float
    refusal_multiplier: float


@dataclass(frozen=True, kw_only=True)
class SynthTurns:
    """Turn-count distribution: ``head`` probabilities of 1, 2, ... turns, then a geometric tail."""

    head: Annotated[tuple[float, ...], Check("a non-empty list of probabilities", bool)]
    tail_mass: Unit
    tail_ratio: Unit
    max_turns: int

    def __post_init__(self) -> None:
        if not len(self.head) <= self.max_turns <= 60:
            raise Invalid(key="max_turns", expected=f"an integer in [{len(self.head)}, 60]", got=self.max_turns)
        if abs(sum(self.head) + self.tail_mass - 1.0) > 1e-6:
            raise Invalid(key="", expected="head + tail_mass summing to 1", got=sum(self.head) + self.tail_mass)


@dataclass(frozen=True, kw_only=True)
class SynthFlow:
    jailbreak_first: Unit
    followup_after_answer: Unit
    abandon_after_refusal: Unit
    partial_lead: Unit
    request_if_refused: Distribution
    request_if_answered: Distribution
    reaction_after_policy: Distribution
    reaction_after_capability: Distribution
    jailbreak_families: Distribution


@dataclass(frozen=True, kw_only=True)
class SynthAnswer:
    body_mean: NonNegative
    long_answer: Unit
    list: Unit
    list_items: Annotated[tuple[int, ...], Check("[lo, hi] integers within 1..9",
                                                 lambda v: len(v) == 2 and 1 <= v[0] <= v[1] <= 9)]
    closing: Unit
    lookalike: Unit
    disclaimer_ask: Unit
    ask_suffix: Unit
    user_lowercase: Unit


@dataclass(frozen=True, kw_only=True)
class SynthConfigFile(DataFile):
    """``synth/config.yaml``: the synthetic corpus generator's knobs.

    Which names are valid (model signatures, language codes, the outcomes of each
    distribution) is the generator's vocabulary, checked by its builder
    (:func:`chatlens.synth.config.parse_config`).
    """

    version: int
    source: NonEmpty
    popularity_exponent: float
    models: tuple[SynthModel, ...]
    languages: tuple[SynthLanguage, ...]
    turns: SynthTurns
    flow: SynthFlow
    answer: SynthAnswer
    redacted: Unit


SlotName = Annotated[str, Check("a slot name of lowercase letters and _",
                                lambda n: re.fullmatch(r"[a-z_]+", n) is not None)]


@dataclass(frozen=True, kw_only=True)
class SynthPhrases(DataFile):
    """What every synth phrase file has: slots and templates. Their content (fillers, ranges,
    generated suffixes; template text with ``{slot.field|transform}`` references and flags) is a
    small language checked by :func:`chatlens.synth.bank.parse_bank`."""

    version: int
    source: NonEmpty
    slots: dict[SlotName, Any] = field(default_factory=dict)
    templates: dict[str, Annotated[tuple[Any, ...], Check("a non-empty list of templates", bool)]] = field(
        default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class SynthBankFile(SynthPhrases):
    """``synth/<language>.yaml``: one language's phrase bank."""

    language: NonEmpty


@dataclass(frozen=True, kw_only=True)
class SynthCommonFile(SynthPhrases):
    """``synth/common.yaml``: the slots and templates every language shares."""

    episode_slots: tuple[str, ...] = ()
    profanity_slots: tuple[str, ...] = ()
