"""Ingest benchmark: N synthetic LMSYS-shaped conversations → canonical Parquet.

Target (Foundation issue, 2-core machine): 1M conversations in ≤ 15 s wall and ≤ 2 GB peak RSS.
The input is generated once (cached in ``bench-out/``) by ``chatlens synth``; the timed part runs
in a fresh child process so its peak RSS is not inflated by generation. Prints one JSON object.

    python benchmarks/bench_ingest.py --conversations 1000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import emit, peak_rss_mb

CHILD = r"""
import json, resource, sys, time
import chatlens
from chatlens._progress import set_quiet
set_quiet(True)
t = time.perf_counter()
result = chatlens.analyze(sys.argv[1], out=sys.argv[2], keep_text=True, detect=False)
wall = time.perf_counter() - t
print(json.dumps({
    "wall_s": round(wall, 3),
    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    "rows_in": result.rows_in,
    "rows_analysed": result.rows_analysed,
    "rows_quarantined": result.rows_quarantined,
    "messages": result.summary.messages,
    "timings_s": result.manifest["timings_s"],
}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("bench-out"))
    args = parser.parse_args()

    args.workdir.mkdir(parents=True, exist_ok=True)
    source = args.workdir / f"synth_{args.conversations}_{args.seed}.parquet"
    gen_s = None
    if not source.exists():
        from chatlens._progress import set_quiet
        from chatlens.synth import synth

        set_quiet(True)
        t = time.perf_counter()
        synth(args.conversations, seed=args.seed, out=source)
        gen_s = round(time.perf_counter() - t, 2)

    out = args.workdir / "ingest-run"
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(source), str(out)],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(done.returncode)
    child = json.loads(done.stdout.strip().splitlines()[-1])
    input_bytes = source.stat().st_size
    out_bytes = sum(p.stat().st_size for p in out.glob("*.parquet"))
    emit(
        {
            "benchmark": "ingest_lmsys_parquet_to_canonical",
            "conversations": args.conversations,
            **child,
            "rows_per_s": round(child["rows_in"] / child["wall_s"], 1),
            "messages_per_s": round(child["messages"] / child["wall_s"], 1),
            "input_mb": round(input_bytes / 2**20, 1),
            "output_mb": round(out_bytes / 2**20, 1),
            "generate_input_s": gen_s,
            "children_peak_rss_mb": peak_rss_mb(children=True),
            "targets": {"wall_s": 15, "peak_rss_mb": 2048},
        }
    )


if __name__ == "__main__":
    main()
