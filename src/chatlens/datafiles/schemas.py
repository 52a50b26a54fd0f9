"""Typed schemas of every kind of bundled data file: frozen dataclasses checked by ``_check``.

Why here, in the base layer: a schema says what a *valid file* is (keys, types, closed label
sets from :mod:`chatlens.vocabulary`), which ``chatlens validate --data-file`` must check without
running the analysis. What a file *means* (regexes compiled, macros expanded, labels normalised)
stays with the layer that uses it, in the builder the registry names for each kind.

Every schema derives from :class:`DataFile` (``name``, ``version``, ``source``: the provenance a
run manifest records). A key absent or null takes the field's default; a key not declared here
is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from chatlens.datafiles._check import Check, Invalid
from chatlens.vocabulary import (
    CUE_KINDS,
    JAILBREAK_FAMILIES,
    CueType,
    Detector,
    Profile,
    ReactionCueCategory,
    Role,
)

NonEmpty = Annotated[str, Check("a non-empty string", lambda s: bool(s.strip()))]
Version = Annotated[str | int | float, Check("a non-empty version", lambda v: bool(str(v).strip()))]
Source = Annotated[str | dict[str, Any], Check("a non-empty citation", bool)]
Phrases = tuple[NonEmpty, ...]
Boundaries = Literal["word", "none"]
Unit = Annotated[float, Check("a number in [0, 1]", lambda v: 0.0 <= v <= 1.0)]
NonNegative = Annotated[float, Check("a number >= 0", lambda v: v >= 0)]
Positive = Annotated[float, Check("a positive finite number", lambda v: 0 < v < float("inf"))]
IsoCode = Annotated[str, Check("an ISO 639 code", lambda s: re.fullmatch(r"[a-z]{2,3}", s) is not None)]
Family = Annotated[str, Check(f"one of {list(JAILBREAK_FAMILIES)}", lambda f: f in JAILBREAK_FAMILIES)]
CueId = Annotated[str, Check("a dotted lower-case identifier",
                             lambda s: re.match(r"^[a-z0-9_]+(?:\.[a-z0-9_]+)*$", s) is not None)]


@dataclass(frozen=True, kw_only=True)
class DataFile:
    """Provenance every data file carries."""

    name: NonEmpty
    version: Version
    source: Source


# --------------------------------------------------------------------------- corpus


@dataclass(frozen=True, kw_only=True)
class RoleNames(DataFile):
    """``corpus/roles.yaml``: raw role names per canonical role."""

    roles: dict[Role, tuple[str, ...]]


# --------------------------------------------------------------------------- signals


@dataclass(frozen=True, kw_only=True)
class CueSpec:
    """One cue of a cue lexicon; at least one of ``phrases`` / ``regex``."""

    id: CueId
    kind: str
    type: CueType = "none"
    weight: float = 1.0
    boundaries: Boundaries | None = None
    phrases: Phrases = ()
    regex: Phrases = ()
    note: str = ""

    def __post_init__(self) -> None:
        if not self.phrases and not self.regex:
            raise Invalid(key="", expected="at least one item under 'phrases:' or 'regex:'", got=self.id)


@dataclass(frozen=True, kw_only=True)
class CueLexiconFile(DataFile):
    """``signals/patterns/{refusal,jailbreak,legacy}_*.yaml`` (see :mod:`chatlens.signals.lexicon`)."""

    source: NonEmpty
    language: NonEmpty
    detector: Detector
    description: str = ""
    boundaries: Boundaries = "word"
    macros: dict[str, str] = field(default_factory=dict)
    cues: Annotated[tuple[CueSpec, ...], Check("a non-empty list of cue mappings", bool)]

    def __post_init__(self) -> None:
        kinds = CUE_KINDS[self.detector]
        seen: set[str] = set()
        for i, cue in enumerate(self.cues):
            if cue.kind not in kinds:
                raise Invalid(key=f"cues[{i}].kind", expected=f"one of {sorted(kinds)}", got=cue.kind)
            if cue.id in seen:
                raise Invalid(key=f"cues[{i}].id", expected="an id not used by another cue in the file",
                              got=cue.id)
            seen.add(cue.id)
            if self.detector in ("refusal", "jailbreak"):
                for j, phrase in enumerate(cue.phrases):
                    if phrase != phrase.casefold():
                        raise Invalid(key=f"cues[{i}].phrases[{j}]", got=phrase,
                                      expected="lower-case text (phrases match case-folded input)")


@dataclass(frozen=True, kw_only=True)
class WordList(DataFile):
    """``signals/patterns/wordlist_*.yaml``, ``legacy_profanity.yaml``: a plain list of words."""

    words: Phrases


@dataclass(frozen=True, kw_only=True)
class RegexList(DataFile):
    """``signals/refusal_context_cues.yaml``: regexes that are features of a learned tier."""

    patterns: Phrases
    language: str = ""


@dataclass(frozen=True, kw_only=True)
class RefusalModelWeights(DataFile):
    """``signals/refusal_model.json``: the context refusal model (``signals.refusal_model``)."""

    format_version: int
    feature_version: int
    C: float
    C_type: float
    threshold: Unit
    n_features: int
    cue_ids: tuple[str, ...]
    refusal: dict[str, Any]
    type: dict[str, Any]
    trained_on: tuple[dict[str, Any], ...] = ()
    trained: str = ""
    lexicons: dict[str, str] = field(default_factory=dict)
    heldout: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class LabelledSetFile(DataFile):
    """``validation/*.json``: ids and labels of a labelled development set (never its text)."""

    columns: tuple[NonEmpty, ...]
    rows: tuple[tuple[Any, ...], ...]
    column_notes: dict[str, str] = field(default_factory=dict)
    sampling: str = ""
    annotation: str = ""
    second_pass_of: str = ""

    def __post_init__(self) -> None:
        bad = next((i for i, r in enumerate(self.rows) if len(r) != len(self.columns)), None)
        if bad is not None:
            key, expected = f"rows[{bad}]", f"{len(self.columns)} values (one per column)"
            raise Invalid(key, expected, len(self.rows[bad]))


@dataclass(frozen=True, kw_only=True)
class TemplateSpec:
    """One reference jailbreak template."""

    id: NonEmpty
    family: Family
    text: NonEmpty


@dataclass(frozen=True, kw_only=True)
class JailbreakTemplates(DataFile):
    """``signals/patterns/templates_jailbreak.yaml``."""

    templates: tuple[TemplateSpec, ...]


@dataclass(frozen=True, kw_only=True)
class LearnedRefusalWeights(DataFile):
    """``signals/refusal_learned.json``: the sparse logistic model of ``signals.learned``."""

    format_version: int
    n_hash: int
    opening_chars: int
    C: float  # scikit-learn's name for the inverse regularisation strength
    intercept: float
    cue_ids: tuple[str, ...]
    n_features: int
    coef_index: tuple[int, ...]
    coef_value: tuple[float, ...]
    trained_on: tuple[dict[str, Any], ...] = ()
    evaluation: str = ""
    lexicons: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.coef_index) != len(self.coef_value):
            raise Invalid(key="coef_value", expected=f"{len(self.coef_index)} values (one per coef_index)",
                          got=len(self.coef_value))
        if any(not 0 <= i < self.n_features for i in self.coef_index):
            raise Invalid(key="coef_index", expected=f"indices in [0, {self.n_features})",
                          got=max(self.coef_index))


# --------------------------------------------------------------------------- features


@dataclass(frozen=True, kw_only=True)
class ReactionCues(DataFile):
    """``features/reactions.yaml``: phrases per language and reaction category."""

    no_boundaries: Phrases = ()
    languages: dict[str, dict[ReactionCueCategory, Phrases]]


ReactionModelCueCategory = Literal["asks_info", "jailbreak", "insist", "answer_opener", "request_opener"]


@dataclass(frozen=True, kw_only=True)
class ReactionModelCues(DataFile):
    """``features/reaction_model.yaml``: context cues of the learned reaction classifier."""

    no_boundaries: Phrases = ()
    languages: dict[str, dict[ReactionModelCueCategory, Phrases]]


@dataclass(frozen=True, kw_only=True)
class ReactionModelWeights(DataFile):
    """``features/reaction_model.json``: the learned reaction classifier and its data card
    (``features.reaction_model``; written by ``scripts/train_reaction_model.py``)."""

    format_version: int
    n_hash: int
    opening_chars: int
    cues: NonEmpty  # versions of the cue files the features were built with
    C: float
    temperature: Positive
    classes: tuple[NonEmpty, ...]
    n_features: int
    intercept: tuple[float, ...]
    coef_index: tuple[int, ...]
    coef_value: tuple[tuple[float, ...], ...]
    model: str = ""
    trained: str = ""
    training_data: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    caveats: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ProfanityLanguage:
    words: Phrases = ()
    stems: Phrases = ()
    language_only: Phrases = ()


@dataclass(frozen=True, kw_only=True)
class ProfanityWords(DataFile):
    """``features/profanity.yaml``."""

    no_boundaries: Phrases = ()
    languages: dict[str, ProfanityLanguage]


@dataclass(frozen=True)
class Thresholds:
    """Compound cut-points: ``< negative`` is neg, ``> positive`` is pos, else neu."""

    negative: float
    positive: float

    def __post_init__(self) -> None:
        if not -1.0 <= self.negative <= self.positive <= 1.0:
            raise Invalid(key="", expected="-1 <= negative <= positive <= 1",
                          got={"negative": self.negative, "positive": self.positive})


@dataclass(frozen=True, kw_only=True)
class SentimentThresholds:
    legacy: Thresholds
    default: Thresholds


@dataclass(frozen=True, kw_only=True)
class SentimentLanguage:
    positive: Phrases = ()
    negative: Phrases = ()
    negators: Phrases = ()


@dataclass(frozen=True, kw_only=True)
class SentimentWords(DataFile):
    """``features/sentiment.yaml``: VADER thresholds and small non-English lexicons."""

    thresholds: SentimentThresholds
    valence: float = 2.0
    alpha: float = 15.0
    no_boundaries: Phrases = ()
    languages: dict[str, SentimentLanguage]


@dataclass(frozen=True, kw_only=True)
class LanguageNames(DataFile):
    """``features/languages.yaml``: language name → ISO 639 code (null: unknown)."""

    names: dict[str, IsoCode | None]


# --------------------------------------------------------------------------- humanlike


@dataclass(frozen=True, kw_only=True)
class PhraseCategory:
    phrases: tuple[Annotated[str | int | bool, Check("text", lambda p: bool(str(p).strip()))], ...]
    description: str = ""
    match: Literal["words", "literal"] = "words"


@dataclass(frozen=True, kw_only=True)
class HlliteLexicons(DataFile):
    """``humanlike/lexicons.yaml``: the HL-lite word lists (name and version optional)."""

    name: NonEmpty = "lexicons"
    version: Version = "0"
    source: Source = ""
    language: str = ""
    categories: dict[str, PhraseCategory]


@dataclass(frozen=True, kw_only=True)
class WeightedFeature:
    name: str
    mean: float
    scale: Positive
    weight: float


@dataclass(frozen=True, kw_only=True)
class HlliteWeights(DataFile):
    """``humanlike/hllite-weights.yaml``: standardised logistic weights of HL-lite."""

    name: NonEmpty = "hl-lite"
    version: Version = "0"
    source: Source = field(default_factory=dict)
    description: str = ""
    intercept: float
    features: tuple[WeightedFeature, ...]


# --------------------------------------------------------------------------- llm


@dataclass(frozen=True, kw_only=True)
class ModelPrice:
    input: NonNegative
    output: NonNegative


@dataclass(frozen=True, kw_only=True)
class PriceList(DataFile):
    """``llm/prices.yaml`` or a user's override file (name, version, source optional)."""

    name: str | None = None
    version: Version = ""
    source: Source = ""
    currency: str = "USD"
    unit: Literal["per_1m_tokens"] = "per_1m_tokens"
    models: dict[str, ModelPrice]


@dataclass(frozen=True, kw_only=True)
class PromptMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True, kw_only=True)
class LabelPromptFile(DataFile):
    """``llm/<task>.yaml`` or a user prompt: messages with ``{{text}}`` and an output schema."""

    name: str | None = None
    version: Version = ""
    source: Source = ""
    messages: tuple[PromptMessage, ...] = ()
    output: dict[str, Any]

    def __post_init__(self) -> None:
        if not any("{{text}}" in m.content for m in self.messages):
            raise Invalid(key="messages", expected="a message containing the {{text}} placeholder",
                          got=[m.content[:40] for m in self.messages])
        if self.output.get("type") != "object" or not self.output.get("properties"):
            raise Invalid(key="output", expected="an object schema with properties", got=self.output)


@dataclass(frozen=True, kw_only=True)
class ReaskPrompt(DataFile):
    """``llm/reask.yaml``: the re-ask message, ``{{reason}}`` filled in."""

    template: Annotated[str, Check("text containing {{reason}}", lambda t: "{{reason}}" in t)]


# --------------------------------------------------------------------------- ratings, report


@dataclass(frozen=True, kw_only=True)
class OutcomeLabels(DataFile):
    """``ratings/outcomes.yaml``: label → score of model A, in one or both sections."""

    winner_labels: dict[NonEmpty, Unit] | None = None
    preference_scale: dict[NonEmpty, Unit] | None = None

    def __post_init__(self) -> None:
        if self.winner_labels is None and self.preference_scale is None:
            raise Invalid(key="winner_labels|preference_scale", expected="present (at least one)", got=None)


@dataclass(frozen=True, kw_only=True)
class StylePatterns(DataFile):
    """``ratings/style_features.yaml``: feature → regexes whose matches it counts."""

    features: dict[str, Annotated[Phrases, Check("a non-empty list of regexes", bool)]]


@dataclass(frozen=True, kw_only=True)
class Definition:
    term: NonEmpty
    text: NonEmpty


@dataclass(frozen=True, kw_only=True)
class ReportDefinitions(DataFile):
    """``report/definitions.yaml``: the definitions printed in every report, per profile."""

    profiles: dict[Profile, tuple[Definition, ...]]


__all__ = [
    "CueLexiconFile",
    "CueSpec",
    "DataFile",
    "Definition",
    "HlliteLexicons",
    "HlliteWeights",
    "JailbreakTemplates",
    "LabelPromptFile",
    "LanguageNames",
    "LearnedRefusalWeights",
    "ModelPrice",
    "OutcomeLabels",
    "PhraseCategory",
    "PriceList",
    "ProfanityLanguage",
    "ProfanityWords",
    "PromptMessage",
    "ReactionCues",
    "ReaskPrompt",
    "ReportDefinitions",
    "RoleNames",
    "SentimentLanguage",
    "SentimentThresholds",
    "SentimentWords",
    "StylePatterns",
    "TemplateSpec",
    "Thresholds",
    "WeightedFeature",
    "WordList",
]
