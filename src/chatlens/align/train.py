"""``chatlens align train``: DPO (or GRPO with HL-lite) with LoRA, a checkpoint per epoch.

* the model's **chat template** is applied (TRL's conversational format); a model without one
  needs ``chat_template`` in the config — HAL trained instruct models on raw text (§7.6);
* ``max_length``/``max_prompt_length`` are explicit and the examples over them are **counted**
  (and dropped with ``drop_truncated: true``), where HAL silently truncated;
* a **checkpoint per epoch**, each with ``chatlens_checkpoint.json`` (epoch, step, weights
  fingerprint, config hash, pairs hash); a rerun **resumes** from the last checkpoint, refusing
  checkpoints made with another config or other pairs;
* torch/transformers/TRL/PEFT are imported here only (extra ``train``).

Multi-GPU: ``accelerate launch --config_file docs/examples/align/accelerate-ddp-4gpu.yaml
"$(which chatlens)" align train ...`` (see docs/align.md); only the main process writes the log,
the checkpoint records and the manifest.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatlens._progress import status
from chatlens.align.checkpoints import (
    CHECKPOINT_RECORD,
    LOG,
    check_resumable,
    list_checkpoints,
    make_callback,
)
from chatlens.align.provenance import (
    Provenance,
    file_sha256,
    weights_fingerprint,
    write_provenance,
)
from chatlens.align.train_config import (
    as_dict,
    dpo_args,
    grpo_args,
    load_train_config,
    lora_config,
    quantization,
    train_config_hash,
)
from chatlens.align.train_data import (
    apply_length_limits,
    control_token_kwargs,
    load_pairs,
    load_tokenizer,
    pairs_file,
)
from chatlens.datafiles.schemas import AlignTrainConfig
from chatlens.errors import InvalidParameterError, MissingExtraError, ProvenanceError

__all__ = [
    "CHECKPOINT_RECORD",
    "MANIFEST",
    "TrainResult",
    "list_checkpoints",
    "load_pairs",
    "train",
]

MANIFEST = "train_manifest.json"


def _require_train() -> None:
    import importlib.util

    missing = [
        m
        for m in ("torch", "transformers", "trl", "peft", "datasets")
        if importlib.util.find_spec(m) is None
    ]
    if missing:
        extra, feature = "train", f"chatlens align train (missing: {', '.join(missing)})"
        raise MissingExtraError(extra, feature)


def quiet_hf_bars() -> None:
    """Switch off the progress bars of datasets and transformers (tokenising, loading)."""
    import datasets
    import transformers

    datasets.utils.logging.disable_progress_bar()
    transformers.utils.logging.disable_progress_bar()


@dataclass(frozen=True)
class TrainResult:
    """What a run produced: checkpoints per epoch, losses, truncation counts, throughput."""

    out: Path
    method: str
    config_hash: str
    checkpoints: list[dict[str, Any]]
    log: list[dict[str, Any]]
    truncation: dict[str, int]
    n_examples: int
    resumed_from: str | None
    runtime_s: float
    extra: dict[str, Any] = field(default_factory=dict)

    def losses_by_epoch(self) -> dict[int, float]:
        """Mean training loss of the steps logged in each (1-based) epoch."""
        import math

        acc: dict[int, list[float]] = {}
        for h in self.log:
            if "loss" in h and "epoch" in h:
                acc.setdefault(max(1, math.ceil(h["epoch"] - 1e-9)), []).append(float(h["loss"]))
        return {e: sum(v) / len(v) for e, v in sorted(acc.items())}

    def eval_loss_by_epoch(self) -> dict[int, float]:
        """DPO loss over all training pairs after each epoch (``eval_on_pairs``)."""
        return {round(h["epoch"]): float(h["eval_loss"]) for h in self.log if "eval_loss" in h}


def train(
    config: str | Path | AlignTrainConfig | dict[str, Any],
    *,
    pairs: str | Path,
    out: str | Path,
    resume: bool = True,
    callbacks: list[Any] | None = None,
) -> TrainResult:
    """Train with the config's method on the pairs (GRPO uses their prompts); see module doc.

    ``callbacks`` are extra ``transformers.TrainerCallback`` objects (e.g. early stopping).
    """
    _require_train()
    cfg = load_train_config(config)
    chash = train_config_hash(cfg)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    pfile = pairs_file(pairs)
    rows = load_pairs(pfile)
    pairs_sha = file_sha256(pfile)
    # the config names the base model by path or hub id: its weights are recorded, so resuming
    # and evaluating on another model saved under the same name is caught
    base_weights = weights_fingerprint(cfg.model)
    last = check_resumable(out, chash, pairs_sha, base_weights) if resume else None
    if not resume and (out / "checkpoints").exists() and any((out / "checkpoints").iterdir()):
        msg = f"{out}/checkpoints is not empty; --no-resume needs a fresh --out directory."
        raise InvalidParameterError(msg)

    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, PrinterCallback, ProgressCallback, set_seed

    quiet_hf_bars()  # the library draws its own bar (chatlens._progress); none from HF

    tok = load_tokenizer(cfg)
    if cfg.method == "grpo":
        seen: dict[str, list[dict[str, str]]] = {}
        for r in rows:
            seen.setdefault(json.dumps(r["prompt"], sort_keys=True), r["prompt"])
        rows = [{"prompt": p} for p in seen.values()]
    n_in = len(rows)
    rows, truncation = apply_length_limits(tok, rows, cfg)
    if not rows:
        msg = "Every example exceeds max_length/max_prompt_length; nothing left to train on."
        raise InvalidParameterError(msg)
    if truncation["examples_dropped"]:
        why = ("over the length limits (drop_truncated)" if cfg.drop_truncated else
               f"the prompt alone fills max_length ({cfg.max_length} tokens), leaving no room "
               "for an answer")
        status(f"{truncation['examples_dropped']} of {n_in} examples dropped: {why}")
    if truncation["examples_truncated"]:
        status(f"{truncation['examples_truncated']} of {n_in} examples exceed the length limits "
               f"and are truncated by TRL: {truncation}")
    use_cpu = not torch.cuda.is_available()
    set_seed(cfg.seed)  # LoRA's random init happens before the Trainer seeds: same seed, same init
    model = AutoModelForCausalLM.from_pretrained(cfg.model, **quantization(cfg))
    if cfg.load_in_4bit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=cfg.gradient_checkpointing
        )
    ckpt_dir = out / "checkpoints"
    # control tokens inside the text ("<|im_start|>", "</s>") are encoded as text, not as turn
    # markers: TRL passes a row's chat_template_kwargs (DPO) or the config's (GRPO) through
    sanitize = control_token_kwargs(tok)
    if cfg.method == "dpo" and sanitize:
        rows = [{**r, "chat_template_kwargs": sanitize} for r in rows]
    dataset = Dataset.from_list(rows)
    if cfg.method == "dpo":
        from trl import DPOTrainer

        args, dropped = dpo_args(cfg, ckpt_dir, use_cpu=use_cpu)
        trainer = DPOTrainer(
            model=model,
            args=args,
            train_dataset=dataset,
            eval_dataset=dataset if cfg.eval_on_pairs else None,
            processing_class=tok,
            peft_config=lora_config(cfg),
        )
    else:
        from trl import GRPOTrainer

        from chatlens.align.grpo_reward import make_reward_function

        g = cfg.grpo
        args, dropped = grpo_args(cfg, ckpt_dir, use_cpu=use_cpu, chat_template_kwargs=sanitize)
        reward = make_reward_function(
            speaker=g.speaker,
            length_penalty=g.length_penalty,
            length_target_words=g.length_target_words,
            no_turn_reward=g.no_turn_reward,
        )
        trainer = GRPOTrainer(
            model=model,
            reward_funcs=reward,
            args=args,
            train_dataset=dataset,
            processing_class=tok,
            peft_config=lora_config(cfg),
        )
    for cb in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(cb)
    steps_per_epoch = max(1, -(-len(trainer.get_train_dataloader()) // cfg.grad_accum))
    trainer.add_callback(
        make_callback(out, cfg, chash, pairs_sha, steps_per_epoch * cfg.epochs, base_weights)
    )
    for cb in callbacks or []:
        trainer.add_callback(cb)
    if last is not None and (out / LOG).is_file():  # drop log lines past the resumed checkpoint
        step = int(Path(last).name.split("-")[-1])
        kept = [r for r in read_log(out / LOG) if r.get("step", 0) <= step]
        (out / LOG).write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
    elif last is None and (out / LOG).is_file():
        (out / LOG).unlink()
    t0 = time.perf_counter()
    trainer.train(resume_from_checkpoint=last)
    runtime = time.perf_counter() - t0
    if not trainer.is_world_process_zero():
        return TrainResult(out, cfg.method, chash, [], [], truncation, len(rows), last, runtime)
    ckpts = list_checkpoints(out)
    log = read_log(out / LOG)
    result = TrainResult(
        out,
        cfg.method,
        chash,
        ckpts,
        log,
        truncation,
        len(rows),
        last,
        runtime,
        extra={"not_supported_by_installed_trl": dropped, "base_weights": base_weights},
    )
    write_manifest(result, cfg, pairs_sha, pfile)
    return result


def read_log(path: Path) -> list[dict[str, Any]]:
    """The JSONL training log; a last line cut off by a killed job is left out (the resumed run
    logs that step again), any other unreadable line is a :class:`ProvenanceError`."""
    lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
    rows = []
    for i, ln in enumerate(lines, start=1):
        try:
            rows.append(json.loads(ln))
        except ValueError:
            if i == len(lines):
                break
            msg = f"{path}, line {i}: not valid JSON; the training log was edited or damaged."
            raise ProvenanceError(msg) from None
    return rows


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("torch", "transformers", "trl", "peft", "accelerate", "datasets"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "absent"
    return out


def write_manifest(
    result: TrainResult, cfg: AlignTrainConfig, pairs_sha: str, pairs_path: Path | None = None
) -> Path:
    """``train_manifest.json``: config, versions, checkpoints per epoch, losses, truncation, and
    the pairs file (``evaluate`` reads its prompts to check that held-out ones were not trained
    on)."""
    path = result.out / MANIFEST
    done = sum(1 for h in result.log if "loss" in h) if result.log else 0
    body = {
        "method": result.method,
        "model": cfg.model,
        "config_hash": result.config_hash,
        "config": as_dict(cfg),
        "pairs_sha256": pairs_sha,
        "pairs_file": str(pairs_path.resolve()) if pairs_path is not None else None,
        "versions": _versions(),
        "examples": result.n_examples,
        "truncation": result.truncation,
        "checkpoints": result.checkpoints,
        "loss_by_epoch": result.losses_by_epoch(),
        "pairs_loss_by_epoch": result.eval_loss_by_epoch(),
        "resumed_from": result.resumed_from,
        "runtime_s": round(result.runtime_s, 3),
        "logged_steps": done,
        **result.extra,
    }
    path.write_text(json.dumps(body, indent=2, default=str) + "\n", encoding="utf-8")
    last = result.checkpoints[-1] if result.checkpoints else {}
    write_provenance(
        path,
        Provenance(
            "train-manifest",
            model=cfg.model,
            checkpoint=last.get("path"),
            epoch=last.get("epoch"),
            weights=last.get("weights"),
            config_hash=result.config_hash,
            inputs={"pairs": pairs_sha},
        ),
    )
    return path
