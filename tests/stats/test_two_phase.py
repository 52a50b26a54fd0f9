"""Two-phase correction of a detector's rate by a reader's labels (chatlens.stats.two_phase)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from chatlens.errors import InvalidParameterError
from chatlens.stats.two_phase import two_phase_rates


def _cells(rows: list[tuple[str, bool, int, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["group", "flagged", "messages", "labelled", "positives"],
                        orient="row")


def test_census_cells_give_the_exact_rate_with_no_width() -> None:
    out = two_phase_rates(_cells([("a", True, 10, 10, 7), ("a", False, 30, 30, 3)]), overall=None)
    r = out.row(0, named=True)
    assert r["rate"] == pytest.approx(0.25) and r["rate_low"] == r["rate_high"] == pytest.approx(0.25)
    assert r["precision"] == pytest.approx(0.7) and r["recall"] == pytest.approx(0.7)
    assert r["flagged_per_true"] == pytest.approx(1.0) and r["complete"]


def test_an_unlabelled_cell_leaves_the_rate_open_but_bounded() -> None:
    out = two_phase_rates(_cells([("a", True, 100, 20, 15), ("a", False, 900, 0, 0)]), overall=None)
    r = out.row(0, named=True)
    assert r["rate"] is None and not r["complete"]
    assert r["precision"] == pytest.approx(0.75)
    # the unread 900 could hold no positive or only positives: the worst cases bound the rate
    assert 0.05 < r["rate_low"] < 0.075 and 0.98 < r["rate_high"] < 1


def test_point_estimates_lie_inside_their_intervals() -> None:
    out = two_phase_rates(_cells([("a", True, 50, 30, 30), ("a", False, 5000, 30, 0),
                                  ("b", True, 400, 30, 12), ("b", False, 3000, 30, 2)]))
    for key in ("rate", "precision", "recall", "flagged_per_true"):
        ok = out.filter(pl.col(key).is_not_null())
        assert (ok[f"{key}_low"] <= ok[key]).all() and (ok[key] <= ok[f"{key}_high"]).all(), key


def test_intervals_cover_each_logs_true_rate_and_the_estimate_is_unbiased() -> None:
    """Simulated logs: three groups whose detector misses different shares (so the detector's own
    rate is biased, and differently per group), 40 labels per cell, 150 logs."""
    rng = np.random.default_rng(7)
    truth = {"a": 0.02, "b": 0.10, "c": 0.30}
    sensitivity, false_positive, size, per_cell, reps = {"a": 0.9, "b": 0.6, "c": 0.8}, 0.01, 4000, 40, 150
    covered, covered_diff = dict.fromkeys(truth, 0), dict.fromkeys(truth, 0)
    error = {g: [] for g in truth}
    naive = {g: [] for g in truth}
    for rep in range(reps):
        rows, log_rate = [], {}
        for g, rate in truth.items():
            y = rng.random(size) < rate
            flag = np.where(y, rng.random(size) < sensitivity[g], rng.random(size) < false_positive)
            for f in (True, False):
                members = np.flatnonzero(flag == f)
                pick = rng.choice(members, size=min(per_cell, len(members)), replace=False)
                rows.append((g, f, len(members), len(pick), int(y[pick].sum())))
            log_rate[g] = y.mean()
            naive[g].append(flag.mean() - y.mean())
        out = two_phase_rates(_cells(rows), draws=4000, seed=rep, overall=None)
        for r in out.iter_rows(named=True):
            g = r["group"]
            covered[g] += r["rate_low"] <= log_rate[g] <= r["rate_high"]
            error[g].append(r["rate"] - log_rate[g])
            rest = np.mean([v for k, v in log_rate.items() if k != g])  # equal group sizes
            covered_diff[g] += r["vs_rest_low"] <= log_rate[g] - rest <= r["vs_rest_high"]
    for g in truth:
        assert covered[g] / reps >= 0.9, (g, covered[g] / reps)
        assert covered_diff[g] / reps >= 0.9, (g, covered_diff[g] / reps)
        assert abs(np.mean(error[g])) < 0.1 * truth[g], (g, np.mean(error[g]))
    assert np.mean(naive["b"]) < -0.03  # the detector alone under-counts group b by 4 points


@pytest.mark.parametrize(("row", "match"), [
    (("a", True, 10, 11, 0), "labelled=11"),
    (("a", True, 10, 5, 6), "positives=6"),
    (("a", True, -1, 0, 0), "messages=-1"),
])
def test_impossible_counts_are_refused_naming_the_cell(row: tuple, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        two_phase_rates(_cells([row]))


def test_missing_columns_and_bad_parameters_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="positives"):
        two_phase_rates(pl.DataFrame({"group": ["a"], "flagged": [True], "messages": [1], "labelled": [1]}))
    with pytest.raises(InvalidParameterError, match="confidence"):
        two_phase_rates(_cells([("a", True, 10, 5, 1)]), confidence=1.5)
    with pytest.raises(InvalidParameterError, match="draws"):
        two_phase_rates(_cells([("a", True, 10, 5, 1)]), draws=10)


def test_the_same_seed_gives_the_same_intervals() -> None:
    cells = _cells([("a", True, 100, 20, 15), ("a", False, 900, 20, 1)])
    assert two_phase_rates(cells, seed=3).equals(two_phase_rates(cells, seed=3))


def test_nulls_empty_input_and_a_group_named_like_the_overall_row_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="nulls"):
        two_phase_rates(_cells([("a", True, 10, 5, 1)]).with_columns(messages=pl.lit(None, pl.Int64)))
    with pytest.raises(InvalidParameterError, match="at least one cell"):
        two_phase_rates(_cells([("a", True, 10, 5, 1)]).head(0))
    with pytest.raises(InvalidParameterError, match="overall"):
        two_phase_rates(_cells([("(all)", True, 10, 5, 1)]))


def test_many_groups_match_one_group_at_a_time() -> None:
    rows = [(f"g{i}", f, 100 + i, 10, (i + int(f)) % 7) for i in range(40) for f in (True, False)]
    together = two_phase_rates(_cells(rows), draws=2000, seed=1, overall=None)
    alone = pl.concat([two_phase_rates(_cells([r for r in rows if r[0] == g]), draws=2000, seed=1, overall=None)
                       for g in ("g0", "g17", "g39")])
    picked = together.filter(pl.col("group").is_in(["g0", "g17", "g39"]))
    assert picked.select("group", "rate", "precision", "recall").equals(alone.select("group", "rate", "precision", "recall"))
