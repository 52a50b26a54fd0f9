"""The instrument as one frozen value: items, scale, role wording, prompt messages, output format.

Why one object: the HAL study's worst defect (hal.md section 1.4) came from keeping the
statements, their prompt order and the weight vector in three places that drifted apart. Prompts
(:mod:`~chatlens.humanlike.prompt`), answer parsing (:mod:`~chatlens.humanlike.answers`) and
scoring (:mod:`~chatlens.humanlike.item_scores`) all read the same :class:`Instrument`; its
methods are shortcuts to them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from chatlens.humanlike import prompt
from chatlens.humanlike.answers import ParsedRatings, parse_ratings
from chatlens.humanlike.item_scores import score_ratings

__all__ = ["Group", "Instrument", "Item", "RoleWording", "Scale"]


@dataclass(frozen=True)
class Item:
    """One questionnaire statement.

    ``key`` is the identifier the judge must answer under (for HAL, the statement number as a
    string); ``weight`` is its coefficient in the logit; ``reverse`` flips the scale before
    weighting (``min + max - x``), as for reverse-keyed Big Five items.
    """

    key: str
    statement: str
    weight: float = 0.0
    reverse: bool = False
    group: str | None = None


@dataclass(frozen=True)
class Scale:
    """An integer rating scale with labelled anchor points (e.g. 1, 3 and 5)."""

    min: int
    max: int
    anchors: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class RoleWording:
    """How the prompt names the rated speaker and the other party (e.g. Witness W / Investigator I)."""

    speaker: str
    other: str


@dataclass(frozen=True)
class Group:
    """A group of items; grouped output formats nest answers under the group key."""

    key: str
    title: str = ""


@dataclass(frozen=True)
class Instrument:
    """A questionnaire judge: items, scale, prompt, output format and scoring weights.

    The logit of an answer vector ``x`` (in item order, reverse items flipped) is
    ``w . x + bias``; the probability is its logistic transform. ``bias`` is None for
    instruments without a fitted classifier (e.g. a plain Big Five inventory).
    ``key_space`` names the numbering the item keys belong to (default: the instrument's name):
    ``hal16q`` uses HAL32Q numbers, so HAL32Q answers can be read for it by key, whereas the keys
    of ``hal16q-published`` are its own and must never be matched to HAL32Q positions.
    """

    name: str
    version: str
    description: str
    source: Mapping[str, Any]
    scale: Scale
    items: tuple[Item, ...]
    bias: float | None
    roles: Mapping[str, RoleWording]
    default_role: str | None
    messages: tuple[tuple[str, str], ...]
    output_root_key: str | None = "likert_evaluation"
    output_grouped: bool = False
    groups: tuple[Group, ...] = ()
    clean: bool = True
    key_space: str = ""
    path: str | None = field(default=None, compare=False)

    # -- simple views ---------------------------------------------------------------------------
    @property
    def keys(self) -> tuple[str, ...]:
        """Item keys in instrument order."""
        return tuple(i.key for i in self.items)

    @property
    def weights(self) -> np.ndarray:
        """Weights in item order (float64)."""
        return np.array([i.weight for i in self.items], dtype=np.float64)

    @property
    def reverse_mask(self) -> np.ndarray:
        """Boolean mask of reverse-keyed items, in item order."""
        return np.array([i.reverse for i in self.items], dtype=bool)

    @property
    def has_weights(self) -> bool:
        """Whether the instrument carries a fitted classifier (a bias is set)."""
        return self.bias is not None

    def item_columns(self, prefix: str = "hl_item_") -> dict[str, str]:
        """Output column name per item key (``hl_item_<key>``), used by judge and score."""
        return {k: f"{prefix}{k}" for k in self.keys}

    def role(self, speaker: str | None = None) -> RoleWording:
        """Role wording for a speaker label; unknown labels get a neutral wording."""
        label = speaker if speaker is not None else self.default_role
        if label is not None and label in self.roles:
            return self.roles[label]
        if label is None:
            return RoleWording("the rated speaker", "the other participant")
        return RoleWording(f"Speaker {label}", "the other participant")

    # -- prompt (rendered by chatlens.humanlike.prompt) ------------------------------------------
    def statements_block(self) -> str:
        """The numbered statement list as it appears in the prompt (with group headings)."""
        return prompt.statements_block(self)

    def anchors_block(self) -> str:
        """The scale anchors as a bullet list, highest first."""
        return prompt.anchors_block(self)

    def output_example(self) -> str:
        """A one-line example of the expected JSON answer."""
        return prompt.output_example(self)

    def render_prompt(self, dialogue: str, speaker: str | None = None) -> list[dict[str, str]]:
        """Chat messages asking the judge to rate ``speaker``'s turns in ``dialogue``."""
        return prompt.render_prompt(self, dialogue, speaker)

    def output_schema(self) -> dict[str, Any]:
        """JSON Schema of a valid answer (ratings object, or ``{"error": "..."}``)."""
        return prompt.output_schema(self)

    # -- answers ------------------------------------------------------------------------------
    def parse_answer(self, text: str | Mapping[str, Any] | None) -> ParsedRatings:
        """Parse a judge answer by item key (never by position); see :func:`parse_ratings`."""
        return parse_ratings(text, self)

    def score(self, ratings: Any) -> Any:
        """Shortcut for :func:`score_ratings` with this instrument."""
        return score_ratings(ratings, self)
