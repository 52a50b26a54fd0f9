"""Steps 3-4: cluster the statement vectors and pick each cluster's representatives.

HAL reduced MiniLM vectors with UMAP and clustered them with HDBSCAN (hal.md 1.1). UMAP is not a
dependency here, so the reduction is optional and linear (truncated SVD or PCA); HDBSCAN runs on
unit-length vectors, where euclidean distance orders pairs exactly as cosine similarity does.
Agglomerative clustering (cosine, average linkage, a distance threshold or a cluster count;
clusters smaller than ``min_cluster_size`` become noise) is the alternative that works without
UMAP: on HAL's own statements HDBSCAN on 384-dimensional vectors leaves most of them as noise.
The method and its parameters are recorded with the assignments.

Clusters are numbered 1, 2, ... by size (largest first; ties by first member), noise is 0, so
the same input always gives the same numbers. A cluster's representatives are the distinct
statements nearest its centroid (cosine, in the full embedding space): a model often writes the
same sentence for many pairs, and three copies of it would represent no more than one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import polars as pl

from chatlens.errors import InvalidParameterError
from chatlens.instrument.embed import normalise

__all__ = [
    "ClusterParams",
    "assign_clusters",
    "cluster_sizes",
    "reduce",
    "representatives",
    "zero_rows",
]


@dataclass(frozen=True)
class ClusterParams:
    """How statements are reduced and clustered (defaults: ``instrument/defaults.yaml``)."""

    method: Literal["hdbscan", "agglomerative"] = "hdbscan"
    min_cluster_size: int = 10
    min_samples: int | None = None
    n_clusters: int | None = None
    distance_threshold: float = 0.8
    linkage: Literal["average", "complete", "single"] = "average"
    reduce: Literal["none", "svd", "pca"] = "none"
    n_components: int = 50
    seed: int = 0

    def __post_init__(self) -> None:
        """Reject what cannot work when the settings are made, not in the cluster step after the
        paid LLM step (and not as scikit-learn's errors, or ``reduce='umap'`` silently run as PCA)."""
        def whole(v: Any, low: int) -> bool:
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= low

        checks: list[tuple[str, bool, str]] = [
            ("method", self.method in ("hdbscan", "agglomerative"), "'hdbscan' or 'agglomerative'"),
            ("reduce", self.reduce in ("none", "svd", "pca"), "'none', 'svd' or 'pca'"),
            ("linkage", self.linkage in ("average", "complete", "single"),
             "'average', 'complete' or 'single' (cosine distance; 'ward' needs euclidean)"),
            ("min_cluster_size",
             whole(self.min_cluster_size, 2 if self.method == "hdbscan" else 1),
             "an integer >= 2 for hdbscan, >= 1 for agglomerative"),
            ("min_samples", self.min_samples is None or whole(self.min_samples, 1),
             "None or an integer >= 1"),
            ("n_clusters", self.n_clusters is None or whole(self.n_clusters, 1),
             "None or an integer >= 1"),
            ("distance_threshold", 0 < self.distance_threshold <= 2,
             "in (0, 2] (a cosine distance)"),
            ("n_components", whole(self.n_components, 1), "an integer >= 1"),
        ]
        for name, ok, expected in checks:
            if not ok:
                msg = (
                    f"The '{name}' parameter of the clustering must be {expected}. "
                    f"Got {getattr(self, name)!r} instead."
                )
                raise InvalidParameterError(msg)
        # a setting the chosen method does not read was dropped silently (--n-clusters 7 with
        # hdbscan gave hdbscan's own clusters, and describe() left the 7 out of the manifest)
        unused = {"hdbscan": ("n_clusters", "agglomerative"), "agglomerative": ("min_samples", "hdbscan")}
        name, other = unused[self.method]
        if getattr(self, name) is not None:
            msg = (
                f"The '{name}' parameter is read by {other} clustering only; method is "
                f"{self.method!r}. Got {name}={getattr(self, name)!r}: leave it out or use "
                f"method {other!r}."
            )
            raise InvalidParameterError(msg)

    def describe(self) -> dict[str, Any]:
        """The parameters that matter for the chosen method (what the manifest records)."""
        out = asdict(self)
        if self.method == "hdbscan":
            for key in ("n_clusters", "distance_threshold", "linkage"):
                out.pop(key)
        else:
            out.pop("min_samples")
            if self.n_clusters is not None:
                out.pop("distance_threshold")
        if self.reduce == "none":
            out.pop("n_components")
        return out


def reduce(x: np.ndarray, params: ClusterParams) -> np.ndarray:
    """Optionally reduce (SVD/PCA, seeded) and renormalise the vectors."""
    if params.reduce == "none" or x.shape[1] <= params.n_components:
        return x
    k = min(params.n_components, x.shape[0] - 1)
    if params.reduce == "svd":
        from sklearn.decomposition import TruncatedSVD

        model: Any = TruncatedSVD(n_components=k, random_state=params.seed)
    else:
        from sklearn.decomposition import PCA

        model = PCA(n_components=k, svd_solver="full")  # LAPACK: the same result every run
    return normalise(model.fit_transform(x))


def _renumber(raw: np.ndarray) -> np.ndarray:
    """Cluster ids 1.. by size (largest first, ties by first member); noise (-1) becomes 0."""
    ids = [c for c in np.unique(raw) if c >= 0]
    order = sorted(ids, key=lambda c: (-int((raw == c).sum()), int(np.argmax(raw == c))))
    out = np.zeros(len(raw), dtype=np.int64)
    for new, old in enumerate(order, start=1):
        out[raw == old] = new
    return out


def zero_rows(x: np.ndarray) -> np.ndarray:
    """Rows with no direction (all zeros): a statement the embedder found nothing in, e.g. only
    stop words for TF-IDF ("It is what it is.")."""
    return ~np.any(x != 0, axis=1)


def assign_clusters(x: np.ndarray, params: ClusterParams) -> np.ndarray:
    """Cluster id per row (0 = noise), numbered by size.

    Zero vectors are noise: they have no direction, so no similarity to anything (cosine
    clustering rejects them outright, and HDBSCAN would gather them into a cluster of their own).
    """
    empty = zero_rows(x)
    if empty.any():
        if (~empty).sum() == 0:
            msg = (
                f"all {len(x)} statements have a zero vector (the embedder found nothing in them, "
                "e.g. only stop words for tfidf); nothing to cluster."
            )
            raise InvalidParameterError(msg)
        raw = np.full(len(x), -1, dtype=np.int64)
        raw[~empty] = assign_clusters(x[~empty], params) - 1
        return _renumber(raw)
    n = x.shape[0]
    if params.method == "hdbscan":
        if n < params.min_cluster_size:
            msg = (
                f"HDBSCAN needs at least min_cluster_size={params.min_cluster_size} statements; "
                f"got {n}. Lower --min-cluster-size or use --method agglomerative."
            )
            raise InvalidParameterError(msg)
        from sklearn.cluster import HDBSCAN

        raw = HDBSCAN(
            min_cluster_size=params.min_cluster_size,
            min_samples=params.min_samples,
            metric="euclidean",
            copy=True,
        ).fit_predict(reduce(x, params).astype(np.float64))
    elif params.method == "agglomerative":
        if n < 2:
            msg = f"agglomerative clustering needs at least 2 statements; got {n}."
            raise InvalidParameterError(msg)
        from sklearn.cluster import AgglomerativeClustering

        k = params.n_clusters
        model = AgglomerativeClustering(
            n_clusters=min(k, n) if k is not None else None,
            distance_threshold=None if k is not None else params.distance_threshold,
            metric="cosine",
            linkage=params.linkage,
        )
        raw = model.fit_predict(reduce(x, params).astype(np.float64))
        ids, counts = np.unique(raw, return_counts=True)
        raw = np.where(np.isin(raw, ids[counts < params.min_cluster_size]), -1, raw)
    else:
        msg = f"The 'method' parameter must be 'hdbscan' or 'agglomerative'. Got {params.method!r} instead."
        raise InvalidParameterError(msg)
    labels = _renumber(np.asarray(raw))
    if not (labels > 0).any():
        msg = (
            f"clustering found no cluster in {n} statements (all noise); lower --min-cluster-size "
            "or use --method agglomerative."
        )
        raise InvalidParameterError(msg)
    return labels


def centroid_similarity(x: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(unit centroids, one per cluster 1..K; each row's cosine to its cluster's centroid, NaN for noise)."""
    k = int(labels.max())
    onehot = np.zeros((k, len(labels)))
    members = labels > 0
    onehot[labels[members] - 1, np.flatnonzero(members)] = 1.0
    centroids = normalise(onehot @ x.astype(np.float64))
    sim = np.full(len(labels), np.nan)
    sim[members] = np.einsum(
        "ij,ij->i", x[members].astype(np.float64), centroids[labels[members] - 1].astype(np.float64)
    )
    return centroids, sim


def cluster_sizes(labels: np.ndarray) -> dict[int, int]:
    """Members per cluster id (noise excluded)."""
    ids, counts = np.unique(labels[labels > 0], return_counts=True)
    return {int(i): int(c) for i, c in zip(ids, counts, strict=True)}


def representatives(
    statements: pl.DataFrame, labels: np.ndarray, similarity: np.ndarray, k: int
) -> pl.DataFrame:
    """The ``k`` distinct statements nearest each centroid.

    Columns: ``cluster, size, rank, statement_id, statement, similarity``.
    """
    frame = statements.select("statement_id", "statement").with_columns(
        pl.Series("cluster", labels), pl.Series("similarity", similarity)
    )
    return (
        frame.filter(pl.col("cluster") > 0)
        .with_columns(pl.len().over("cluster").alias("size"))
        .sort(["cluster", "similarity", "statement_id"], descending=[False, True, False])
        .unique(subset=["cluster", "statement"], keep="first", maintain_order=True)
        .with_columns(pl.int_range(1, pl.len() + 1).over("cluster").alias("rank"))
        .filter(pl.col("rank") <= k)
        .select("cluster", "size", "rank", "statement_id", "statement", "similarity")
    )
