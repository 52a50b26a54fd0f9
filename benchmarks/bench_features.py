"""Benchmark: chatlens.features.conversation_features on the synthetic LMSYS-shaped corpus.

The features layer is fed the corpus' ground-truth refusal/jailbreak columns (the signals layer is
benchmarked separately), so this measures only windowing, reactions (similarity + cue lexicons),
abandonment, jailbreak timing and follow-up affect (VADER on follow-ups only).

Prints ONE JSON object: wall_s (conversation_features, default profile), peak_rss_mb, rows
(messages in), rows_per_s, conversations, conversations_per_s, plus the legacy profile and
user_reactions timings.

Usage::

    .venv/bin/python benchmarks/bench_features.py                 # 100k conversations
    .venv/bin/python benchmarks/bench_features.py -n 1000000 --path /tmp/synth1m.parquet
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import emit, peak_rss_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--conversations", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--path", default=None, help="reuse (or write) the synthetic corpus here")
    args = parser.parse_args()

    import polars as pl

    import chatlens
    from chatlens.features import conversation_features, user_reactions
    from chatlens.synth import sidecar_paths, synth

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.path) if args.path else Path(tmp) / "bench.parquet"
        t0 = time.perf_counter()
        if not path.exists():
            synth(args.conversations, seed=args.seed, out=path)
        synth_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        corpus = chatlens.read(path)
        truth = pl.read_parquet(
            sidecar_paths(path)[0],
            columns=["conversation_id", "message_index", "refusal", "refusal_type",
                     "refusal_partial", "jailbreak"],
        )
        msgs = corpus.messages.join(truth, on=["conversation_id", "message_index"], how="left")
        read_s = time.perf_counter() - t0
        del truth
        t0 = time.perf_counter()
        feats = conversation_features(msgs, corpus.conversations)
        wall = time.perf_counter() - t0
        t0 = time.perf_counter()
        legacy = conversation_features(msgs, corpus.conversations, profile="legacy")
        legacy_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        reactions = user_reactions(msgs, corpus.conversations)
        reactions_s = time.perf_counter() - t0
        emit(
            {
                "benchmark": "features.conversation_features",
                "wall_s": round(wall, 2),
                "peak_rss_mb": peak_rss_mb(),
                "rows": msgs.height,
                "rows_per_s": round(msgs.height / wall),
                "conversations": feats.height,
                "conversations_per_s": round(feats.height / wall),
                "refused_conversations": int(feats["has_refusal"].sum()),
                "reactions": reactions.height,
                "user_reactions_s": round(reactions_s, 2),
                "legacy_profile_s": round(legacy_s, 2),
                "legacy_rows": legacy.height,
                "read_and_join_s": round(read_s, 2),
                "synth_s": round(synth_s, 2),
                "polars_threads": pl.thread_pool_size(),
            }
        )


if __name__ == "__main__":
    main()
