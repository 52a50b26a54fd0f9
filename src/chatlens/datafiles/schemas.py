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

import math
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from chatlens.datafiles._check import NULL_IS_A_VALUE, Check, Invalid
from chatlens.vocabulary import (
    CUE_KINDS,
    JAILBREAK_FAMILIES,
    CueType,
    Detector,
    Figure,
    Profile,
    ReactionCueCategory,
    Role,
    RunOption,
    TableSet,
)

NonEmpty = Annotated[str, Check("a non-empty string", lambda s: bool(s.strip()))]
Version = Annotated[str | int | float, Check("a non-empty version", lambda v: bool(str(v).strip()))]
Source = Annotated[str | dict[str, Any], Check("a non-empty citation", bool)]
Phrases = tuple[NonEmpty, ...]
Boundaries = Literal["word", "none"]
Unit = Annotated[float, Check("a number in [0, 1]", lambda v: 0.0 <= v <= 1.0)]
NonNegative = Annotated[float, Check("a number >= 0", lambda v: v >= 0)]
Finite = Annotated[float, Check("a finite number", math.isfinite)]
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


@dataclass(frozen=True, kw_only=True)
class ScaleSpec:
    """An integer rating scale; ``anchors`` labels some of its points."""

    min: int
    max: int
    anchors: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.min >= self.max:
            raise Invalid(key="", expected="integers min < max", got={"min": self.min, "max": self.max})
        bad = sorted(k for k in self.anchors if not self.min <= k <= self.max)
        if bad:
            raise Invalid(key=f"anchors.{bad[0]}", expected=f"an integer in {self.min}-{self.max}", got=bad[0])


@dataclass(frozen=True, kw_only=True)
class ScoringSpec:
    bias: Finite | None = None
    link: Literal["logit"] = "logit"


@dataclass(frozen=True, kw_only=True)
class RoleSpec:
    speaker: str
    other: str


@dataclass(frozen=True, kw_only=True)
class RolesSpec:
    labels: dict[str, RoleSpec] = field(default_factory=dict)
    default: str | None = None

    def __post_init__(self) -> None:
        if self.default is not None and self.default not in self.labels:
            raise Invalid(key="default", expected=f"one of roles.labels {sorted(self.labels)}", got=self.default)


@dataclass(frozen=True, kw_only=True)
class OutputSpec:
    """The answer's JSON form; ``root_key: null`` puts the ratings at the top level."""

    root_key: str | None = field(default="likert_evaluation", metadata={NULL_IS_A_VALUE: True})
    grouped: bool = False


@dataclass(frozen=True, kw_only=True)
class GroupSpec:
    key: str
    title: str = ""


@dataclass(frozen=True, kw_only=True)
class InstrumentPrompt:
    messages: tuple[PromptMessage, ...]
    clean: bool = True


@dataclass(frozen=True, kw_only=True)
class ItemSpec:
    key: str | int
    statement: NonEmpty
    weight: Finite = 0.0
    reverse: bool = False
    group: str | None = None


@dataclass(frozen=True, kw_only=True)
class InstrumentFile(DataFile):
    """``instruments/*.yaml`` or a user's questionnaire (``extends:`` already merged).

    Prompt placeholders are checked by the builder
    (:func:`chatlens.humanlike.instrument_schema.instrument_from_document`), which knows them.
    """

    source: str | dict[str, Any] = field(default_factory=dict)
    description: str = ""
    language: str = ""
    key_space: str | None = None
    scale: ScaleSpec
    scoring: ScoringSpec = field(default_factory=ScoringSpec)
    roles: RolesSpec = field(default_factory=RolesSpec)
    output: OutputSpec = field(default_factory=OutputSpec)
    groups: tuple[GroupSpec, ...] = ()
    prompt: InstrumentPrompt
    items: Annotated[tuple[ItemSpec, ...], Check("a non-empty list of items", bool)]

    def __post_init__(self) -> None:
        if self.output.grouped and not self.groups:
            raise Invalid(key="groups", expected="declared groups (output.grouped is true)", got=())
        seen: set[str] = set()
        declared = {g.key for g in self.groups}
        for i, item in enumerate(self.items):
            key = str(item.key).strip()
            if not key or key in seen:
                raise Invalid(key=f"items[{i}].key", expected="a non-empty key no other item has", got=key)
            seen.add(key)
            if item.group is not None and item.group not in declared:
                raise Invalid(key=f"items[{i}].group", expected=f"a group declared under 'groups' {sorted(declared)}",
                              got=item.group)
            if self.output.grouped and item.group is None:
                raise Invalid(key=f"items[{i}].group", expected="a group (output.grouped is true)", got=None)


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


# --------------------------------------------------------------------------- synth


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


@dataclass(frozen=True)
class ProfileStage:
    """One stage of a profile: its registered name, parameters and the run options it receives.

    Whether ``stage`` names a registered stage is checked by the profile's builder
    (:func:`chatlens.pipeline.profile.profile_from_document`): the registry is above this layer.
    """

    stage: str
    params: dict[str, Any] = field(default_factory=dict)
    run_options: tuple[RunOption, ...] = ()

    def __post_init__(self) -> None:
        clash = sorted(set(self.params) & set(self.run_options))
        if clash:
            raise Invalid(key="params", expected="no key that is also a run option", got=clash[0])


@dataclass(frozen=True, kw_only=True)
class ProfileFile(DataFile):
    """``profiles/*.yaml`` or a user's profile: the stages a run applies, its tables and figures."""

    version: Annotated[int, Check("a positive integer", lambda v: v >= 1)]
    source: NonEmpty
    description: str = ""
    stages: Annotated[tuple[ProfileStage, ...], Check("a non-empty list of {stage, params, run_options}", bool)]
    tables: TableSet
    figures: tuple[Figure, ...] = ()
    definitions: NonEmpty
    demo_truth: bool = False


@dataclass(frozen=True, kw_only=True)
class ReportDefinitions(DataFile):
    """``report/definitions.yaml``: the definitions printed in every report, per profile."""

    profiles: dict[Profile, tuple[Definition, ...]]


__all__ = [
    "CueLexiconFile",
    "CueSpec",
    "DataFile",
    "Definition",
    "GroupSpec",
    "HlliteLexicons",
    "HlliteWeights",
    "InstrumentFile",
    "InstrumentPrompt",
    "ItemSpec",
    "JailbreakTemplates",
    "LabelPromptFile",
    "LanguageNames",
    "LearnedRefusalWeights",
    "ModelPrice",
    "OutcomeLabels",
    "PhraseCategory",
    "PriceList",
    "ProfileFile",
    "ProfileStage",
    "ProfanityLanguage",
    "ProfanityWords",
    "PromptMessage",
    "ReactionCues",
    "ReaskPrompt",
    "ReportDefinitions",
    "OutputSpec",
    "RoleNames",
    "RoleSpec",
    "RolesSpec",
    "ScaleSpec",
    "ScoringSpec",
    "SentimentLanguage",
    "SynthAnswer",
    "SynthBankFile",
    "SynthCommonFile",
    "SynthConfigFile",
    "SynthFlow",
    "SynthLanguage",
    "SynthModel",
    "SynthPhrases",
    "SynthTurns",
    "SentimentThresholds",
    "SentimentWords",
    "StylePatterns",
    "TemplateSpec",
    "Thresholds",
    "WeightedFeature",
    "WordList",
]
