"""A run records the weights of its base model: another model saved under the base's path (the
config names it by path) is not silently evaluated or resumed on."""

from __future__ import annotations

import json
import shutil

import polars as pl
import pytest

pytest.importorskip("trl", reason="needs the 'train' extra")
pytest.importorskip("peft", reason="needs the 'train' extra")

from chatlens.align.evaluate import evaluate
from chatlens.align.testing import build_tiny_chat_lm
from chatlens.align.train import train
from chatlens.errors import InvalidParameterError, ProvenanceError

from .conftest import tiny_train_config

TEXTS = ["P: hello there doctor", "D: how are you", "Write a visit"] * 10


def _write_pairs(path) -> None:
    """Two copies of one preference pair (enough for a tiny run's batch of two)."""
    row = {
        "prompt": [{"role": "user", "content": "Write a visit 1"}],
        "chosen": [{"role": "assistant", "content": "P: ya ok"}],
        "rejected": [{"role": "assistant", "content": "P: Good day."}],
    }
    path.write_text((json.dumps(row) + "\n") * 2, encoding="utf-8")


def test_a_replaced_base_model_stops_evaluate_and_resume(tmp_path):
    base = build_tiny_chat_lm(tmp_path / "base", TEXTS, seed=0)
    _write_pairs(tmp_path / "pairs.jsonl")
    cfg = tiny_train_config(base)
    run = train(cfg, pairs=tmp_path / "pairs.jsonl", out=tmp_path / "run")
    manifest = json.loads((tmp_path / "run" / "train_manifest.json").read_text())
    assert manifest["base_weights"] == run.checkpoints[0]["base_weights"]
    held = tmp_path / "held.parquet"
    pl.DataFrame({"persona_id": [7], "prompt": ["Write a visit 7"]}).write_parquet(held)
    # the same path, another model (seed 1): it was evaluated as the run's base, adapters on it
    shutil.rmtree(base)
    build_tiny_chat_lm(base, TEXTS, seed=1)
    with pytest.raises(ProvenanceError, match="trained on other weights"):
        evaluate(tmp_path / "run", heldout=held, out=tmp_path / "eval", max_new_tokens=2)
    assert not (tmp_path / "eval").exists()
    with pytest.raises(ProvenanceError, match="trained on other weights"):
        train(cfg, pairs=tmp_path / "pairs.jsonl", out=tmp_path / "run")


def test_server_answers_are_cached_per_checkpoint_weights_not_per_served_name(tmp_path):
    from chatlens.llm import LLMConfig
    from chatlens.llm.testing import FakeOpenAIServer, FakeReply

    base = build_tiny_chat_lm(tmp_path / "base", TEXTS, seed=0)
    _write_pairs(tmp_path / "pairs.jsonl")
    cfg = tiny_train_config(base, warmup_ratio=0.0)
    for name, lr in (("a", 5e-3), ("b", 1e-2)):  # two runs: other epoch-1 weights
        train({**cfg, "learning_rate": lr}, pairs=tmp_path / "pairs.jsonl", out=tmp_path / name)
    held = tmp_path / "held.parquet"
    pl.DataFrame({"persona_id": [7, 8], "prompt": ["Write 7", "Write 8"]}).write_parquet(held)
    answers = iter(range(1000))

    def handler(body, n):
        return FakeReply(content=f"P: answer {next(answers)} by {body['model']}")

    with FakeOpenAIServer(handler) as server:
        llm = LLMConfig(
            model="x", base_url=server.base_url, cache_dir=tmp_path / "cache", max_retries=1
        )
        for name in ("a", "b"):
            evaluate(
                tmp_path / name, heldout=held, out=tmp_path / f"eval-{name}", server=llm, n_boot=10
            )
        again = server.n_requests
        with pytest.raises(InvalidParameterError, match=r"epochs \[2\], but .* epochs \[1\]"):
            # a 1-epoch run: the name was ignored and epoch 1 asked as "epoch-1"
            evaluate(
                tmp_path / "b",
                heldout=held,
                out=tmp_path / "e",
                server=llm,
                served_names={2: "final"},
            )
        evaluate(tmp_path / "b", heldout=held, out=tmp_path / "eval-b2", server=llm, n_boot=10)
        assert server.n_requests == again  # the same checkpoint: answered from the cache
        assert {b.get("seed") for b in server.bodies} == {0}  # --seed reaches the server
    gens = [
        pl.read_parquet(tmp_path / f"eval-{n}" / "generations" / "epoch_01.parquet")
        for n in ("a", "b")
    ]
    assert gens[0]["weights"][0] != gens[1]["weights"][0]
    # run b's epoch 1, served under the same default name "epoch-1", got run a's cached text
    assert gens[0]["completion"].to_list() != gens[1]["completion"].to_list()
    assert again == 2 + 2 + 2  # base once (same weights), epoch 1 of each run
