"""The evaluation's intervals resample parent personas when the held-out file names them: the
sub-personas of one person answer alike, and counting them as independent narrows the CI."""

from __future__ import annotations

import numpy as np
import polars as pl

from chatlens.align.evaluate import load_heldout, paired_delta
from chatlens.align.pairs import build_pairs


def test_heldout_prompts_keep_the_parent_persona():
    rows = [
        {
            "persona_id": p * 4 + i,
            "parent_id": p,
            "prompt": f"prompt {p * 4 + i}",
            "dialogue": f"P: hi {p} {i} {g}",
            "generator": g,
            "reward": float((p * 4 + i + ord(g)) % 7),
            "n_words": 10.0,
            "words_per_turn": 5.0,
            "split": "test" if p < 2 else "train",
        }
        for p in range(6)
        for i in range(4)
        for g in "ab"
    ]
    res = build_pairs(pl.DataFrame(rows), split_column="split", parent_column="parent_id")
    assert res.heldout["parent_id"].to_list() == ["0"] * 4 + ["1"] * 4


def test_paired_delta_resamples_parents(tmp_path):
    rng = np.random.default_rng(0)
    parent = np.repeat(np.arange(10), 4)  # 10 people x 4 sub-personas, answers alike per person
    delta = np.repeat(rng.normal(0, 1, 10), 4) + rng.normal(0, 0.2, 40)
    ids = [str(i) for i in range(40)]
    base = pl.DataFrame({"prompt_id": ids, "m": np.zeros(40)})
    other = pl.DataFrame({"prompt_id": ids, "m": delta})
    parents = pl.DataFrame({"prompt_id": ids, "parent_id": parent.astype(str)})
    flat = paired_delta(base, other, "m", n_boot=2000, seed=0)
    by_parent = paired_delta(base, other, "m", n_boot=2000, seed=0, parents=parents)
    assert flat["delta"] == by_parent["delta"]
    width = [d["ci"][1] - d["ci"][0] for d in (flat, by_parent)]
    # prompts as independent: [-0.10, +0.34]; by parent: [-0.33, +0.57]
    assert width[1] > 1.8 * width[0], width
    one = paired_delta(
        base,
        other,
        "m",
        n_boot=200,
        seed=0,
        parents=parents.with_columns(pl.lit("p").alias("parent_id")),
    )
    assert one["ci"] == [None, None]  # one person: no interval, not NaN in summary.json
    p = tmp_path / "h.parquet"
    pl.DataFrame({"persona_id": [1, 2], "prompt": ["a", "b"], "parent_id": [0, 0]}).write_parquet(p)
    assert load_heldout(p)["parent_id"].to_list() == ["0", "0"]
