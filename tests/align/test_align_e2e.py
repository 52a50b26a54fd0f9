"""The issue's end-to-end check on the CPU: personas → synthesize (fake server) → pairs (HL-lite)
→ 2 epochs of DPO with LoRA on a tiny random chat LM → evaluation over epochs; then 1 epoch of
GRPO with HL-lite as the reward. Checks: the DPO loss falls, every artefact carries verifiable
provenance, an evaluation file attributed to the wrong checkpoint fails, a resumed run equals an
uninterrupted one, and no API key lands in any file."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("trl", reason="needs the 'train' extra")
pytest.importorskip("peft", reason="needs the 'train' extra")

from chatlens.align.evaluate import evaluate
from chatlens.align.pairs import PairRule
from chatlens.align.provenance import SUFFIX, file_sha256, read_provenance, verify_artefact
from chatlens.align.steps import pairs_to, synthesize_to
from chatlens.align.train import CHECKPOINT_RECORD, train
from chatlens.errors import ProvenanceError
from chatlens.llm import LLMConfig
from chatlens.llm.testing import FakeOpenAIServer, FakeReply

from .conftest import PERSONAS, SECRET, build_tiny_chat_lm, handler

pytestmark = pytest.mark.slow

GENERATORS = ["casual-gen", "formal-gen:temperature=0.7|1.0", "plain-gen"]


def dpo_config(base: Path, **over) -> dict:
    cfg = {
        "model": str(base),
        "method": "dpo",
        "lora": {"r": 4, "alpha": 8, "dropout": 0.1, "target_modules": ["q_proj", "v_proj"]},
        "max_length": 512,
        "max_prompt_length": 256,
        "learning_rate": 5e-3,
        "epochs": 2,
        "batch_size": 4,
        "grad_accum": 1,
        "seed": 0,
        "warmup_ratio": 0.0,
    }
    return {**cfg, **over}


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """One full run shared by the tests of this module (synthesis through evaluation)."""
    tmp = tmp_path_factory.mktemp("align")
    mp = pytest.MonkeyPatch()
    mp.setenv("OPENAI_API_KEY", SECRET)
    (tmp / "personas.json").write_text(json.dumps(PERSONAS), encoding="utf-8")
    with FakeOpenAIServer(handler) as server:
        llm = LLMConfig(
            model="unused",
            base_url=server.base_url,
            cache_dir=tmp / "cache",
            concurrency=4,
            max_retries=3,
            backoff_initial_s=0.01,
            backoff_max_s=0.05,
        )
        syn = synthesize_to(
            tmp / "syn",
            tmp / "personas.json",
            generators=GENERATORS,
            config=llm,
            dialogues_per_persona=3,
            test_fraction=0.34,
            seed=0,
        )
        pairs = pairs_to(
            tmp / "pairs",
            [tmp / "syn" / "dialogues.parquet"],
            rule=PairRule(length_control="residual"),
        )
        frame = syn.frame.filter(pl.col("dialogue").is_not_null())
        build_tiny_chat_lm(tmp / "base", frame["prompt"].to_list() + frame["dialogue"].to_list())
        run = train(dpo_config(tmp / "base"), pairs=tmp / "pairs", out=tmp / "run")
        summary = evaluate(
            tmp / "run",
            heldout=tmp / "pairs" / "heldout_prompts.parquet",
            out=tmp / "eval",
            judge_config=llm.with_(model="judge-model"),
            max_new_tokens=48,
            n_boot=200,
            max_prompts=6,
        )
        n_requests = server.n_requests
        auth = set(server.auth_headers)
    mp.undo()
    return {
        "tmp": tmp,
        "syn": syn,
        "pairs": pairs,
        "run": run,
        "summary": summary,
        "n_requests": n_requests,
        "auth": auth,
    }


def test_synthesis_rows_carry_persona_generator_params_and_prompt_hash(pipeline):
    f = pipeline["syn"].frame
    # 9 attributes besides age/sex (veteran_status "Not Applicable" is dropped): 4 windows of
    # 2*(9//5) = 2 < min_attributes 4, so n falls to 3 (windows of 4): 6 x 3 sub-personas x 3
    assert f.height == 6 * 3 * 3
    assert sorted(f["persona_id"].unique().to_list()) == [
        p * 4 + i for p in range(6) for i in range(3)
    ]
    ok = f.filter(pl.col("error").is_null())
    assert ok.height == f.height, ok.filter(pl.col("error").is_not_null())["error"].to_list()
    assert set(ok["generator"]) == {"casual-gen", "formal-gen", "plain-gen"}
    formal = ok.filter(pl.col("generator") == "formal-gen")["params"].unique().to_list()
    assert {json.loads(p)["temperature"] for p in formal} <= {0.7, 1.0}
    assert ok["prompt_hash"].str.len_chars().unique().to_list() == [16]
    # split by parent persona: the sub-personas of one person are on one side
    assert ok.group_by("parent_id").agg(pl.col("split").n_unique())["split"].max() == 1
    assert pipeline["auth"] == {f"Bearer {SECRET}"}  # the key was sent, and only to the server


def test_pairs_are_trl_conversational_with_a_data_card(pipeline):
    d = pipeline["tmp"] / "pairs"
    rows = [json.loads(x) for x in (d / "pairs.jsonl").read_text().splitlines()]
    assert rows and set(rows[0]) == {"prompt", "chosen", "rejected"}
    assert rows[0]["prompt"][0]["role"] == "user" and rows[0]["chosen"][0]["role"] == "assistant"
    card = json.loads((d / "data_card.json").read_text())
    c = card["counts"]
    assert (
        c["pairs_final"] == len(rows) <= c["pairs_after_balance"] <= c["pairs_after_length_control"]
    )
    held = pl.read_parquet(d / "heldout_prompts.parquet")["persona_id"].to_list()
    meta = pl.read_parquet(d / "pairs_meta.parquet")
    assert held and not set(held) & set(meta["persona_id"].to_list())
    assert meta.group_by("persona_id").len()["len"].max() <= 3  # the cap
    assert (
        "mean_words" in card["after"]["chosen"]
        and "mean_words" in card["before_length_control"]["chosen"]
    )


def test_dpo_loss_falls_with_a_checkpoint_per_epoch(pipeline):
    run = pipeline["run"]
    assert [c["epoch"] for c in run.checkpoints] == [1, 2]
    losses = run.losses_by_epoch()
    first = next(h["loss"] for h in run.log if "loss" in h)
    assert math.isclose(first, math.log(2), abs_tol=1e-3)  # policy == reference at step 1
    assert losses[2] < losses[1], losses
    on_pairs = run.eval_loss_by_epoch()  # all training pairs, dropout off, after each epoch
    assert list(on_pairs) == [1, 2]
    assert on_pairs[2] < on_pairs[1] < math.log(2), on_pairs


def crash_after_first_epoch():
    """A callback that stops the run right after the epoch-1 checkpoint (a killed job)."""
    from transformers import TrainerCallback

    class Crash(TrainerCallback):
        def on_epoch_end(self, args, state, control, **kw):
            control.should_training_stop = True

    return Crash()


def test_resumed_run_equals_uninterrupted(pipeline, tmp_path):
    from safetensors.torch import load_file

    tmp = pipeline["tmp"]
    cfg = dpo_config(tmp / "base")
    first = train(
        cfg, pairs=tmp / "pairs", out=tmp_path / "run", callbacks=[crash_after_first_epoch()]
    )
    assert [c["epoch"] for c in first.checkpoints] == [1]
    resumed = train(cfg, pairs=tmp / "pairs", out=tmp_path / "run")
    assert resumed.resumed_from.endswith("checkpoint-3")
    full = pipeline["run"].checkpoints[-1]
    again = resumed.checkpoints[-1]
    assert again["weights"] == full["weights"]  # byte-identical adapters
    a = load_file(Path(full["path"]) / "adapter_model.safetensors")
    b = load_file(Path(again["path"]) / "adapter_model.safetensors")
    assert all((a[k] == b[k]).all() for k in a)
    assert resumed.losses_by_epoch() == pipeline["run"].losses_by_epoch()
    with pytest.raises(ProvenanceError, match="another run"):  # other config, same --out
        train({**cfg, "beta": 0.5}, pairs=tmp / "pairs", out=tmp_path / "run")


def test_evaluation_curve_over_epochs_against_the_base(pipeline):
    curve = pl.DataFrame(pipeline["summary"]["curve"])
    assert sorted(curve["epoch"].unique().to_list()) == [0, 1, 2]
    # synthesize's parents reach the held-out file: intervals resample people, not sub-personas
    assert pipeline["summary"]["ci_resamples"].startswith("parent personas")
    assert set(curve["ci_over"]) == {"parent_id"} and pipeline["summary"]["ci_note"] is None
    judge = curve.filter(pl.col("measure") == "hl_logit")
    assert judge.filter(pl.col("epoch") == 0)["delta_vs_base"].to_list() == [0.0]
    later = judge.filter(pl.col("epoch") > 0)
    assert (later["ci_low"] <= later["delta_vs_base"]).all()
    assert (later["delta_vs_base"] <= later["ci_high"]).all()
    measures = set(curve["measure"])
    assert {
        "hl_lite_logit",
        "words_per_turn",
        "question_share",
        "informal_spelling",
        "scorable",
        "hl_item_1",
    } <= measures


def _artefacts(root: Path) -> list[Path]:
    return [
        p
        for p in root.rglob("*")
        if p.is_file()
        and not p.name.endswith(SUFFIX)
        and "checkpoints" not in p.parts
        and p.name != "train_log.jsonl"
        and p.suffix != ".sqlite"
    ]


def test_every_artefact_carries_provenance_and_no_secret(pipeline):
    tmp = pipeline["tmp"]
    files = [f for d in ("syn", "pairs", "run", "eval") for f in _artefacts(tmp / d)]
    assert len(files) == 2 + 6 + 1 + 8  # synthesize, pairs, train manifest, evaluate
    for f in files:
        rec = verify_artefact(f)
        assert rec["created_by"].startswith("chatlens")
    held_sha = file_sha256(tmp / "pairs" / "heldout_prompts.parquet")
    assert pipeline["summary"]["heldout"]["sha256"] == held_sha
    for f in (tmp / "eval" / "generations").glob("*.parquet"):
        rec = read_provenance(f)
        assert rec["inputs"] == {"heldout": held_sha}  # was {}: no record of the prompts' file
        assert (
            rec["model"] == str(tmp / "base") and rec["config_hash"] == pipeline["run"].config_hash
        )
        rows = pl.read_parquet(f)
        assert rows["checkpoint"].unique().to_list() == [rec["checkpoint"] or rec["model"]]
    for ck in (tmp / "run" / "checkpoints").glob("checkpoint-*"):
        assert (
            json.loads((ck / CHECKPOINT_RECORD).read_text())["config_hash"]
            == pipeline["run"].config_hash
        )
    for f in tmp.rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f


def test_evaluation_file_attributed_to_another_checkpoint_fails(pipeline, tmp_path):
    tmp = pipeline["tmp"]
    ck1, ck2 = (c["path"] for c in pipeline["run"].checkpoints)
    gen = tmp_path / "generations"
    shutil.copytree(tmp / "eval" / "generations", gen)
    # relabel epoch 1's outputs as epoch 2's: the sidecar names checkpoint 2, weights are ck1's
    src, dst = gen / "epoch_01.parquet", gen / "epoch_02.parquet"
    shutil.copy(src, dst)
    rec = json.loads((gen / f"epoch_01.parquet{SUFFIX}").read_text())
    rec["checkpoint"] = ck2
    (gen / f"epoch_02.parquet{SUFFIX}").write_text(json.dumps(rec))
    with pytest.raises(ProvenanceError, match="not the ones that produced it"):
        verify_artefact(dst)
    with pytest.raises(ProvenanceError, match="attributed to checkpoint"):
        verify_artefact(src, checkpoint=ck2)
    # editing the rows' checkpoint column changes the bytes the sidecar hashed
    pl.read_parquet(src).with_columns(pl.lit(ck2).alias("checkpoint")).write_parquet(src)
    with pytest.raises(ProvenanceError, match="changed after it was written"):
        verify_artefact(src)
    assert verify_artefact(tmp / "eval" / "generations" / "epoch_01.parquet")["checkpoint"] == ck1


def test_grpo_one_epoch_with_hllite_reward(pipeline, tmp_path):
    tmp = pipeline["tmp"]
    cfg = dpo_config(
        tmp / "base",
        method="grpo",
        epochs=1,
        batch_size=4,
        learning_rate=1e-3,
        grpo={
            "num_generations": 2,
            "max_completion_length": 24,
            "length_penalty": 0.5,
            "length_target_words": 12,
        },
    )
    run = train(cfg, pairs=tmp / "pairs", out=tmp_path / "grpo")
    assert run.method == "grpo" and [c["epoch"] for c in run.checkpoints] == [1]
    rewards = [h for h in run.log if "reward" in h]
    assert rewards and all(math.isfinite(h["reward"]) for h in rewards)
    assert any("rewards/hllite/mean" in h for h in run.log)
    manifest = tmp_path / "grpo" / "train_manifest.json"
    assert verify_artefact(manifest)["config_hash"] == run.config_hash
    summary = evaluate(
        tmp_path / "grpo",
        heldout=tmp / "pairs" / "heldout_prompts.parquet",
        out=tmp_path / "eval",
        max_new_tokens=16,
        n_boot=50,
        max_prompts=3,
    )
    assert sorted({c["epoch"] for c in summary["curve"]}) == [0, 1]


def test_evaluate_through_a_server_names_each_checkpoint(pipeline, tmp_path):
    tmp = pipeline["tmp"]
    with FakeOpenAIServer(handler) as server:
        llm = LLMConfig(
            model="unused", base_url=server.base_url, max_retries=1, backoff_initial_s=0.01
        )
        summary = evaluate(
            tmp / "run",
            heldout=tmp / "pairs" / "heldout_prompts.parquet",
            out=tmp_path / "eval",
            server=llm,
            served_names={2: "final"},
            n_boot=100,
            max_prompts=5,
        )
        asked = {b["model"] for b in server.bodies}
    assert asked == {str(tmp / "base"), "epoch-1", "final"}
    rec = verify_artefact(tmp_path / "eval" / "generations" / "epoch_02.parquet")
    assert rec["extra"]["served_as"] == "final" and rec["checkpoint"].endswith("checkpoint-6")
    lite = [c for c in summary["curve"] if c["measure"] == "hl_lite_logit"]
    assert all(c["n"] == 5 and c["mean"] is not None for c in lite)  # P:/D: dialogues, scored


def test_grpo_resumed_run_equals_uninterrupted(pipeline, tmp_path):
    tmp = pipeline["tmp"]
    cfg = dpo_config(
        tmp / "base",
        method="grpo",
        epochs=2,
        batch_size=4,
        learning_rate=1e-3,
        grpo={"num_generations": 2, "max_completion_length": 12},
    )
    full = train(cfg, pairs=tmp / "pairs", out=tmp_path / "full")
    part = train(
        cfg, pairs=tmp / "pairs", out=tmp_path / "part", callbacks=[crash_after_first_epoch()]
    )
    assert [c["epoch"] for c in part.checkpoints] == [1]
    resumed = train(cfg, pairs=tmp / "pairs", out=tmp_path / "part")
    assert resumed.resumed_from is not None
    assert [c["weights"] for c in resumed.checkpoints] == [c["weights"] for c in full.checkpoints]


def test_evaluate_reuses_generations_only_for_the_same_prompts_and_settings(pipeline, tmp_path):
    """A rerun into the same --out with more prompts or other generation settings generates
    again (it used to reuse the first run's files and report their numbers under the new
    settings); the same settings reuse the files (a killed evaluation resumes)."""
    tmp = pipeline["tmp"]
    run, held, out = tmp / "run", tmp / "pairs" / "heldout_prompts.parquet", tmp_path / "eval"
    kw = {"heldout": held, "out": out, "n_boot": 20, "max_new_tokens": 4}
    evaluate(run, max_prompts=2, **kw)
    more = evaluate(run, max_prompts=4, **kw)
    gens = sorted((out / "generations").glob("epoch_*.parquet"))
    assert more["prompts"] == 4 and [pl.read_parquet(g).height for g in gens] == [4, 4, 4]
    assert all(c["n"] == 4 for c in more["curve"] if c["measure"] == "scorable")
    greedy = evaluate(run, max_prompts=4, temperature=0.0, **kw)
    assert all(read_provenance(g)["extra"]["generation"] == greedy["generation"] for g in gens)
    before = {g: g.stat().st_mtime_ns for g in gens}
    evaluate(run, max_prompts=4, temperature=0.0, **kw)
    assert {g: g.stat().st_mtime_ns for g in gens} == before  # same settings: reused


def test_a_run_killed_while_saving_resumes_from_the_last_complete_checkpoint(pipeline, tmp_path):
    """A checkpoint directory without its record (the job was killed while saving it) used to
    stop every rerun with "not written by chatlens align train"; it is now moved aside and the
    run resumes from the checkpoint before it, ending with the uninterrupted run's weights. A
    log line cut off by the kill used to stop the rerun with a JSONDecodeError."""
    tmp = pipeline["tmp"]
    cfg = dpo_config(tmp / "base")
    run = tmp_path / "run"
    train(cfg, pairs=tmp / "pairs", out=run, callbacks=[crash_after_first_epoch()])
    full = Path(pipeline["run"].checkpoints[-1]["path"])
    half = run / "checkpoints" / full.name
    half.mkdir()
    weights = (full / "adapter_model.safetensors").read_bytes()
    (half / "adapter_model.safetensors").write_bytes(weights[: len(weights) // 2])
    with (run / "train_log.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"step": 6, "loss": 0.6')  # the log line being written when the job died
    resumed = train(cfg, pairs=tmp / "pairs", out=run)
    assert resumed.resumed_from.endswith("checkpoint-3")
    assert resumed.checkpoints[-1]["weights"] == pipeline["run"].checkpoints[-1]["weights"]
    aside = run / "incomplete_checkpoints" / full.name / "adapter_model.safetensors"
    assert aside.read_bytes() == weights[: len(weights) // 2]
    assert resumed.losses_by_epoch() == pipeline["run"].losses_by_epoch()


def test_a_failed_generation_is_left_out_not_counted_as_lost_format(pipeline, tmp_path):
    """A server request that failed for good (completion None) used to score as an unscorable
    completion: epoch 1's "scorable" share fell by 1/n with the model never losing its format."""
    tmp = pipeline["tmp"]
    held = pl.read_parquet(tmp / "pairs" / "heldout_prompts.parquet")
    bad = held["prompt"][0]

    def failing(body, n):
        if body["model"] == "epoch-1" and body["messages"][-1]["content"] == bad:
            return FakeReply(content='{"error": "bad request"}', status=400)
        return handler(body, n)

    with FakeOpenAIServer(failing) as server:
        llm = LLMConfig(model="unused", base_url=server.base_url, max_retries=0)
        summary = evaluate(
            tmp / "run",
            heldout=tmp / "pairs" / "heldout_prompts.parquet",
            out=tmp_path / "eval",
            server=llm,
            n_boot=20,
        )
    assert summary["failed_generations"] == {0: 0, 1: 1, 2: 0}
    scorable = {c["epoch"]: c for c in summary["curve"] if c["measure"] == "scorable"}
    assert scorable[0]["mean"] == scorable[1]["mean"] == 1.0  # every answer kept the format
    assert scorable[1]["n"] == held.height - 1 and scorable[1]["delta_vs_base"] == 0.0


