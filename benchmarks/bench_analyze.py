"""Whole-pipeline benchmark: N synthetic conversations through ``chatlens analyze``.

Reading, canonicalising, refusal + jailbreak detection, per-conversation features, behaviour
tables with CIs and figures — the "coffee break" number for a million conversations. Runs the
timed part in a child process per engine so peak RSS is the run's own. Prints one JSON object.

    python benchmarks/bench_analyze.py --conversations 1000000 --engine local --engine process
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import emit

CHILD = r"""
import json, resource, sys, time
import chatlens
from chatlens._progress import set_quiet
set_quiet(True)
if __name__ == "__main__":
    t = time.perf_counter()
    engine = sys.argv[3]
    result = chatlens.analyze(sys.argv[1], out=sys.argv[2], engine=engine,
                              workers=None if engine == "local" else 2)
    wall = time.perf_counter() - t
    print(json.dumps({
        "wall_s": round(wall, 2),
        "peak_rss_mb_self": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "peak_rss_mb_children": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "rows_in": result.rows_in,
        "messages": result.summary.messages,
        "timings_s": result.manifest["timings_s"],
    }))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", action="append", choices=["local", "process", "dask"])
    parser.add_argument("--workdir", type=Path, default=Path("bench-out"))
    args = parser.parse_args()
    engines = args.engine or ["local"]
    args.workdir.mkdir(parents=True, exist_ok=True)
    source = args.workdir / f"synth_{args.conversations}_{args.seed}.parquet"
    if not source.exists():
        from chatlens._progress import set_quiet
        from chatlens.synth import synth

        set_quiet(True)
        synth(args.conversations, seed=args.seed, out=source)
    script = args.workdir / "_bench_analyze_child.py"
    script.write_text(CHILD)
    results = {}
    for engine in engines:
        t = time.perf_counter()
        done = subprocess.run(
            [sys.executable, str(script), str(source), str(args.workdir / f"analyze-{engine}"), engine],
            capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            raise SystemExit(done.returncode)
        child = json.loads(done.stdout.strip().splitlines()[-1])
        child["rows_per_s"] = round(child["rows_in"] / child["wall_s"], 1)
        child["process_wall_s"] = round(time.perf_counter() - t, 2)
        results[engine] = child
    emit({"benchmark": "analyze_full_pipeline", "conversations": args.conversations, "engines": results})


if __name__ == "__main__":
    main()
