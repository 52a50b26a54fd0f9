"""Schemas of the features layer's files: reaction cues, profanity and sentiment lexicons, language names."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from chatlens.datafiles._check import Invalid
from chatlens.datafiles.schemas._base import (
    DataFile,
    Finite,
    IsoCode,
    NonEmpty,
    Phrases,
    Positive,
    check_sparse,
)
from chatlens.vocabulary import (
    REACTIONS,
    ReactionCueCategory,
)


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
    intercept: tuple[Finite, ...]
    coef_index: tuple[int, ...]
    coef_value: tuple[tuple[Finite, ...], ...]
    model: str = ""
    trained: str = ""
    training_data: dict[str, Any] = field(default_factory=dict)
    evaluation: dict[str, Any] = field(default_factory=dict)
    caveats: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # the model's columns are its classes in sorted order (scikit-learn's, which the scorer
        # relies on), one intercept and one coefficient row each
        if list(self.classes) != sorted(set(self.classes)) or not set(self.classes) <= set(REACTIONS):
            raise Invalid(key="classes", got=list(self.classes),
                          expected=f"distinct reaction labels in sorted order, from {sorted(REACTIONS)}")
        for key in ("intercept", "coef_value"):
            if len(getattr(self, key)) != len(self.classes):
                raise Invalid(key=key, expected=f"{len(self.classes)} entries (one per class)",
                              got=len(getattr(self, key)))
        for i, row in enumerate(self.coef_value):
            check_sparse(self.coef_index, row, self.n_features, "coef_index", f"coef_value[{i}]")


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
