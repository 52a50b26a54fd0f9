"""Small parts of discovery: input checks, settings checks, clustering and the no-LLM condense."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from chatlens.errors import InvalidParameterError, SchemaError
from chatlens.instrument import DiscoveryConfig, PairColumns, read_pairs
from chatlens.instrument.cluster import ClusterParams, assign_clusters, representatives
from chatlens.instrument.condense import condense_nearest

COLS = PairColumns(a="a", b="b", label="w", statements="s")


def test_statements_column_that_is_not_a_list_names_the_row():
    df = pl.DataFrame(
        {"a": ["x", "y"], "b": ["y", "x"], "w": ["A", "B"], "s": ['["ok"]', '["broken"']}
    )
    with pytest.raises(
        SchemaError, match=r"f.csv: column 's': expected a JSON list of strings .* row 2"
    ):
        read_pairs(df, COLS, source="f.csv", need_text=False)


def test_settings_that_cannot_work_fail_before_any_step():
    with pytest.raises(InvalidParameterError, match="--condense nearest"):
        DiscoveryConfig.from_defaults(COLS, condense="llm")
    with pytest.raises(InvalidParameterError, match="--statements-column"):
        DiscoveryConfig.from_defaults(PairColumns(a="a", b="b", label="w"), condense="nearest")


def test_clusters_are_numbered_by_size_and_small_ones_are_noise():
    rng = np.random.default_rng(0)
    centres = np.eye(4)[:3]
    x = np.vstack(
        [c + rng.normal(0, 0.02, (n, 4)) for c, n in zip(centres, (3, 8, 1), strict=True)]
    )
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    labels = assign_clusters(
        x, ClusterParams(method="agglomerative", distance_threshold=0.3, min_cluster_size=2)
    )
    assert labels.tolist() == [2] * 3 + [1] * 8 + [0]
    with pytest.raises(InvalidParameterError, match="min_cluster_size=20"):
        assign_clusters(x, ClusterParams(method="hdbscan", min_cluster_size=20))


def test_nearest_condense_takes_central_statements_and_drops_near_duplicates():
    x = np.array(
        [[1, 0, 0], [0.99, 0.14, 0], [0, 1, 0], [0, 0.98, 0.2], [0.995, 0.1, 0]], dtype=float
    )
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    st = pl.DataFrame(
        {"statement_id": [0, 1, 2, 3, 4], "statement": ["a1", "a2", "b1", "b2", "a3"]}
    )
    labels = np.array([1, 1, 2, 2, 3])
    sim = np.array([0.99, 0.99, 0.99, 0.99, 1.0])
    reps = representatives(st, labels, sim, 2)
    items = condense_nearest(
        reps, x.astype(np.float32), n_items=5, n_themes=2, dedupe_similarity=0.9
    )
    assert [i["statement"] for i in items["items"]] == ["a1", "b1"]  # cluster 3's "a3" repeats "a1"
    assert len(items["themes"]) == 2 and items["method"] == "nearest"
