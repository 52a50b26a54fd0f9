"""Benchmark: the refusal encoder tier against the default context tier on real replies.

Why: the encoder tier is opt-in because it is slow; its docs quote replies per second, and a user
deciding whether ``--profile encoder`` fits their log needs the measured cost, not a guess. The
replies are the assistant messages of real logs read with ``chatlens.read`` (default: the
ShareGPT and LMSYS development files), each with the user message before it, tiled to
``--rows``. Both tiers run the same screen; the encoder scores only the replies the context model
reads. Times are wall seconds of one run each, after a warm-up on 50 replies (model loading is
reported apart).

Prints ONE JSON object: rows, replies the encoder read, seconds and rows/s of each tier, model
load seconds, peak RSS, torch threads.

Usage::

    .venv/bin/python benchmarks/bench_refusal_encoder.py [--rows 2000] [--real FILE ...]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("POLARS_MAX_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import emit, peak_rss_mb

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REAL = (ROOT.parent / "shared" / "data" / "real-logs-dev" / "sharegpt_dev.jsonl",
                ROOT.parent / "shared" / "data" / "real-logs-dev" / "lmsys_dev.jsonl")


def _pairs(paths: list[Path], rows: int):
    import polars as pl

    import chatlens

    parts = []
    for path in paths:
        m = chatlens.read(str(path)).messages
        m = m.collect() if isinstance(m, pl.LazyFrame) else m
        m = m.sort("conversation_id", "message_index").with_columns(
            request=pl.when((pl.col("role").shift(1) == "user")
                            & (pl.col("conversation_id").shift(1) == pl.col("conversation_id")))
            .then(pl.col("content").shift(1)))
        parts.append(m.filter(pl.col("role") == "assistant").select("content", "request"))
    frame = pl.concat(parts)
    reps = max(1, -(-rows // frame.height))
    return pl.concat([frame] * reps).head(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--real", type=Path, action="append")
    args = parser.parse_args()

    import numpy as np
    import torch

    from chatlens._progress import set_quiet
    from chatlens.signals.refusal_encoder import load_encoder
    from chatlens.signals.refusal_model import detect_refusal_in_context

    set_quiet(True)
    paths = args.real or [p for p in DEFAULT_REAL if p.is_file()]
    frame = _pairs(paths, args.rows)
    t = time.perf_counter()
    encoder = load_encoder()
    load_s = time.perf_counter() - t
    warm = frame.head(50)
    detect_refusal_in_context(warm["content"], warm["request"], encoder=encoder)
    calls = []
    predict = encoder.predict_proba

    def counting(responses, requests=None, **kw):
        calls.append(len(responses))
        return predict(responses, requests, **kw)

    encoder.predict_proba = counting
    t = time.perf_counter()
    plain = detect_refusal_in_context(frame["content"], frame["request"])
    context_s = time.perf_counter() - t
    t = time.perf_counter()
    blended = detect_refusal_in_context(frame["content"], frame["request"], encoder=encoder)
    encoder_s = time.perf_counter() - t
    read = int(np.sum(calls))
    emit({
        "benchmark": "refusal_encoder",
        "input": [str(p) for p in paths],
        "rows": frame.height,
        "replies_read_by_encoder": read,
        "context_s": round(context_s, 2),
        "context_rows_per_s": round(frame.height / context_s, 1),
        "encoder_tier_s": round(encoder_s, 2),
        "encoder_tier_rows_per_s": round(frame.height / encoder_s, 1),
        "encoder_replies_per_s": round(read / max(encoder_s - context_s, 1e-9), 1),
        "model_load_s": round(load_s, 2),
        "refusals": {"context": int(plain["refusal"].sum()), "encoder": int(blended["refusal"].sum())},
        "torch_threads": torch.get_num_threads(),
        "peak_rss_mb": peak_rss_mb(),
    })


if __name__ == "__main__":
    main()
