"""An example whose prompt alone fills max_length is dropped by TRL's DPO without a word: chatlens
drops it itself, counts it, and the run's example count is the number trained on."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("trl", reason="needs the 'train' extra")
pytest.importorskip("peft", reason="needs the 'train' extra")

from chatlens.align.testing import build_tiny_chat_lm
from chatlens.align.train import train

from .conftest import tiny_train_config


def _row(prompt: str) -> dict:
    return {
        "prompt": [{"role": "user", "content": prompt}],
        "chosen": [{"role": "assistant", "content": "P: ya ok"}],
        "rejected": [{"role": "assistant", "content": "P: Good day."}],
    }


def _train_counting(tmp_path, rows: list[dict], **config) -> tuple[object, int]:
    """Train on ``rows`` for no step: the run's result and how many examples TRL's dataloader
    holds (what would really be trained on)."""
    from transformers import TrainerCallback

    base = build_tiny_chat_lm(tmp_path / "base", ["P: hello doctor", "Write a visit"] * 10)
    (tmp_path / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    seen = {}

    class Count(TrainerCallback):
        def on_train_begin(self, args, state, control, train_dataloader=None, **kw):
            seen["n"] = len(train_dataloader.dataset)
            control.should_training_stop = True

    cfg = tiny_train_config(base, **config)
    res = train(cfg, pairs=tmp_path / "pairs.jsonl", out=tmp_path / "run", callbacks=[Count()])
    return res, seen["n"]


def test_an_example_whose_prompt_fills_max_length_is_counted_as_dropped(tmp_path):
    rows = [_row("Write a visit " + "zq " * 200), *(_row(f"Write a visit {i}") for i in range(3))]
    res, n = _train_counting(tmp_path, rows)
    # before: examples 4, "truncated by TRL", while TRL trained on 3
    assert res.n_examples == n == 3
    assert res.truncation["prompt_fills_max_length"] == 1


@pytest.mark.parametrize(("drop_truncated", "trained", "dropped", "truncated"),
                         [(False, 3, 1, 1), (True, 2, 2, 0)])
def test_dropped_and_truncated_examples_are_counted_apart(
    tmp_path, drop_truncated, trained, dropped, truncated
):
    """``examples_truncated`` counted the dropped examples too: 2 'truncated' where one was
    dropped (its prompt fills max_length) and one truncated, and 2 with ``drop_truncated``, where
    both were dropped and none truncated."""
    rows = [
        _row("Write a visit " + "zq " * 200),  # the prompt alone fills max_length: dropped
        {**_row("Write a visit 1"), "chosen": [{"role": "assistant", "content": "P: " + "ya " * 150}]},
        *(_row(f"Write a visit {i}") for i in range(2, 4)),
    ]
    res, n = _train_counting(tmp_path, rows, drop_truncated=drop_truncated)
    assert res.n_examples == n == trained
    t = res.truncation
    assert (t["examples_dropped"], t["examples_truncated"]) == (dropped, truncated)
    assert t["examples_over_limits"] == dropped + truncated == 2
    manifest = json.loads((tmp_path / "run" / "train_manifest.json").read_text())
    assert manifest["truncation"]["examples_truncated"] == truncated
