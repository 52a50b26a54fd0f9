"""Schemas of the corpus and signals layers' files: role names, cue lexicons, word lists, learned weights, labelled sets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from chatlens.datafiles._check import Check, Invalid
from chatlens.datafiles.schemas._base import (
    Boundaries,
    CueId,
    DataFile,
    Family,
    Finite,
    NonEmpty,
    Phrases,
    Unit,
    check_sparse,
)
from chatlens.vocabulary import (
    CUE_KINDS,
    CueType,
    Detector,
    Role,
)


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
class PersonaTags(DataFile):
    """``signals/persona_tags.yaml``: line-start tags of the voices of a multi-persona reply, and
    the section headings (upper-case letters only) that look like one but are not."""

    patterns: Phrases
    headings: tuple[str, ...] = ()
    language: str = ""


@dataclass(frozen=True, kw_only=True)
class SparseCoefficients:
    """One logistic model of a weights file: its intercept and its non-zero coefficients."""

    intercept: Finite
    index: tuple[int, ...]
    value: tuple[Finite, ...]


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
    refusal: SparseCoefficients
    type: SparseCoefficients
    screen: dict[str, Finite] = field(default_factory=dict)
    trained_on: tuple[dict[str, Any], ...] = ()
    trained: str = ""
    lexicons: dict[str, str] = field(default_factory=dict)
    heldout: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("refusal", "type"):
            block = getattr(self, name)
            check_sparse(block.index, block.value, self.n_features, f"{name}.index", f"{name}.value")


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
    intercept: Finite
    cue_ids: tuple[str, ...]
    n_features: int
    coef_index: tuple[int, ...]
    coef_value: tuple[Finite, ...]
    trained_on: tuple[dict[str, Any], ...] = ()
    evaluation: str = ""
    lexicons: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_sparse(self.coef_index, self.coef_value, self.n_features, "coef_index", "coef_value")
