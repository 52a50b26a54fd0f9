"""Bootstrap weights over cells, and percentile summaries.

Why weights instead of resampled rows: resampling N comparisons with replacement is the same as
drawing multinomial counts over the distinct cells with probabilities count / N (Chatbot Arena's
``get_bootstrap_result``), so a round of a 1M-battle bootstrap is one multinomial draw over a
few thousand cells. The cluster bootstrap (by rater or prompt) resamples whole clusters: each
cluster's multiplicity m_g ~ Multinomial(G, 1/G) multiplies the counts of its cells, which keeps
within-rater dependence in the resamples.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from chatlens.errors import InvalidParameterError
from chatlens.ratings.cells import Cells

#: bootstrap rounds are produced in chunks of at most this many (rounds × cells) elements.
_CHUNK_ELEMENTS = 20_000_000


def bootstrap_weights(
    cells: Cells,
    rounds: int,
    rng: np.random.Generator,
    *,
    cluster: bool = False,
) -> Iterator[np.ndarray]:
    """Yield (r, n_cells) float64 weight chunks whose rows are bootstrap resamples.

    Parameters
    ----------
    cells
        Aggregated comparisons; ``cells.cluster`` must be set when ``cluster`` is true.
    rounds
        Total number of bootstrap rounds over all chunks.
    rng
        The random generator (seeded by the caller).
    cluster
        Resample clusters (raters or prompts) instead of single comparisons.
    """
    if rounds < 0:
        msg = f"The number of bootstrap rounds must be >= 0. Got {rounds} instead."
        raise InvalidParameterError(msg)
    if cluster and cells.cluster is None:
        msg = "A cluster bootstrap needs cells built with cluster='rater' or 'prompt'. Got none."
        raise InvalidParameterError(msg)
    chunk = max(1, _CHUNK_ELEMENTS // max(cells.n_cells, 1))
    total = cells.total
    pvals = cells.count / cells.count.sum()
    done = 0
    while done < rounds:
        size = min(chunk, rounds - done)
        if cluster:
            g = cells.n_clusters
            mult = rng.multinomial(g, np.full(g, 1.0 / g), size=size)
            yield cells.count[None, :] * mult[:, cells.cluster]
        else:
            yield rng.multinomial(total, pvals, size=size).astype(np.float64)
        done += size


def percentile_interval(
    samples: np.ndarray, confidence: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-column percentile interval of bootstrap samples (NaN rounds ignored)."""
    if not 0.0 < confidence < 1.0:
        msg = f"confidence must be in (0, 1). Got {confidence} instead."
        raise InvalidParameterError(msg)
    alpha = (1.0 - confidence) / 2.0
    lo = np.nanquantile(samples, alpha, axis=0)
    hi = np.nanquantile(samples, 1.0 - alpha, axis=0)
    return lo, hi


def separation_rank(
    ci_low: np.ndarray, ci_high: np.ndarray
) -> np.ndarray:
    """Rank that moves only when intervals separate (Chatbot Arena).

    rank(m) = 1 + #{m' : ci_low(m') > ci_high(m)}.

    Examples
    --------
    >>> separation_rank(np.array([10.0, 8.0, 1.0]), np.array([12.0, 11.0, 2.0])).tolist()
    [1, 1, 3]
    """
    return 1 + (ci_low[None, :] > ci_high[:, None]).sum(axis=1)


def ordinal_rank(values: np.ndarray) -> np.ndarray:
    """1 + number of models with a strictly higher value (ties share a rank)."""
    v = np.where(np.isnan(values), -np.inf, values)
    return 1 + (v[None, :] > v[:, None]).sum(axis=1)
