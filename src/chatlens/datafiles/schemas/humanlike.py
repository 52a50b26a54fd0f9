"""Schemas of the humanlike layer's files: HL-lite lexicons and weights, questionnaire instruments."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from chatlens.datafiles._check import NULL_IS_A_VALUE, Check, Invalid
from chatlens.datafiles.schemas._base import (
    DataFile,
    Finite,
    NonEmpty,
    Positive,
    Source,
    Version,
)
from chatlens.datafiles.schemas.llm import PromptMessage


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
