"""Benchmark: generate the synthetic LMSYS-shaped corpus (the workload of the other benchmarks).

Prints ONE JSON object: wall_s, peak_rss_mb, conversations, messages, rows (= messages),
rows_per_s, conversations_per_s, bytes_written (corpus + sidecars) and corpus_bytes.

Usage::

    .venv/bin/python benchmarks/bench_synth.py                 # 1M conversations, temp dir
    .venv/bin/python benchmarks/bench_synth.py -n 100000 --out /tmp/synth.parquet --keep
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--conversations", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None, help="corpus path (default: a temp dir)")
    parser.add_argument("--format", choices=["parquet", "jsonl"], default=None)
    parser.add_argument("--chunk-size", type=int, default=50_000)
    parser.add_argument("--keep", action="store_true", help="keep the files written")
    args = parser.parse_args()

    from chatlens._progress import set_quiet
    from chatlens.synth import synth

    set_quiet(True)
    tmp = None
    out = args.out
    if out is None:
        tmp = Path(tempfile.mkdtemp(prefix="bench_synth_"))
        out = tmp / ("synth.jsonl" if args.format == "jsonl" else "synth.parquet")
    t0 = time.perf_counter()
    res = synth(args.conversations, seed=args.seed, out=out, format=args.format, chunk_size=args.chunk_size)
    wall = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "benchmark": "synth",
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(peak_mb, 1),
        "conversations": res.conversations,
        "messages": res.messages,
        "rows": res.messages,
        "rows_per_s": round(res.messages / wall),
        "conversations_per_s": round(res.conversations / wall),
        "bytes_written": res.bytes_written,
        "corpus_bytes": res.path.stat().st_size,
        "format": res.format,
        "chunk_size": args.chunk_size,
    }
    if tmp is not None and not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
