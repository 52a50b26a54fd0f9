"""Benchmark: the refusal scan over assistant messages of the synthetic LMSYS-shaped corpus.

Measures per core (polars limited to one thread): the full ``detect_refusal`` (normalise, mask,
hyperscan, score, cue lists), the scanner alone and the legacy profile (10 regexes), on every
assistant message of a corpus written by ``chatlens.synth.synth``; also the agreement with
the corpus' ground-truth sidecar. Both the default two-tier scan (literal prefilter) and the
one-pass reference scan (``prefilter=False``) are timed, and their outputs compared (they must be
identical); ``prefilter`` reports the share of messages that pass the literal prefilter.
Times are the best of ``--repeat`` runs, wall clock and process CPU.
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

    import numpy as np
    import polars as pl

    from chatlens._progress import set_quiet
    from chatlens.signals.refusal import detect_refusal, refusal_cue_set
    from chatlens.signals.text import prepare_series
    from chatlens.synth import synth

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

    def best_of(fn, repeat):
        wall, cpu, result = float("inf"), float("inf"), None
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            result = fn()
            wall = min(wall, time.perf_counter() - t0)
            cpu = min(cpu, time.process_time() - c0)
        return wall, cpu, result

    t0 = time.perf_counter()
    cues = refusal_cue_set()  # compile once, outside the timing (a process pays it once)
    compile_s = time.perf_counter() - t0
    reference_cues = refusal_cue_set(prefilter=False)
    detect_refusal(texts.head(1000))
    detect_refusal(texts.head(1000), prefilter=False)

    best, cpu, out = best_of(lambda: detect_refusal(texts), args.repeat)
    ref_best, ref_cpu, ref_out = best_of(lambda: detect_refusal(texts, prefilter=False),
                                         args.repeat)
    prepare_s, prepare_cpu, prepared = best_of(lambda: prepare_series(texts), args.repeat)
    scan_s, scan_cpu, hits = best_of(lambda: cues.hits(prepared), args.repeat)
    ref_scan_s, ref_scan_cpu, ref_hits = best_of(lambda: reference_cues.hits(prepared),
                                                 args.repeat)
    identical = out.equals(ref_out) and all(
        np.array_equal(a, b) for a, b in zip(
            (hits.message, hits.cue, hits.offset),
            (ref_hits.message, ref_hits.cue, ref_hits.offset), strict=True))
    passed = cues.scanner.candidates(prepared)

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
        "cpu_s": round(cpu, 3),
        "rows_per_cpu_s": round(n / cpu),
        "reference_wall_s": round(ref_best, 3),
        "reference_rows_per_s": round(n / ref_best),
        "reference_rows_per_cpu_s": round(n / ref_cpu),
        "outputs_identical_to_reference": identical,
        "prepare_s": round(prepare_s, 3),
        "prepare_rows_per_cpu_s": round(n / prepare_cpu),
        "scan_only_s": round(scan_s, 3),
        "scan_only_rows_per_s": round(n / scan_s),
        "scan_only_rows_per_cpu_s": round(n / scan_cpu),
        "reference_scan_only_s": round(ref_scan_s, 3),
        "reference_scan_only_rows_per_s": round(n / ref_scan_s),
        "reference_scan_only_rows_per_cpu_s": round(n / ref_scan_cpu),
        "prefilter": {
            "share_passing": round(float(passed.mean()), 4),
            "patterns": len(cues.scanner.expressions),
            "patterns_always_scanned": len(cues.scanner.always),
            "literals": len(cues.scanner.literals),
            "compile_s": round(compile_s, 2),
        },
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
