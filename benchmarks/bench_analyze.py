"""Whole-pipeline benchmark: N conversations through the default ``chatlens analyze``.

Reading, canonicalising, refusal + jailbreak detection, per-conversation features, behaviour
tables with CIs, figures and the report — with the command's defaults (every core). Two corpus
shapes:

* ``--shape lmsys``: LMSYS-Chat-1M-shaped conversations from the shared generator
  (``../shared/tools/make_lmsys_like.py``: realistic lengths, code blocks, 10 languages,
  moderation fields), generated once into ``--corpus-dir`` and reused;
* ``--shape synthetic``: ``chatlens synth`` (short messages, ground truth), cached in ``--workdir``.

The timed run is a child process (``python -m chatlens.cli analyze``-equivalent library call);
peak RSS is sampled over the child's whole process tree (the driver plus its pool workers, summed
every 0.1 s with psutil), since ``ru_maxrss`` only sees one process at a time. Prints one JSON
object: wall, peak RSS of the tree, CPU seconds of the tree, rows/s, and time per stage (summed over partitions, i.e.
CPU-side seconds across workers, plus the driver's own steps).

    python benchmarks/bench_analyze.py --shape lmsys --conversations 1000000
    python benchmarks/bench_analyze.py --shape synthetic --conversations 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import emit

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT.parent / "shared" / "tools" / "make_lmsys_like.py"
#: The original study's script on the 1M LMSYS-shaped corpus (issue 12; one run, this machine class).
ORIGINAL_1M_LMSYS_S = 686.0

CHILD = r"""
import json, sys, time
import chatlens
from chatlens._progress import set_quiet
set_quiet(True)
if __name__ == "__main__":
    workers = None if sys.argv[3] == "auto" else int(sys.argv[3])
    t = time.perf_counter()
    result = chatlens.analyze(sys.argv[1], out=sys.argv[2], workers=workers)
    wall = time.perf_counter() - t
    engine = result.manifest["engine"]
    print(json.dumps({
        "wall_s": round(wall, 2),
        "rows_in": result.rows_in,
        "messages": result.summary.messages,
        "engine": engine["engine"],
        "workers": engine["workers"],
        "partitions": engine["partitions"],
        "timings_s": result.manifest["timings_s"],
        "partition_timings_s": engine["partition_timings_s"],
    }))
"""


def _tree(pid: int) -> list:
    import psutil

    try:
        proc = psutil.Process(pid)
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _sample(procs: list, cpu: dict[int, float]) -> int:
    """RSS of ``procs`` summed; each one's CPU seconds so far recorded in ``cpu`` (by pid)."""
    import psutil

    total = 0
    for p in procs:
        try:
            with p.oneshot():
                total += p.memory_info().rss
                times = p.cpu_times()
            cpu[p.pid] = times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def run_child(source: Path, out: Path, workers: str, script: Path) -> dict:
    """Run the analyze child, sampling its process tree's RSS; its JSON plus the peak."""
    proc = subprocess.Popen(
        [sys.executable, str(script), str(source), str(out), workers],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    peak = 0
    cpu: dict[int, float] = {}
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _sample(_tree(proc.pid), cpu))
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    stop.set()
    sampler.join()
    if proc.returncode != 0:
        sys.stderr.write(stderr)
        raise SystemExit(proc.returncode)
    child = json.loads(stdout.strip().splitlines()[-1])
    child["peak_rss_mb_tree"] = round(peak / 2**20, 1)
    # CPU seconds of the whole tree (last sample of each process: at most 0.1 s short each). On a
    # shared machine this is the load-independent number: wall >= cpu / cores.
    child["cpu_s_tree"] = round(sum(cpu.values()), 1)
    return child


def per_stage(child: dict) -> dict[str, float]:
    """Seconds per stage: partition steps summed over partitions, then the driver's steps."""
    summed: Counter[str] = Counter()
    for part in child.pop("partition_timings_s"):
        for key, value in part.items():
            if key not in ("partition", "wall", "stages"):
                summed[key] += value
    out = {f"partitions.{k}": round(v, 2) for k, v in sorted(summed.items())}
    for key, value in child["timings_s"].items():
        out[f"driver.{key}"] = value
    return out


def corpus(shape: str, n: int, args: argparse.Namespace) -> Path:
    """The cached corpus of that shape and size (generated on first use)."""
    if shape == "lmsys":
        path = args.corpus_dir / f"lmsys_like_{n}.parquet"
        if not path.exists():
            args.corpus_dir.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [
                    sys.executable,
                    str(args.generator),
                    "--out",
                    str(args.corpus_dir),
                    "--sizes",
                    str(n),
                ],
                check=True,
            )
        return path
    path = args.workdir / f"synth_{n}_{args.seed}.parquet"
    if not path.exists():
        from chatlens._progress import set_quiet
        from chatlens.synth import synth

        set_quiet(True)
        synth(n, seed=args.seed, out=path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--shape", choices=["lmsys", "synthetic"], default="lmsys")
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1, help="synthetic shape only")
    parser.add_argument(
        "--workers", default="auto", help="'auto' (the default command) or a number"
    )
    parser.add_argument("--workdir", type=Path, default=Path("bench-out"))
    parser.add_argument("--corpus-dir", type=Path, default=ROOT.parent / "lmsys")
    parser.add_argument("--generator", type=Path, default=GENERATOR)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    source = corpus(args.shape, args.conversations, args)
    script = args.workdir / "_bench_analyze_child.py"
    script.write_text(CHILD)
    load_before = os.getloadavg()
    child = run_child(
        source, args.workdir / f"analyze-{args.shape}-{args.conversations}", args.workers, script
    )
    result = {
        "benchmark": "analyze_default",
        "shape": args.shape,
        "conversations": args.conversations,
        "source": str(source),
        "wall_s": child["wall_s"],
        "peak_rss_mb_tree": child["peak_rss_mb_tree"],
        "cpu_s_tree": child["cpu_s_tree"],
        "rows_per_s": round(child["rows_in"] / child["wall_s"], 1),
        "messages": child["messages"],
        "engine": child["engine"],
        "workers": child["workers"],
        "partitions": child["partitions"],
        "stage_s": per_stage(child),
        "loadavg_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }
    if args.shape == "lmsys" and args.conversations == 1_000_000:
        result["speedup_vs_original_686s"] = round(ORIGINAL_1M_LMSYS_S / child["wall_s"], 1)
    emit(result)


if __name__ == "__main__":
    main()
