"""``chatlens align`` commands end to end through the CLI (fake server), bad input exit codes,
and the issue's real-data check: pairs from HAL's scored per-epoch samples that DPOTrainer takes."""

from __future__ import annotations

import json

import polars as pl
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.llm.testing import FakeOpenAIServer

from .conftest import SECRET, build_tiny_chat_lm, handler


def _synthesize_args(personas, server, tmp_path, out: str) -> list[str]:
    gens = ["casual-gen", "formal-gen:temperature=0.5|0.9", "plain-gen"]
    return [
        "align",
        "synthesize",
        str(personas),
        *(x for g in gens for x in ("--generator", g)),
        "--dialogues-per-persona",
        "2",
        "--base-url",
        server.base_url,
        "--cache",
        str(tmp_path / "c"),
        "--max-personas",
        "3",
        "--out",
        str(tmp_path / out),
    ]


def test_synthesize_and_pairs_commands(personas_file, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    runner = CliRunner()
    with FakeOpenAIServer(handler) as server:
        r = runner.invoke(app, _synthesize_args(personas_file, server, tmp_path, "syn"))
        assert r.exit_code == 0, r.output
        assert "sub-personas" in r.output and "cost unknown" in r.output
        n = server.n_requests
        again = runner.invoke(
            app, ["--quiet", *_synthesize_args(personas_file, server, tmp_path, "syn2")]
        )
        assert again.exit_code == 0 and again.output == ""
        assert server.n_requests == n  # all from the cache: a rerun costs nothing
    a = pl.read_parquet(tmp_path / "syn" / "dialogues.parquet")
    assert a.equals(pl.read_parquet(tmp_path / "syn2" / "dialogues.parquet"))
    r = runner.invoke(
        app,
        [
            "align",
            "pairs",
            str(tmp_path / "syn" / "dialogues.parquet"),
            "--length-control",
            "ratio",
            "--out",
            str(tmp_path / "pairs"),
        ],
    )
    assert r.exit_code in (0, 3), r.output
    assert "pairs gap rule" in r.output
    assert (tmp_path / "pairs" / "data_card.md").is_file()
    for f in tmp_path.rglob("*"):
        if f.is_file():
            assert SECRET.encode() not in f.read_bytes(), f


def test_bad_inputs_exit_1_with_the_reason(tmp_path):
    runner = CliRunner()
    empty = tmp_path / "p.json"
    empty.write_text("[]")
    r = runner.invoke(
        app,
        [
            "align",
            "synthesize",
            str(empty),
            "--generator",
            "m",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert r.exit_code == 1 and "p.json holds no personas" in r.output
    d = tmp_path / "d.csv"
    pl.DataFrame({"persona_id": [1], "dialogue": ["P: hi"]}).write_csv(d)
    r = runner.invoke(
        app, ["align", "pairs", str(d), "--reward", "gpt5", "--out", str(tmp_path / "x")]
    )
    assert r.exit_code == 1 and "Unknown reward 'gpt5'" in r.output
    r = runner.invoke(app, ["align", "pairs", str(d), "--out", str(tmp_path / "x")])
    assert r.exit_code == 1 and "['prompt'] not found" in r.output
    # the judge reward without a judge model named --model, an option `align pairs` lacks
    r = runner.invoke(
        app,
        ["align", "pairs", str(d), "--reward", "judge", "--out", str(tmp_path / "x")],
        env={"CHATLENS_MODEL": ""},
    )
    assert r.exit_code == 1 and "pass --judge-model" in r.output, r.output
    # --served-name without a server was silently ignored (generated locally instead)
    r = runner.invoke(
        app,
        [
            "align",
            "evaluate",
            str(tmp_path),
            "--heldout",
            str(d),
            "--served-name",
            "1=ep1",
            "--out",
            str(tmp_path / "e"),
        ],
    )
    assert r.exit_code == 1 and "give --server-base-url" in r.output, r.output
    cfg = tmp_path / "run.yaml"
    cfg.write_text("model: m\nepochz: 3\n")
    (tmp_path / "pairs.jsonl").write_text("{}\n")
    r = runner.invoke(
        app,
        [
            "align",
            "train",
            "--config",
            str(cfg),
            "--pairs",
            str(tmp_path / "pairs.jsonl"),
            "--out",
            str(tmp_path / "run"),
        ],
    )
    assert r.exit_code == 1 and "epochz" in r.output


@pytest.mark.realdata
@pytest.mark.slow
def test_hal_scored_samples_give_pairs_dpo_trainer_accepts(shared_data, tmp_path):
    pytest.importorskip("trl", reason="needs the 'train' extra")
    files = sorted((shared_data / "hal" / "HAL16_output").glob("*/*/scored/*.csv"))
    assert len(files) == 12
    r = CliRunner().invoke(
        app,
        [
            "align",
            "pairs",
            *map(str, files),
            "--persona-column",
            "dialogue_id",
            "--reward",
            "hllite",
            "--length-control",
            "residual",
            "--out",
            str(tmp_path / "pairs"),
        ],
    )
    assert r.exit_code == 0, r.output
    card = json.loads((tmp_path / "pairs" / "data_card.json").read_text())
    before, after = card["before_length_control"], card["after"]
    # HL-lite under HAL's rule prefers the shorter dialogue; the residualised reward does not
    assert before["chosen_shorter_share"] > 0.5 > after["chosen_shorter_share"] - 0.02
    assert card["counts"]["pairs_final"] > 100 and card["counts"]["heldout_personas"] == 10
    # Qwen2.5-72B's epoch 0 and 10 files are copies of Llama-3.3-70B's (hal.md §5.2): kept once
    assert card["counts"]["dialogues_duplicate"] == 200
    from datasets import load_dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import DPOConfig, DPOTrainer

    ds = load_dataset("json", data_files=str(tmp_path / "pairs" / "pairs.jsonl"), split="train")
    assert ds.column_names == ["prompt", "chosen", "rejected"]
    small = ds.select(range(4))
    texts = [
        m["content"] for row in small for k in ("prompt", "chosen", "rejected") for m in row[k]
    ]
    base = build_tiny_chat_lm(tmp_path / "tiny", texts, vocab_size=4000, positions=4096)
    trainer = DPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(base),
        train_dataset=small,
        processing_class=AutoTokenizer.from_pretrained(base),
        args=DPOConfig(
            output_dir=str(tmp_path / "o"),
            max_steps=1,
            per_device_train_batch_size=2,
            max_length=3072,
            report_to=[],
            bf16=False,
            use_cpu=True,
            gradient_checkpointing=False,
            save_strategy="no",
            disable_tqdm=True,
        ),
    )
    out = trainer.train()
    assert out.global_step == 1


@pytest.mark.slow
def test_train_evaluate_export_commands(tmp_path):
    pytest.importorskip("trl", reason="needs the 'train' extra")
    flat = [
        {"persona_id": i, "prompt": f"Write a visit {i}.", "generator": g, "dialogue": text}
        for i in range(6)
        for g, text in (
            ("a", f"D: hi\nP: ya my knee hurts lol {i}"),
            ("b", f"D: Hello.\nP: Good afternoon, Doctor. My knee aches {i}."),
        )
    ]
    pl.DataFrame(flat).write_csv(tmp_path / "d.csv")
    runner = CliRunner()
    r = runner.invoke(
        app,
        [
            "align",
            "pairs",
            str(tmp_path / "d.csv"),
            "--heldout-fraction",
            "0.34",
            "--length-control",
            "none",
            "--no-balance",
            "--out",
            str(tmp_path / "p"),
        ],
    )
    assert r.exit_code == 0, r.output
    texts = [r["prompt"] for r in flat] + [r["dialogue"] for r in flat]
    base = build_tiny_chat_lm(tmp_path / "base", texts)
    (tmp_path / "run.yaml").write_text(
        f"model: {base}\nepochs: 1\nbatch_size: 2\nlearning_rate: 0.005\nmax_length: 256\n"
        "max_prompt_length: 64\nlora: {r: 2, alpha: 4, target_modules: [q_proj, v_proj]}\n"
    )
    r = runner.invoke(
        app,
        [
            "align",
            "train",
            "--config",
            str(tmp_path / "run.yaml"),
            "--pairs",
            str(tmp_path / "p"),
            "--out",
            str(tmp_path / "run"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "checkpoint-" in r.output and "loss on pairs" in r.output
    r = runner.invoke(
        app,
        [
            "--quiet",
            "align",
            "evaluate",
            str(tmp_path / "run"),
            "--heldout",
            str(tmp_path / "p" / "heldout_prompts.parquet"),
            "--max-new-tokens",
            "8",
            "--n-boot",
            "20",
            "--out",
            str(tmp_path / "eval"),
        ],
    )
    assert r.exit_code == 0 and r.output == "", r.output
    gens = tmp_path / "eval" / "generations"
    r = runner.invoke(
        app,
        [
            "align",
            "export-human-eval",
            str(gens / "epoch_00.parquet"),
            str(gens / "epoch_01.parquet"),
            "--out",
            str(tmp_path / "rate.csv"),
        ],
    )
    assert r.exit_code == 0, r.output
    # the raters' sheet names no model (it did: model_a/model_b beside the dialogues)
    sheet = pl.read_csv(tmp_path / "rate.csv")
    assert set(sheet.columns) == {"prompt_id", "prompt", "dialogue_a", "dialogue_b", "winner"}
    assert sheet.height == 2
    body = (tmp_path / "rate.csv").read_text(encoding="utf-8")
    assert "checkpoint-" not in body and str(tmp_path / "base") not in body
    key = pl.read_csv(tmp_path / "rate.key.csv")
    assert {"model_a", "model_b"} <= set(key.columns) and key.height == 2
    sheet.with_columns(pl.lit("model_b").alias("winner")).write_csv(tmp_path / "rated.csv")
    args = [
        "align",
        "unblind",
        str(tmp_path / "rated.csv"),
        "--key",
        str(tmp_path / "rate.key.csv"),
    ]
    r = runner.invoke(app, [*args, "--out", str(tmp_path / "in.csv")])
    assert r.exit_code == 0, r.output
    rated = pl.read_csv(tmp_path / "in.csv")
    assert rated["model_b"].to_list() == key["model_b"].to_list()
    assert rated["winner"].to_list() == ["model_b", "model_b"]
    r = runner.invoke(
        app,
        [
            "ratings",
            str(tmp_path / "in.csv"),
            "--out",
            str(tmp_path / "r.csv"),
            "--no-figures",
            "--bootstrap",
            "0",
        ],
    )
    assert r.exit_code == 0, r.output


def test_align_commands_default_like_their_functions():
    """`align evaluate` generated 512 new tokens by default and evaluate() 256: the same run
    evaluated from the CLI and from Python gave other completions and other numbers."""
    import inspect

    from chatlens.align.evaluate import evaluate
    from chatlens.align.export import export_human_eval
    from chatlens.align.steps import pairs_to
    from chatlens.align.synthesize import synthesize
    from chatlens.cli.align import pairs_command, synthesize_command
    from chatlens.cli.align_run import evaluate_command, export_command

    for command, function in (
        (evaluate_command, evaluate),
        (export_command, export_human_eval),
        (pairs_command, pairs_to),
        (synthesize_command, synthesize),
    ):
        api = inspect.signature(function).parameters
        for name, p in inspect.signature(command).parameters.items():
            if name in api and api[name].default is not inspect.Parameter.empty:
                cli = getattr(p.default, "default", p.default)
                assert cli == api[name].default, (command.__name__, name, cli, api[name].default)
