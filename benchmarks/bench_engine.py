"""Benchmark the execution engines: local vs process pool vs Dask on one synthetic corpus.

Writes ``--n`` synthetic LMSYS-shaped conversations as ``--files`` Parquet files (distinct seeds,
cached in ``--data``), then runs ``chatlens.engine.run`` with the trivial ``message_length`` stage
once per engine, each in a fresh subprocess so peak memory does not carry over. Peak RSS is the
peak of the *sum* over the process tree (driver + pool workers / Dask nanny + workers), sampled
every 0.1 s with psutil; ``cpu_s`` is the CPU time of the whole tree (last sample per process, so
a process living < 0.1 s may be missed). Prints one JSON object. On a shared machine, compare ``cpu_s`` as well as ``wall_s``.

    python benchmarks/bench_engine.py                      # 1M conversations, 8 files
    python benchmarks/bench_engine.py --n 100000 --files 4 --engines local,process
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import emit


def make_corpus(n: int, files: int, data: Path) -> list[Path]:
    from chatlens.synth import synth

    data.mkdir(parents=True, exist_ok=True)
    per = [n // files + (1 if i < n % files else 0) for i in range(files)]
    paths = []
    for seed, rows in enumerate(per):
        path = data / f"shard-{seed:02d}-of-{files:02d}-{rows}.parquet"
        if not path.exists():
            synth(rows, seed=seed, out=path)
        paths.append(path)
    return paths


class TreeRss:
    """Samples the summed RSS of this process and all its descendants; keeps the peak."""

    def __init__(self, interval: float = 0.1) -> None:
        import psutil

        self._psutil = psutil
        self._me = psutil.Process()
        self.peak = 0
        self.peak_self = 0  # the driver alone (ru_maxrss would include the pre-exec parent)
        self.cpu: dict[tuple[int, float], float] = {}  # last CPU seconds seen per process
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, args=(interval,), daemon=True)

    def _sample(self) -> None:
        total = own = self._me.memory_info().rss
        for proc in [self._me, *self._me.children(recursive=True)]:
            try:
                if proc.pid != self._me.pid:
                    total += proc.memory_info().rss
                times = proc.cpu_times()
                self.cpu[(proc.pid, proc.create_time())] = times.user + times.system
            except self._psutil.Error:
                continue
        self.peak = max(self.peak, total)
        self.peak_self = max(self.peak_self, own)

    def _loop(self, interval: float) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(interval)

    def __enter__(self) -> TreeRss:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def run_one(variant: str, workers: int, sources: list[str], batch_size: int) -> dict[str, Any]:
    """One engine run (called in a fresh subprocess). ``dask-threads``: a LocalCluster of
    threads (``processes=False``) instead of worker processes."""
    engine = variant.split("-")[0]
    from chatlens._progress import set_quiet
    from chatlens.engine import run

    set_quiet(True)
    out = Path(tempfile.mkdtemp(prefix=f"bench-engine-{engine}-"))
    try:
        with TreeRss() as rss:
            cpu0 = sum(rss.cpu.values())
            t0 = time.perf_counter()
            result = run(
                sources,
                ["message_length"],
                out=out,
                engine=engine,  # type: ignore[arg-type]
                workers=workers,
                batch_size=batch_size,
                keep_text=False,
                processes=variant != "dask-threads",
            )
            wall = time.perf_counter() - t0
        parts = result.partitions
        cpu_s = sum(rss.cpu.values()) - cpu0
        return {
            "wall_s": round(wall, 2),
            "peak_rss_mb": round(rss.peak / 2**20, 1),
            "peak_rss_mb_driver_only": round(rss.peak_self / 2**20, 1),
            "rows": result.rows_in,
            "rows_per_s": round(result.rows_in / wall),
            # CPU seconds of the process tree (driver, pool workers, Dask nannies + workers):
            # the work done, less sensitive than wall time to other jobs' load
            "cpu_s": round(cpu_s, 2),
            "cpu_per_wall": round(cpu_s / wall, 2),
            "messages": result.summary.messages,
            "messages_per_s": round(result.summary.messages / wall),
            "workers": result.workers,
            "partitions": len(parts),
            "partition_wall_s": {
                "min": min(p.seconds["wall"] for p in parts),
                "max": max(p.seconds["wall"] for p in parts),
                "sum": round(sum(p.seconds["wall"] for p in parts), 2),
            },
            "stage_split_s": {
                k: round(sum(p.seconds.get(k, 0.0) for p in parts), 2)
                for k in ("read", "stages", "write")
            },
            "run_timings_s": result.timings,
            "duplicates_across_partitions": result.duplicates.count,
            "records_in_equals_analysed_plus_quarantined": result.rows_in
            == result.rows_analysed + result.rows_quarantined,
        }
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=50_000)
    parser.add_argument("--engines", default="local,process,dask,dask-threads")
    parser.add_argument(
        "--data", type=Path, default=Path(tempfile.gettempdir()) / "chatlens-bench-engine"
    )
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # internal: one engine
    args = parser.parse_args()

    if args.one:
        sources = json.loads(os.environ["CHATLENS_BENCH_SOURCES"])
        print(json.dumps(run_one(args.one, args.workers, sources, args.batch_size)))
        return

    t = time.perf_counter()
    sources = [str(p) for p in make_corpus(args.n, args.files, args.data)]
    synth_s = round(time.perf_counter() - t, 2)
    engines: dict[str, Any] = {}
    for engine in args.engines.split(","):
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                engine,
                "--workers",
                str(args.workers),
                "--batch-size",
                str(args.batch_size),
            ],
            env={**os.environ, "CHATLENS_BENCH_SOURCES": json.dumps(sources)},
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            engines[engine] = {"error": done.stderr.strip().splitlines()[-1:]}
            continue
        engines[engine] = json.loads(done.stdout.strip().splitlines()[-1])
    local = engines.get("local", {}).get("wall_s")
    for result in engines.values():
        if local and "wall_s" in result:
            result["speedup_vs_local"] = round(local / result["wall_s"], 2)
    best = min(
        (r for r in engines.values() if "wall_s" in r), key=lambda r: r["wall_s"], default={}
    )
    emit(
        {
            "benchmark": "engine",
            "wall_s": best.get("wall_s"),
            "peak_rss_mb": max((r.get("peak_rss_mb", 0) for r in engines.values()), default=None),
            "rows": args.n,
            "rows_per_s": best.get("rows_per_s"),
            "files": args.files,
            "stage": "message_length",
            "keep_text": False,
            "synth_s": synth_s,
            "engines": engines,
        }
    )


if __name__ == "__main__":
    main()
