"""Aggregate battles into weighted cells: the sufficient statistics of every estimator.

Why: a million Arena battles between ~50 models hold only a few thousand distinct
``(model_a, model_b, outcome)`` triples. Fitting and bootstrapping on those cells with counts as
weights (Chatbot Arena's ``preprocess_for_bt``) is exact and turns a 1M-row problem into a
small one; a bootstrap round is then one multinomial draw over the cells.

Cells keep the cluster id (rater or prompt) when a cluster bootstrap is asked for, and the
covariate values when covariates are present (continuous covariates barely compress, which is
fine: the solver streams over cells).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from chatlens.errors import InvalidParameterError
from chatlens.ratings.battles import Battles


@dataclass(frozen=True)
class Cells:
    """Distinct comparisons with counts.

    Attributes
    ----------
    models
        Model names; ``a`` and ``b`` index into it.
    a, b
        int64 model indices of each cell (``a`` is model A).
    y
        Score of A in [0, 1].
    count
        How many battles the cell stands for (float64, used as a weight).
    x
        Covariates, shape (n_cells, n_covariates).
    covariates
        Covariate names (columns of ``x``).
    cluster
        int64 cluster index per cell (or ``None``); ``n_clusters`` clusters in all.
    """

    models: tuple[str, ...]
    a: np.ndarray
    b: np.ndarray
    y: np.ndarray
    count: np.ndarray
    x: np.ndarray
    covariates: tuple[str, ...] = ()
    cluster: np.ndarray | None = None
    n_clusters: int = 0

    @property
    def n_models(self) -> int:
        """Number of models."""
        return len(self.models)

    @property
    def n_cells(self) -> int:
        """Number of distinct cells."""
        return int(self.a.shape[0])

    @property
    def total(self) -> int:
        """Number of battles the cells stand for."""
        return int(round(float(self.count.sum())))


def build_cells(
    battles: Battles,
    *,
    covariates: bool = True,
    cluster: str | None = None,
) -> Cells:
    """Group battles into cells.

    Parameters
    ----------
    battles
        Validated battles.
    covariates
        Keep the covariate columns (for a controlled fit); ``False`` gives plain BT cells.
    cluster
        ``"rater"`` or ``"prompt"`` to keep that id per cell for a cluster bootstrap.

    Without covariates, each cell is oriented so that ``a < b`` (a (B, A, 1 − y) comparison is
    the same evidence as (A, B, y)), which halves the number of cells.
    """
    frame = battles.frame
    names = battles.models
    keys = pl.DataFrame(
        {"model_a": list(names), "ia": np.arange(len(names), dtype=np.int64)}
    )
    df = frame.join(keys, on="model_a", how="left").join(
        keys.rename({"model_a": "model_b", "ia": "ib"}), on="model_b", how="left"
    )
    cov_cols = [f"x_{c}" for c in battles.covariates] if covariates else []
    group = ["ia", "ib", "score", *cov_cols]
    if cluster is not None:
        if cluster not in ("rater", "prompt") or cluster not in frame.columns:
            msg = (
                f"cluster must name a column given to prepare_battles ('rater' or 'prompt'). "
                f"Got {cluster!r}; available: {[c for c in ('rater', 'prompt') if c in frame.columns]}."
            )
            raise InvalidParameterError(msg)
        df = df.with_columns(
            pl.col(cluster).fill_null("<missing>").cast(pl.Categorical).to_physical().alias("cid")
        )
        group.append("cid")
    if not cov_cols:
        swap = pl.col("ia") > pl.col("ib")
        df = df.with_columns(
            pl.when(swap).then(pl.col("ib")).otherwise(pl.col("ia")).alias("ia"),
            pl.when(swap).then(pl.col("ia")).otherwise(pl.col("ib")).alias("ib"),
            pl.when(swap).then(1.0 - pl.col("score")).otherwise(pl.col("score")).alias("score"),
        )
    agg = df.group_by(group).agg(pl.len().alias("n")).sort(group)
    x = (
        agg.select(cov_cols).to_numpy().astype(np.float64)
        if cov_cols
        else np.zeros((agg.height, 0), dtype=np.float64)
    )
    cid = None
    n_clusters = 0
    if cluster is not None:
        raw = agg["cid"].to_numpy().astype(np.int64)
        uniq, cid = np.unique(raw, return_inverse=True)
        n_clusters = int(uniq.shape[0])
    return Cells(
        models=names,
        a=agg["ia"].to_numpy().astype(np.int64),
        b=agg["ib"].to_numpy().astype(np.int64),
        y=agg["score"].to_numpy().astype(np.float64),
        count=agg["n"].to_numpy().astype(np.float64),
        x=np.ascontiguousarray(x),
        covariates=tuple(battles.covariates) if covariates else (),
        cluster=cid,
        n_clusters=n_clusters,
    )


def components(cells: Cells) -> list[list[str]]:
    """Connected components of the comparison graph (ratings compare only within one)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    m = cells.n_models
    graph = coo_matrix((np.ones(cells.n_cells), (cells.a, cells.b)), shape=(m, m))
    n, labels = connected_components(graph, directed=False)
    return [[cells.models[i] for i in np.flatnonzero(labels == k)] for k in range(n)]


def game_arrays(battles: Battles) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(a, b, y) per battle in input order, model indices as in ``battles.models`` (for Elo)."""
    index = {m: i for i, m in enumerate(battles.models)}
    keys = pl.DataFrame({"m": list(index), "i": np.arange(len(index), dtype=np.int64)})
    frame = battles.frame.select("model_a", "model_b", "score")
    ia = frame.join(keys, left_on="model_a", right_on="m", how="left", maintain_order="left")
    ib = frame.join(keys, left_on="model_b", right_on="m", how="left", maintain_order="left")
    return (
        ia["i"].to_numpy().astype(np.int64),
        ib["i"].to_numpy().astype(np.int64),
        frame["score"].to_numpy().astype(np.float64),
    )
