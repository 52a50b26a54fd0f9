from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from chatlens.errors import InvalidParameterError, MissingColumnError
from chatlens.stats.bootstrap import bootstrap_mean, cluster_bootstrap


def _clustered(rng: np.random.Generator, n_users: int = 40, per_user: int = 25) -> pl.DataFrame:
    user_effect = rng.normal(0, 1.0, n_users)
    users = np.repeat(np.arange(n_users), per_user)
    x = user_effect[users] + rng.normal(0, 0.3, users.size)
    return pl.DataFrame({"user": users.astype(str), "x": x})


def test_iid_bootstrap_close_to_normal_interval() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 2.0, 2000)
    e = bootstrap_mean(x, n_boot=4000, seed=1)
    se = x.std(ddof=1) / np.sqrt(x.size)
    assert e.value == pytest.approx(x.mean())
    assert e.ci_low == pytest.approx(x.mean() - 1.96 * se, abs=0.25 * se)
    assert e.ci_high == pytest.approx(x.mean() + 1.96 * se, abs=0.25 * se)


def test_cluster_bootstrap_widens_when_clustered() -> None:
    rng = np.random.default_rng(1)
    df = _clustered(rng)
    naive = bootstrap_mean(df["x"], n_boot=1000)
    clus = bootstrap_mean(df["x"], clusters=df["user"], n_boot=1000)
    assert clus.width > 2.5 * naive.width
    assert "40 clusters" in clus.method


@pytest.mark.slow
def test_cluster_bootstrap_coverage_by_simulation() -> None:
    """True mean is 0: the cluster interval covers near 95 %, the row bootstrap far less."""
    rng = np.random.default_rng(2)
    hits_c = hits_n = 0
    reps = 150
    for _ in range(reps):
        df = _clustered(rng)
        c = bootstrap_mean(df["x"], clusters=df["user"], n_boot=400, seed=int(rng.integers(1 << 30)))
        n = bootstrap_mean(df["x"], n_boot=400, seed=int(rng.integers(1 << 30)))
        hits_c += c.ci_low <= 0 <= c.ci_high
        hits_n += n.ci_low <= 0 <= n.ci_high
    assert hits_c / reps > 0.88
    assert hits_n / reps < 0.6


def test_seeded_and_nan_dropped() -> None:
    x = [1.0, 0.0, np.nan, 1.0, 1.0, 0.0]
    a = bootstrap_mean(x, seed=5)
    assert a == bootstrap_mean(x, seed=5)
    assert a.n == 5 and a.value == pytest.approx(0.6)


def test_null_cluster_labels_are_singletons() -> None:
    e = bootstrap_mean([1.0, 0.0, 1.0, 1.0], clusters=["a", "a", None, None], n_boot=50)
    assert "3 clusters" in e.method


def test_general_statistic_matches_vectorised_mean() -> None:
    rng = np.random.default_rng(3)
    df = _clustered(rng, n_users=30, per_user=10)
    gen = cluster_bootstrap(df, lambda f: float(f["x"].mean()), cluster="user", n_boot=600, seed=0)
    vec = bootstrap_mean(df["x"], clusters=df["user"], n_boot=600, seed=1)
    assert gen.value == pytest.approx(vec.value)
    assert gen.ci_low == pytest.approx(vec.ci_low, abs=0.3 * vec.width)
    assert gen.ci_high == pytest.approx(vec.ci_high, abs=0.3 * vec.width)


def test_resample_keeps_whole_clusters() -> None:
    df = pl.DataFrame({"user": ["a", "a", "a", "b", "c", "c"], "x": [1.0, 1.0, 1.0, 2.0, 3.0, 3.0]})
    seen: list[int] = []

    def stat(f: pl.DataFrame) -> float:
        sizes = f.group_by("x").len()["len"].to_list()
        # each draw of a cluster brings all of its rows: counts are multiples of cluster sizes
        for x, size in f.group_by("x").len().rows():
            assert size % {1.0: 3, 2.0: 1, 3.0: 2}[x] == 0
        seen.append(sum(sizes))
        return float(f["x"].mean())

    cluster_bootstrap(df, stat, cluster="user", n_boot=30)
    assert len(seen) == 31


def test_errors() -> None:
    with pytest.raises(InvalidParameterError, match="all missing"):
        bootstrap_mean([np.nan, np.nan])
    with pytest.raises(InvalidParameterError, match="n_boot"):
        bootstrap_mean([1.0], n_boot=0)
    with pytest.raises(InvalidParameterError, match="one label per value"):
        bootstrap_mean([1.0, 2.0], clusters=["a"])
    df = pl.DataFrame({"x": [1.0]})
    with pytest.raises(InvalidParameterError, match="callable"):
        cluster_bootstrap(df, "mean")  # type: ignore[arg-type]
    with pytest.raises(MissingColumnError):
        cluster_bootstrap(df, lambda f: 1.0, cluster="user")
    with pytest.raises(InvalidParameterError, match="empty"):
        cluster_bootstrap(df.clear(), lambda f: 1.0)


def test_bootstrap_mean_of_one_cluster_has_no_interval() -> None:
    """One cluster (or one value) resamples to itself: NaN bounds, not a zero-width interval."""
    import math

    one = bootstrap_mean([1, 0, 1], clusters=["u", "u", "u"])
    assert one.value == pytest.approx(2 / 3) and math.isnan(one.ci_low) and math.isnan(one.ci_high)
    assert math.isnan(bootstrap_mean([1.0]).ci_low)
    assert bootstrap_mean([1, 0, 1, 0], clusters=["u", "u", "v", "v"]).ci_low == 0.5
