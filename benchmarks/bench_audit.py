"""Benchmark: ``chatlens audit`` on a finished run (default: the 1M LMSYS-shaped run of
``bench_analyze.py --shape lmsys``).

Times the two steps a user runs: drawing the sample (the run's judged messages, the draw, and the
sampled conversations' text read again from the source, since the run kept none) and estimating
from a labelled sample (the labels here are the detector's own verdicts flipped at random for 10%
of rows: the estimate's cost does not depend on them). Prints one JSON object: wall seconds and
peak RSS of each step, messages judged, rows drawn.

Usage: python benchmarks/bench_audit.py [--run /tmp/bench-out/analyze-lmsys-1000000] [--n 600]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import emit, peak_rss_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("/tmp/bench-out/analyze-lmsys-1000000"))
    parser.add_argument("--n", type=int, default=600)
    parser.add_argument("--by", default="model")
    args = parser.parse_args()

    from chatlens.audit import KEY, draw_audit_sample, estimate_audit, population

    t = time.perf_counter()
    sample = draw_audit_sample(args.run, n=args.n, by=args.by)
    sample_s = time.perf_counter() - t
    rss_sample = peak_rss_mb()
    verdict = population(args.run, "refusal", args.by).join(sample.rows.select(KEY), on=list(KEY), how="semi")
    flip = np.random.default_rng(0).random(verdict.height) < 0.1
    labels = verdict.with_columns(label=pl.when(pl.Series(flip) ^ (pl.col("predicted") == "refusal"))
                                  .then(pl.lit("refusal")).otherwise(pl.lit("none")))
    with tempfile.TemporaryDirectory() as tmp:
        path, _ = sample.write(Path(tmp) / "sample.parquet")
        pl.read_parquet(path).drop("label").join(labels.select(*KEY, "label"), on=list(KEY)).write_parquet(path)
        t = time.perf_counter()
        est = estimate_audit(args.run, path)
        estimate_s = time.perf_counter() - t
    emit({"benchmark": "audit", "run": str(args.run), "messages_judged": int(est.table["messages"][-1]),
          "groups": est.table.height - 1, "rows_drawn": sample.rows.height,
          "sample_wall_s": round(sample_s, 2), "estimate_wall_s": round(estimate_s, 2),
          "peak_rss_mb": max(rss_sample, peak_rss_mb())})


if __name__ == "__main__":
    main()
