"""Benchmark DPO training throughput (pairs/s) on this CPU for a tiny chat LM; prints JSON.

The model is chatlens's offline test model (2-layer Llama, hidden 32, byte-level BPE, random
weights: :func:`chatlens.align.testing.build_tiny_chat_lm`), LoRA r=8 on all attention and MLP
projections, trained with ``chatlens.align.train`` (TRL DPOTrainer) for ``--epochs`` over
``--pairs`` synthetic preference pairs of ~``--words`` words each. The figure measures the
pipeline's overhead and TRL's per-step cost on this machine; a real model's throughput is set by
its size (see the README's figures for a 1B model).

Usage: ``python benchmarks/bench_align_train.py [--pairs 64] [--epochs 2] [--words 120]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import emit, peak_rss_mb


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pairs", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--words", type=int, default=120)
    ap.add_argument("--batch-size", type=int, default=8)
    args = ap.parse_args()

    from chatlens._progress import set_quiet
    from chatlens.align.testing import build_tiny_chat_lm
    from chatlens.align.train import train

    set_quiet(True)
    casual = "ya my knee hurts lol idk".split()
    formal = "I have been experiencing considerable discomfort in my knee recently".split()

    def dialogue(words: list[str], i: int) -> str:
        turns = [" ".join(words[(i + j) % len(words):] + words[: (i + j) % len(words)])
                 for j in range(max(1, args.words // (2 * len(words))))]
        return "\n".join(f"D: How are you?\nP: {t}" for t in turns)

    rows = [{"prompt": [{"role": "user", "content": f"Write a visit for persona {i}."}],
             "chosen": [{"role": "assistant", "content": dialogue(casual, i)}],
             "rejected": [{"role": "assistant", "content": dialogue(formal, i)}]}
            for i in range(args.pairs)]
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "pairs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
        texts = [m["content"] for r in rows for k in ("prompt", "chosen", "rejected") for m in r[k]]
        t0 = time.perf_counter()
        base = build_tiny_chat_lm(d / "base", texts)
        build_s = time.perf_counter() - t0
        cfg = {"model": str(base), "method": "dpo", "epochs": args.epochs,
               "batch_size": args.batch_size, "grad_accum": 1, "learning_rate": 5e-3,
               "max_length": 1024, "max_prompt_length": 128, "eval_on_pairs": False,
               "lora": {"r": 8, "alpha": 16, "dropout": 0.0,
                        "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                                           "up_proj", "down_proj"]}}
        t0 = time.perf_counter()
        res = train(cfg, pairs=d, out=d / "run")
        wall = time.perf_counter() - t0
    emit({
        "benchmark": "align_dpo_train_tiny",
        "pairs": args.pairs, "epochs": args.epochs, "words_per_completion": args.words,
        "batch_size": args.batch_size,
        "train_runtime_s": round(res.runtime_s, 2),
        "pairs_per_s": round(args.pairs * args.epochs / res.runtime_s, 2),
        "wall_s_including_load_and_tokenising": round(wall, 2),
        "model_build_s": round(build_s, 2),
        "loss_by_epoch": {k: round(v, 4) for k, v in res.losses_by_epoch().items()},
        "peak_rss_mb": peak_rss_mb(),
    })


if __name__ == "__main__":
    main()
