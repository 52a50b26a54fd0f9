"""Schemas of the instrument-discovery files: its two LLM prompts and its default parameters.

Why a prompt kind of its own rather than the labelling prompt (``llm/*.yaml``): a discovery
prompt fills several named placeholders (two dialogues and the property; cluster listings and
counts), so the file declares them, and the check here makes sure each declared one is used and
no undeclared ``{{name}}`` is left in a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from chatlens.datafiles._check import Check, Invalid
from chatlens.datafiles.schemas._base import DataFile, NonEmpty, Positive, Unit
from chatlens.datafiles.schemas.humanlike import RolesSpec, ScaleSpec
from chatlens.datafiles.schemas.llm import PromptMessage

#: ``{{name}}`` placeholders of discovery prompts.
DOUBLE_BRACE = re.compile(r"\{\{([a-z_]+)\}\}")

PositiveInt = Annotated[int, Check("an integer >= 1", lambda v: v >= 1)]


@dataclass(frozen=True, kw_only=True)
class DiscoveryPrompt(DataFile):
    """``instrument/characteristics.yaml``, ``instrument/condense.yaml`` or a user's prompt."""

    placeholders: tuple[NonEmpty, ...]
    messages: Annotated[tuple[PromptMessage, ...], Check("a non-empty list of messages", bool)]
    output: dict[str, Any]

    def __post_init__(self) -> None:
        used = {name for m in self.messages for name in DOUBLE_BRACE.findall(m.content)}
        missing = sorted(set(self.placeholders) - used)
        if missing:
            raise Invalid(
                key="messages",
                expected=f"every declared placeholder used ({missing} are not)",
                got=sorted(used),
            )
        unknown = sorted(used - set(self.placeholders))
        if unknown:
            raise Invalid(
                key="messages",
                expected=f"only the declared placeholders {list(self.placeholders)}",
                got=unknown,
            )
        if self.output.get("type") != "object" or not self.output.get("properties"):
            raise Invalid(
                key="output", expected="an object schema with properties", got=self.output
            )


@dataclass(frozen=True, kw_only=True)
class TfidfSpec:
    max_features: PositiveInt = 20000
    ngram_max: PositiveInt = 2
    min_df: PositiveInt = 1
    sublinear_tf: bool = True


@dataclass(frozen=True, kw_only=True)
class ReduceSpec:
    method: Literal["none", "svd", "pca"] = "none"
    n_components: PositiveInt = 50


@dataclass(frozen=True, kw_only=True)
class ClusterSpec:
    method: Literal["hdbscan", "agglomerative"] = "hdbscan"
    min_cluster_size: Annotated[int, Check("an integer >= 2", lambda v: v >= 2)] = 10
    min_samples: PositiveInt | None = None
    n_clusters: PositiveInt | None = None
    distance_threshold: Positive = 0.8
    linkage: Literal["average", "complete", "single"] = "average"


@dataclass(frozen=True, kw_only=True)
class InstrumentTemplate:
    """What every discovered instrument shares: scale, role wording and judge prompt."""

    scale: ScaleSpec
    roles: RolesSpec = field(default_factory=RolesSpec)
    output_root_key: str = "likert_evaluation"
    messages: Annotated[tuple[PromptMessage, ...], Check("a non-empty list of messages", bool)]


@dataclass(frozen=True, kw_only=True)
class DiscoveryDefaults(DataFile):
    """``instrument/defaults.yaml``: default parameters and the instrument template."""

    property: NonEmpty
    embedder: NonEmpty = "tfidf"
    tfidf: TfidfSpec = field(default_factory=TfidfSpec)
    reduce: ReduceSpec = field(default_factory=ReduceSpec)
    cluster: ClusterSpec = field(default_factory=ClusterSpec)
    n_representatives: PositiveInt = 3
    n_items: PositiveInt = 32
    n_themes: PositiveInt = 6
    condense: Literal["llm", "nearest"] = "llm"
    dedupe_similarity: Unit = 0.9
    seed: int = 0
    instrument: InstrumentTemplate
