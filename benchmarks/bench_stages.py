"""Benchmark: CPU seconds of the default analysis stages on one batch, steady state.

Why: ``bench_analyze.py`` times a whole run, where process start-up, compilation and model
loading (once per worker) weigh heavily at 100k conversations and the machine's load adds
noise. This one reads ``--conversations`` conversations of a corpus (default: the first 20,000 of
the 100k LMSYS-shaped one, one engine partition's worth) as one canonical batch, runs the
default profile's stages (``signals``, ``behaviour``) once to warm up, then ``--repeat`` times,
and reports the best CPU seconds of the whole and each stage's best seconds (polars on one
thread, as in a pool worker).

Prints ONE JSON object.

    python benchmarks/bench_stages.py --corpus /work/lmsys/lmsys_like_100000.parquet
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("POLARS_MAX_THREADS", "1")  # one pool worker's share on 2 cores
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import emit, peak_rss_mb


def pa_table(record_batch):  # a pyarrow RecordBatch, as a Table
    import pyarrow as pa

    return pa.Table.from_batches([record_batch])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--corpus", type=Path, default=Path("/work/lmsys/lmsys_like_100000.parquet")
    )
    parser.add_argument("--conversations", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    import pyarrow.parquet as pq

    from chatlens._progress import set_quiet
    from chatlens.corpus.api import iter_batches
    from chatlens.engine.stages import apply_stages, resolve_stage

    set_quiet(True)
    first = next(pq.ParquetFile(args.corpus).iter_batches(batch_size=args.conversations))
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"_bench_stages_{os.getpid()}.parquet"
    pq.write_table(pa_table(first), tmp)
    try:
        batch = next(iter(iter_batches(tmp, batch_size=args.conversations)))
    finally:
        tmp.unlink(missing_ok=True)
    stages = [resolve_stage("signals", definitions="default"), resolve_stage("behaviour")]
    fns = [s.load() for s in stages]
    t0 = time.process_time()
    apply_stages(batch, stages, loaded=fns)
    warm = time.process_time() - t0
    best: dict[str, float] = {}
    totals = []
    for _ in range(args.repeat):
        seconds: dict[str, float] = {}
        t = time.process_time()
        apply_stages(batch, stages, loaded=fns, seconds=seconds)
        totals.append(time.process_time() - t)
        for key, value in seconds.items():
            best[key] = min(best.get(key, value), value)
    emit(
        {
            "benchmark": "stages_steady_state",
            "corpus": str(args.corpus),
            "conversations": batch.conversations.height,
            "messages": batch.messages.height,
            "first_run_cpu_s": round(warm, 3),
            "cpu_s_best": round(min(totals), 3),
            "cpu_s_runs": [round(x, 3) for x in totals],
            "stage_wall_s_best": {k: round(v, 3) for k, v in sorted(best.items())},
            "peak_rss_mb": peak_rss_mb(),
            "loadavg": [round(x, 2) for x in os.getloadavg()],
        }
    )


if __name__ == "__main__":
    main()
