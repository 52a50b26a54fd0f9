"""Benchmark HL-lite scoring speed on one core; prints one JSON object.

Dialogues: the development Turing transcripts (``../shared/data/hal``) resampled to ``--rows``
rows when present, otherwise synthetic I:/W: chats. Polars is pinned to one thread
(``POLARS_MAX_THREADS=1``, set before polars is imported) so the figure is per core.

Usage: ``python benchmarks/bench_hllite.py [--rows 100000]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("POLARS_MAX_THREADS", "1")

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
TURING = ROOT.parent / "shared" / "data" / "hal" / "data" / "turing_test_data_full.csv"

_TURNS_H = ["hey", "lol idk", "im from ohio, u?", "nah not really", "Pretty good, just tired",
            "i work at a coffee shop lmao", "wait what", "haha yeah", "Idk man its late here"]
_TURNS_A = ["Hey! How's your day going?", "That's a great question—I'd say it depends.",
            "I'm a student, studying psychology. What about you?", "ngl pretty chill day tbh u?",
            "Absolutely! I love hiking and reading.", "sounds fun what do u do for work"]


def synthetic(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        pool = _TURNS_H if i % 2 else _TURNS_A
        k = int(rng.integers(2, 12))
        lines = []
        for _ in range(k):
            lines.append("I: " + str(rng.choice(_TURNS_H)))
            lines.append("W: " + str(rng.choice(pool)))
        out.append("\n".join(lines))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from chatlens.humanlike.lite import lite_score, load_lexicons, load_lite_model

    if TURING.is_file():
        base = pl.read_csv(TURING, infer_schema_length=0).get_column("conversation")
        reps = -(-args.rows // len(base))
        texts = pl.concat([base] * reps)[: args.rows]
        corpus = "turing_dev_resampled"
    else:
        texts = pl.Series("conversation", synthetic(args.rows))
        corpus = "synthetic"
    frame = pl.DataFrame({"conversation": texts})
    model, _ = load_lite_model(), load_lexicons()  # load outside the timed region
    t0 = time.perf_counter()
    out = lite_score(frame, text_column="conversation", speaker="W", model=model)
    wall = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    chars = int(frame.get_column("conversation").str.len_chars().sum())
    print(json.dumps({
        "benchmark": "hllite",
        "corpus": corpus,
        "rows": frame.height,
        "wall_s": round(wall, 3),
        "rows_per_s": round(frame.height / wall, 1),
        "dialogues_per_minute": round(60 * frame.height / wall),
        "mean_chars": round(chars / max(frame.height, 1), 1),
        "scored": int(out.get_column("hl_lite_logit").is_not_null().sum()),
        "threads": int(os.environ["POLARS_MAX_THREADS"]),
        "peak_rss_mb": round(rss_mb, 1),
    }))


if __name__ == "__main__":
    main()