def test_evaluate_refuses_held_out_prompts_the_run_was_trained_on(pipeline, tmp_path):
    """A held-out file holding training prompts (e.g. from pairs drawn with another seed) was
    evaluated as if held out; the run's manifest now names its pairs file and evaluate checks."""
    from chatlens.errors import SchemaError

    tmp = pipeline["tmp"]
    manifest = json.loads((tmp / "run" / "train_manifest.json").read_text())
    assert manifest["pairs_file"] == str((tmp / "pairs" / "pairs.jsonl").resolve())
    trained = json.loads((tmp / "pairs" / "pairs.jsonl").read_text().splitlines()[0])
    held = pl.read_parquet(tmp / "pairs" / "heldout_prompts.parquet")
    seen = pl.DataFrame({"persona_id": [999], "prompt": [trained["prompt"][0]["content"]]})
    leaky = pl.concat([held.head(2), seen], how="diagonal_relaxed")
    leaky.write_parquet(tmp_path / "leaky.parquet")
    with pytest.raises(SchemaError, match=r"leaky.parquet: 1 of 3 held-out prompts are training"):
        evaluate(tmp / "run", heldout=tmp_path / "leaky.parquet", out=tmp_path / "eval")
    assert not (tmp_path / "eval").exists()


def test_resume_refuses_a_checkpoint_whose_weights_changed(pipeline, tmp_path):
    """Damaged adapter bytes in the last checkpoint (its record intact) were resumed from
    silently, so the "resumed" run went on from weights no record vouched for."""
    tmp = pipeline["tmp"]
    cfg = dpo_config(tmp / "base")
    part = train(
        cfg, pairs=tmp / "pairs", out=tmp_path / "run", callbacks=[crash_after_first_epoch()]
    )
    adapter = Path(part.checkpoints[-1]["path"]) / "adapter_model.safetensors"
    adapter.write_bytes(adapter.read_bytes()[:-64] + bytes(64))
    with pytest.raises(ProvenanceError, match="has weights .* other than the ones saved there"):
        train(cfg, pairs=tmp / "pairs", out=tmp_path / "run")
