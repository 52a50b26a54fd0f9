"""Benchmark: the refusal scan over assistant messages of the synthetic LMSYS-shaped corpus.

Measures per core (polars limited to one thread): the full ``detect_refusal`` (normalise, mask,
hyperscan, score, cue lists), the scanner alone and the legacy profile (10 regexes), on every
assistant message of a corpus written by ``chatlens.corpus.synth.synth``; also the agreement with
the corpus' ground-truth sidecar.
Target (issue 3): >= 500k assistant messages/s per core for the refusal scan.

Prints ONE JSON object: wall_s, peak_rss_mb, rows, rows_per_s, plus specifics.

Usage::

    .venv/bin/python benchmarks/bench_refusal_scan.py              # 100k conversations
    .venv/bin/python benchmarks/bench_refusal_scan.py -n 1000000
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("POLARS_MAX_THREADS", "1")  # per-core numbers
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import emit, peak_rss_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--conversations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions (best is kept)")
    args = parser.parse_args()

    import polars as pl

    from chatlens._progress import set_quiet
    from chatlens.corpus.synth import synth
    from chatlens.signals.refusal import detect_refusal, refusal_cue_set
    from chatlens.signals.text import prepare_series

    set_quiet(True)
    tmp = Path(tempfile.mkdtemp(prefix="bench_refusal_"))
    try:
        res = synth(args.conversations, seed=args.seed, out=tmp / "synth.parquet")
        messages = (
            pl.read_parquet(res.path, columns=["conversation_id", "conversation"])
            .explode("conversation")
            .with_columns(message_index=pl.int_range(pl.len()).over("conversation_id").cast(pl.Int32))
            .unnest("conversation")
        )
        truth = pl.read_parquet(res.truth_path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    assistant = messages.filter(pl.col("role") == "assistant")
    texts = assistant["content"]
    n = len(texts)
    mean_chars = float(texts.str.len_chars().mean() or 0)

    refusal_cue_set()  # compile once, outside the timing (a process pays it once: ~1 s)
    detect_refusal(texts.head(1000))

    best = float("inf")
    out = None
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        out = detect_refusal(texts)
        best = min(best, time.perf_counter() - t0)

    prepared = prepare_series(texts)
    cues = refusal_cue_set()
    t0 = time.perf_counter()
    cues.hits(prepared)
    scan_s = time.perf_counter() - t0

    detect_refusal(texts.head(1000), profile="legacy")
    t0 = time.perf_counter()
    detect_refusal(texts, profile="legacy")
    legacy_s = time.perf_counter() - t0

    joined = assistant.select("conversation_id", "message_index").with_columns(
        pred=out["refusal"]
    ).join(truth.select("conversation_id", "message_index", "refusal"),
           on=["conversation_id", "message_index"], how="inner")
    tp = int((joined["pred"] & joined["refusal"]).sum())
    fp = int((joined["pred"] & ~joined["refusal"]).sum())
    fn = int((~joined["pred"] & joined["refusal"]).sum())
    emit({
        "benchmark": "refusal_scan",
        "wall_s": round(best, 3),
        "peak_rss_mb": peak_rss_mb(),
        "rows": n,
        "rows_per_s": round(n / best),
        "scan_only_s": round(scan_s, 3),
        "scan_only_rows_per_s": round(n / scan_s),
        "legacy_profile_s": round(legacy_s, 3),
        "legacy_profile_rows_per_s": round(n / legacy_s),
        "mean_chars_per_message": round(mean_chars, 1),
        "mb_per_s": round(float(texts.str.len_bytes().sum()) / best / 1e6, 1),
        "conversations": args.conversations,
        "polars_threads": pl.thread_pool_size(),
        "target_rows_per_s": 500_000,
        "truth_agreement": {
            "n": joined.height, "tp": tp, "fp": fp, "fn": fn,
            "precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "recall": round(tp / (tp + fn), 4) if tp + fn else None,
        },
    })


if __name__ == "__main__":
    main()
