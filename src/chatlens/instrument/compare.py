"""Which items of an existing instrument the discovered clusters cover (e.g. HAL32Q vs a run).

A discovered questionnaire is more believable when it recovers the traits a published one found
on similar data, and more interesting where it finds others. Each reference item is embedded
with the run's embedder and compared with every cluster's centroid (cosine). It *matches* its
nearest cluster when it would sit inside that cluster: its cosine to the centroid is at least
the ``quantile`` (default 10%) of the cluster's own members' cosines. No fixed similarity
threshold is needed, so the rule means the same for TF-IDF and for sentence embeddings. A looser
reading, ``in_range``, only asks that it be at least as close as the cluster's least typical
member. A TF-IDF embedder is fitted on the statements and the reference items together (it only
knows the words it was fitted on); any other embedder reuses the run's ``embeddings.npy`` and
embeds only the reference items.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from chatlens.errors import InvalidParameterError
from chatlens.humanlike.instruments import Instrument, load_instrument
from chatlens.instrument.cluster import centroid_similarity
from chatlens.instrument.embed import Embedder, TfidfEmbedder, make_embedder, normalise

__all__ = ["match_instrument", "run_embedder"]


def run_embedder(run_dir: str | Path) -> Embedder:
    """The embedder a run used, rebuilt from its ``embed.json`` (TF-IDF, MiniLM or a directory)."""
    info = json.loads((Path(run_dir) / "embed.json").read_text(encoding="utf-8"))
    name = info.get("embedder")
    if name == "tfidf":
        keys = ("max_features", "ngram_max", "min_df", "sublinear_tf", "seed")
        return TfidfEmbedder(**{k: info[k] for k in keys if k in info})
    if str(name).startswith("minilm"):
        return make_embedder("minilm")
    if info.get("path") and Path(info["path"]).is_dir():
        return make_embedder(info["path"])
    msg = (
        f"{run_dir}: the run's embedder {name!r} cannot be rebuilt from embed.json (a Python "
        "callable); pass --embedder tfidf, minilm or a model directory."
    )
    raise InvalidParameterError(msg)


def match_instrument(
    run_dir: str | Path,
    instrument: str | Path | Instrument,
    embedder: Embedder,
    *,
    quantile: float = 0.10,
) -> pl.DataFrame:
    """One row per reference item: its nearest cluster, the cosine, the cluster's bar, matched?

    Columns: ``key, statement, cluster, size, cosine, bar, matched, in_range, representative``.
    """
    run_dir = Path(run_dir)
    inst = load_instrument(instrument)
    statements = pl.read_parquet(run_dir / "statements.parquet", glob=False)["statement"].to_list()
    labels = pl.read_parquet(run_dir / "assignments.parquet", glob=False)["cluster"].to_numpy()
    reps = pl.read_parquet(run_dir / "representatives.parquet", glob=False).filter(pl.col("rank") == 1)
    refs = [i.statement for i in inst.items]
    if isinstance(embedder, TfidfEmbedder):
        x = normalise(embedder([*statements, *refs]))
        own, ref = x[: len(statements)], x[len(statements) :]
    else:
        own, ref = np.load(run_dir / "embeddings.npy"), normalise(embedder(refs))
    centroids, sim = centroid_similarity(own, labels)
    k = centroids.shape[0]
    bars = np.array([np.quantile(sim[labels == c], quantile) for c in range(1, k + 1)])
    lows = np.array([sim[labels == c].min() for c in range(1, k + 1)])
    cos = ref.astype(np.float64) @ centroids.T.astype(np.float64)
    best = cos.argmax(axis=1)
    first = dict(zip(reps["cluster"].to_list(), reps["statement"].to_list(), strict=True))
    sizes = np.bincount(labels, minlength=k + 1)
    rows: list[dict[str, Any]] = []
    for item, j, row in zip(inst.items, best, cos, strict=True):
        rows.append(
            {
                "key": item.key,
                "statement": item.statement,
                "cluster": int(j + 1),
                "size": int(sizes[j + 1]),
                "cosine": round(float(row[j]), 4),
                "bar": round(float(bars[j]), 4),
                "matched": bool(row[j] >= bars[j]),
                "in_range": bool(row[j] >= lows[j]),
                "representative": first.get(int(j + 1)),
            }
        )
    return pl.DataFrame(rows)
