"""Schemas of the run's own files: profiles, report definitions, ratings outcome scales and style features."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from chatlens.datafiles._check import Check, Invalid
from chatlens.datafiles.schemas._base import (
    DataFile,
    NonEmpty,
    Phrases,
    Unit,
)
from chatlens.vocabulary import (
    Figure,
    Profile,
    RunOption,
    TableSet,
)


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


Count = Annotated[int, Check("a positive integer", lambda v: v >= 1)]
AccuracyMetric = Literal["precision", "recall", "f1", "accuracy", "macro_f1", "false_positive_rate"]


@dataclass(frozen=True, kw_only=True)
class MeasuredValue:
    """One measured figure and its 95% interval (bounds absent when not estimable)."""

    value: Unit
    low: Unit | None = None
    high: Unit | None = None


@dataclass(frozen=True, kw_only=True)
class AccuracyEntry:
    """How accurate one signal of one profile is on one real labelled set."""

    signal: Literal["refusal", "refusal_type", "reaction", "jailbreak"]
    profile: NonEmpty
    detector: NonEmpty
    evaluation: NonEmpty
    dataset: NonEmpty
    n: Count
    positives: int | None = None
    ci: NonEmpty
    metrics: Annotated[dict[AccuracyMetric, MeasuredValue], Check("at least one metric", bool)]
    #: ``all``, or the one source of the set the figures are restricted to (``source=hh``)
    group: str = "all"


@dataclass(frozen=True, kw_only=True)
class SignalAccuracyFile(DataFile):
    """``validation/real_accuracy.json``: written by ``chatlens validate --write-accuracy``."""

    generated: NonEmpty
    chatlens_version: NonEmpty
    entries: tuple[AccuracyEntry, ...]


@dataclass(frozen=True, kw_only=True)
class TableText:
    """A report table's title and the note printed under it."""

    title: NonEmpty
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class ReportPresentation(DataFile):
    """``report/presentation.yaml``: thresholds, labels and wording of the HTML report."""

    small_group_n: Count
    table_rows: Count
    excerpt_chars: Count
    excerpts_per_group: Count
    columns: dict[NonEmpty, NonEmpty]
    tables: dict[NonEmpty, TableText]
    headline: dict[NonEmpty, NonEmpty]
    validity: dict[NonEmpty, NonEmpty]
