"""Benchmark: the learned jailbreak tier over user messages, next to the rule tier it builds on.

Why: ``analyze`` has a budget of ~1M conversations in 34 s on 2 cores; the learned tier may only
become a default if its extra cost fits. It runs the rule tier (whose cue lists it reuses), then
the screen, then featurizes and scores the candidates only, so the measured extra is
``learned_extra_s`` = learned total − rules. Messages: the user messages of a synthetic
LMSYS-shaped corpus (``chatlens.synth``), or with ``--real FILE`` (repeatable) the user messages
of real logs read with ``chatlens.read``, tiled to ``--rows``. Polars is limited to one thread
(per-core numbers); times are the best of ``--repeat`` runs.

Prints ONE JSON object: rows, rules/learned wall and rows/s, screen pass rate, flag rates.

Usage::

    .venv/bin/python benchmarks/bench_jailbreak_learned.py              # 20k conversations
    .venv/bin/python benchmarks/bench_jailbreak_learned.py --real ../shared/data/real-logs-dev/sharegpt_dev.jsonl
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


def _user_messages(args: argparse.Namespace):
    import polars as pl

    import chatlens
    from chatlens.synth import synth

    if args.real:
        parts = []
        for path in args.real:
            m = chatlens.read(str(path)).messages
            m = m.collect() if isinstance(m, pl.LazyFrame) else m
            parts.append(m.filter(pl.col("role") == "user")["content"])
        texts = pl.concat(parts)
        reps = max(1, -(-args.rows // len(texts)))
        return pl.concat([texts] * reps).head(args.rows), "real: " + ", ".join(map(str, args.real))
    tmp = Path(tempfile.mkdtemp(prefix="bench_jailbreak_"))
    try:
        res = synth(args.conversations, seed=0, out=tmp / "synth.parquet")
        messages = (pl.read_parquet(res.path, columns=["conversation"]).explode("conversation")
                    .unnest("conversation"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return messages.filter(pl.col("role") == "user")["content"], f"synth: {args.conversations} conversations"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--conversations", type=int, default=20_000)
    parser.add_argument("--real", type=Path, action="append", help="real log file (repeatable)")
    parser.add_argument("--rows", type=int, default=50_000, help="rows when tiling --real messages")
    parser.add_argument("--repeat", type=int, default=2, help="timed repetitions (best is kept)")
    args = parser.parse_args()

    from chatlens._progress import set_quiet
    from chatlens.signals.jailbreak import detect_jailbreak
    from chatlens.signals.jailbreak_learned import detect_jailbreak_learned, load_weights, screen

    set_quiet(True)
    texts, source = _user_messages(args)
    n = len(texts)
    load_weights()
    detect_jailbreak_learned(texts.head(500))  # compile scanners and regexes outside the timing

    def best_of(fn):
        wall, result = float("inf"), None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            result = fn()
            wall = min(wall, time.perf_counter() - t0)
        return wall, result

    rules_s, rules = best_of(lambda: detect_jailbreak(texts))
    learned_s, learned = best_of(lambda: detect_jailbreak_learned(texts))
    screen_s, passed = best_of(lambda: screen(texts, rules["jailbreak_cues"]))
    emit({
        "benchmark": "jailbreak_learned",
        "source": source,
        "rows": n,
        "mean_chars_per_message": round(float(texts.str.len_chars().mean() or 0), 1),
        "rules_wall_s": round(rules_s, 3),
        "rules_rows_per_s": round(n / rules_s),
        "learned_wall_s": round(learned_s, 3),
        "learned_rows_per_s": round(n / learned_s),
        "learned_extra_s": round(learned_s - rules_s, 3),
        "screen_wall_s": round(screen_s, 3),
        "screen_share_passing": round(float(passed.mean()), 4),
        "flag_rate_rules": round(float(rules["jailbreak"].mean()), 4),
        "flag_rate_learned": round(float(learned["jailbreak"].mean()), 4),
        "peak_rss_mb": peak_rss_mb(),
    })


if __name__ == "__main__":
    main()
