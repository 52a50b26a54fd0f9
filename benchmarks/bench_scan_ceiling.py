"""Benchmark: how fast can the refusal lexicon be scanned at all? (the evidence behind issue 3)

Issue 3 asks for >= 500k assistant messages/s per core for the refusal scan. At the synthetic
corpus' ~775 bytes per message that is ~390 MB/s per core, normalisation included. This script
measures the ceilings that decide whether any arrangement of the current lexicon can get there,
on the assistant messages of a synthetic corpus, one polars thread:

* ``engine``: hyperscan scanning the already-normalised, already-joined buffer with every
  refusal pattern in ONE database (no prefilter, no attribution, no Python besides the match
  callback): the raw engine rate for this lexicon; also per cue kind (each kind alone) and a
  one-literal database (the memory-bandwidth floor of a scan);
* ``normalise``: the text passes any exact scan of the lexicon needs before matching (lower-case
  alone; the full ``prepare_series`` with masking), and joining the buffer;
* ``positive``: the share of messages (and of bytes) in which a cue with positive weight fires;
  only those can be refusals or carry a disclaimer, so even a perfect screen would have to send
  them through the full scan.

Prints ONE JSON object: wall_s (whole run), peak_rss_mb, rows, plus the rates (MB/s and
messages/s equivalents) and ``required_mb_per_s`` for the 500k target.

Usage::

    .venv/bin/python benchmarks/bench_scan_ceiling.py            # 50k conversations
    .venv/bin/python benchmarks/bench_scan_ceiling.py -n 100000
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

TARGET = 500_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--conversations", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2, help="timed repetitions (best is kept)")
    args = parser.parse_args()

    import numpy as np
    import polars as pl

    from chatlens._progress import set_quiet
    from chatlens.signals.refusal import analyse_refusal, refusal_cue_set
    from chatlens.signals.scanner import Scanner, _run
    from chatlens.signals.text import prepare_series
    from chatlens.synth import synth

    set_quiet(True)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="bench_ceiling_"))
    try:
        res = synth(args.conversations, seed=args.seed, out=tmp / "synth.parquet")
        texts = (
            pl.read_parquet(res.path, columns=["conversation"])
            .explode("conversation").unnest("conversation")
            .filter(pl.col("role") == "assistant")["content"]
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    n = len(texts)
    n_bytes = int(texts.str.len_bytes().sum())

    def best(fn):
        wall, out = float("inf"), None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = fn()
            wall = min(wall, time.perf_counter() - t0)
        return wall, out

    def rates(seconds: float, size: int = n_bytes) -> dict:
        return {"s": round(seconds, 3), "mb_per_s": round(size / seconds / 1e6, 1),
                "messages_per_s": round(n * (size / n_bytes) / seconds)}

    lower_s, _ = best(lambda: texts.str.to_lowercase())
    prepare_s, prepared = best(lambda: prepare_series(texts))
    join_s, buffer = best(
        lambda: b"\x00\n" + prepared.str.join("\n\x00\x00\n").cast(pl.Binary).item() + b"\n\x00")

    cues = refusal_cue_set(prefilter=False)
    one_pass_s, _ = best(lambda: _run(cues.scanner._db, buffer))
    kinds = np.asarray([cues.cues[c].kind for c in cues.pattern_cue])
    per_kind = {}
    for kind in sorted(set(kinds.tolist())):
        idx = np.flatnonzero(kinds == kind)
        sub = Scanner([(cues.scanner.raw_patterns[i], cues.cues[cues.pattern_cue[i]].boundaries)
                       for i in idx], names=[cues.scanner.names[i] for i in idx])
        seconds, _ = best(lambda sub=sub: _run(sub._db, buffer))
        per_kind[kind] = {"patterns": len(idx), **rates(seconds)}
    floor = Scanner([("zq\\x{00e9}xj", False)])
    floor_s, _ = best(lambda: _run(floor._db, buffer))

    analysis = analyse_refusal(texts)
    weights = analysis.cues.weight[analysis.hits.cue]
    positive = np.zeros(n, dtype=bool)
    positive[analysis.hits.message[weights > 0]] = True
    lengths = texts.str.len_bytes().to_numpy()

    required = TARGET * n_bytes / n / 1e6
    emit({
        "benchmark": "scan_ceiling",
        "wall_s": round(time.perf_counter() - started, 1),
        "peak_rss_mb": peak_rss_mb(),
        "rows": n,
        "bytes": n_bytes,
        "mean_bytes_per_message": round(n_bytes / n, 1),
        "target_messages_per_s": TARGET,
        "required_mb_per_s": round(required, 1),
        "patterns": len(cues.scanner.expressions),
        "engine_one_pass_all_patterns": rates(one_pass_s, len(buffer)),
        "engine_per_kind": per_kind,
        "engine_one_literal_floor": rates(floor_s, len(buffer)),
        "normalise_lowercase_only": rates(lower_s),
        "normalise_prepare_series": rates(prepare_s),
        "join_buffer": rates(join_s),
        "positive": {
            "message_share": round(float(positive.mean()), 4),
            "byte_share": round(float(lengths[positive].sum() / n_bytes), 4),
            "refusal_share": round(float(analysis.scores["refusal"].mean()), 4),
        },
        "conversations": args.conversations,
        "polars_threads": pl.thread_pool_size(),
    })


if __name__ == "__main__":
    main()
