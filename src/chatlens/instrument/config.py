"""One value holding every setting of a discovery run (defaults from ``instrument/defaults.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from chatlens.errors import InvalidParameterError
from chatlens.instrument.cluster import ClusterParams
from chatlens.instrument.embed import make_embedder
from chatlens.instrument.inputs import PairColumns
from chatlens.instrument.prompts import load_defaults
from chatlens.llm.config import LLMConfig

__all__ = ["DiscoveryConfig"]


@dataclass(frozen=True)
class DiscoveryConfig:
    """What a discovery run does; everything here that shapes a result is in the manifest.

    ``embedder`` is ``tfidf``, ``minilm``, a sentence-transformers directory, or (Python only) a
    callable ``list[str] -> array``. ``condense`` is ``llm`` (needs ``llm``) or ``nearest``.
    """

    columns: PairColumns
    target: str
    llm: LLMConfig | None = None
    embedder: Any = "tfidf"
    tfidf: dict[str, Any] = field(default_factory=dict)
    cluster: ClusterParams = field(default_factory=ClusterParams)
    n_representatives: int = 3
    n_items: int = 32
    n_themes: int = 6
    condense: Literal["llm", "nearest"] = "llm"
    dedupe_similarity: float = 0.9
    name: str = "discovered"
    characteristics_prompt: Path | None = None
    condense_prompt: Path | None = None

    @classmethod
    def from_defaults(cls, columns: PairColumns, **overrides: Any) -> DiscoveryConfig:
        """The bundled defaults, with ``overrides`` (``None`` values keep the default).

        Cluster settings may be given flat (``method=``, ``min_cluster_size=``, ``reduce=``...).
        """
        d = load_defaults()
        cluster_keys = {
            "method",
            "min_cluster_size",
            "min_samples",
            "n_clusters",
            "distance_threshold",
            "linkage",
            "reduce",
            "n_components",
            "seed",
        }
        given = {k: v for k, v in overrides.items() if v is not None}
        cl = d.cluster
        cluster = ClusterParams(
            method=cl.method,
            min_cluster_size=cl.min_cluster_size,
            min_samples=cl.min_samples,
            n_clusters=cl.n_clusters,
            distance_threshold=cl.distance_threshold,
            linkage=cl.linkage,
            reduce=d.reduce.method,
            n_components=d.reduce.n_components,
            seed=d.seed,
        )
        cluster = replace(cluster, **{k: v for k, v in given.items() if k in cluster_keys})
        # a setting given for a method that does not read it was ignored without a word
        # (n_clusters and min_samples are checked by ClusterParams, whose defaults are None)
        ignored = [k for k in ("distance_threshold", "linkage") if k in given]
        if cluster.method == "hdbscan" and ignored:
            msg = (
                f"The {ignored} parameter(s) are read by agglomerative clustering only; method "
                "is 'hdbscan'. Leave them out or use method 'agglomerative'."
            )
            raise InvalidParameterError(msg)
        if "distance_threshold" in given and cluster.n_clusters is not None:
            msg = (
                "Give either n_clusters or distance_threshold: the tree is cut into "
                f"n_clusters={cluster.n_clusters} clusters, so distance_threshold="
                f"{given['distance_threshold']!r} would be ignored."
            )
            raise InvalidParameterError(msg)
        # an explicit cluster count means "cut the tree into that many", not a distance
        base = cls(
            columns=columns,
            target=d.property,
            embedder=d.embedder,
            tfidf={
                "max_features": d.tfidf.max_features,
                "ngram_max": d.tfidf.ngram_max,
                "min_df": d.tfidf.min_df,
                "sublinear_tf": d.tfidf.sublinear_tf,
            },
            cluster=cluster,
            n_representatives=d.n_representatives,
            n_items=d.n_items,
            n_themes=d.n_themes,
            condense=d.condense,
            dedupe_similarity=d.dedupe_similarity,
        )
        cfg = replace(base, **{k: v for k, v in given.items() if k not in cluster_keys})
        cfg.check()
        return cfg

    def check(self) -> None:
        """Reject settings that cannot work before any step runs (or costs money)."""
        if self.condense not in ("llm", "nearest"):
            # anything but 'llm' ran as 'nearest' and was recorded under the name given
            msg = f"The 'condense' parameter must be 'llm' or 'nearest'. Got {self.condense!r} instead."
            raise InvalidParameterError(msg)
        # an unknown embedder (or a missing extra) surfaced only in the embed step, after the
        # characteristics step had been paid for
        make_embedder(self.embedder, tfidf=self.tfidf, seed=self.cluster.seed)
        if self.condense == "llm" and self.llm is None:
            msg = (
                "The 'condense' parameter is 'llm' but no model is set: pass --model "
                "(and --base-url), or use --condense nearest (no LLM)."
            )
            raise InvalidParameterError(msg)
        if self.columns.statements is None and self.llm is None:
            msg = (
                "Without --statements-column the characteristics come from an LLM: pass --model "
                "(and --base-url), or give a column of existing statements."
            )
            raise InvalidParameterError(msg)
        for name in ("n_representatives", "n_items", "n_themes"):
            if getattr(self, name) < 1:
                msg = f"The '{name}' parameter must be >= 1. Got {getattr(self, name)} instead."
                raise InvalidParameterError(msg)
        if not 0 < self.dedupe_similarity <= 1:
            msg = f"The 'dedupe_similarity' parameter must be in (0, 1]. Got {self.dedupe_similarity} instead."
            raise InvalidParameterError(msg)
