"""Fuzz every reader: ``--n`` seeded mutations per format; print crashes / clean errors / silent
losses per reader as JSON.

Each mutated file is read in a separate worker process (``chatlens.corpus.fuzz.check``), so a
segfault or a hang is recorded as a crash of that case instead of ending the benchmark. The
same ``--seed`` gives the same mutations. Target: 0 crashes, 0 silent losses and 0 memory
blow-ups (a case after which the worker's peak RSS passes ``MEMORY_BUDGET_MB``).

    python benchmarks/fuzz_readers.py --n 300 --seed 0
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from _util import emit, peak_rss_mb
from chatlens.corpus import fuzz

TIMEOUT_S = 120


#: A case after which the worker's peak RSS exceeds this is a memory blow-up (the inputs are
#: at most a few MB); the worker is then replaced so the next cases are measured afresh.
MEMORY_BUDGET_MB = 1500


def _case(seed_name: str, mutation: fuzz.Mutation) -> tuple[fuzz.Verdict, float]:
    seed = fuzz.SEEDS[seed_name]
    with tempfile.TemporaryDirectory(prefix="chatlens-fuzz-") as tmp:
        path = fuzz.apply(seed, mutation, Path(tmp))
        verdict = fuzz.check(path, seed, detect=mutation.detect)
    return verdict, _own_peak_mb()


def _own_peak_mb() -> float:
    """This worker's peak RSS: VmHWM of its own address space where Linux reports it
    (ru_maxrss would also count the driver it was forked from)."""
    try:
        with open("/proc/self/status") as f:
            kib = next(int(line.split()[1]) for line in f if line.startswith("VmHWM"))
        return round(kib / 1024, 1)
    except (OSError, StopIteration, ValueError):
        return peak_rss_mb()


def mutations(n: int, seed: int) -> list[fuzz.Mutation]:
    rng = random.Random(seed)
    ops = sorted(fuzz.BYTE_OPS)
    out = []
    for _ in range(n):
        k = rng.choice([0, 1, 1, 1, 2, 3])
        out.append(
            fuzz.Mutation(
                tuple(rng.choice(ops) for _ in range(k)),
                rng.randrange(2**32),
                detect=rng.random() < 0.2,
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="mutations per format")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--formats", default=",".join(fuzz.SEEDS), help="seed names, comma-separated"
    )
    parser.add_argument("--examples", type=int, default=3, help="failing cases shown per reader")
    args = parser.parse_args()
    t0 = time.perf_counter()
    per_reader: dict[str, dict] = {}
    pool = ProcessPoolExecutor(max_workers=1)
    for name in args.formats.split(","):
        counts: Counter[str] = Counter()
        examples: list[dict] = []
        peak = 0.0
        blowups = 0
        pool = _restart(pool)  # a fresh worker per reader: its peak RSS is this reader's
        for i, mutation in enumerate(mutations(args.n, args.seed + zlib_crc(name))):
            try:
                verdict, rss = pool.submit(_case, name, mutation).result(timeout=TIMEOUT_S)
                peak = max(peak, rss)
                if rss > MEMORY_BUDGET_MB:
                    blowups += 1
                    if len(examples) < args.examples:
                        examples.append(
                            {
                                "case": i,
                                "ops": list(mutation.ops),
                                "rng_seed": mutation.rng_seed,
                                "detect": mutation.detect,
                                "outcome": "memory",
                                "detail": f"{rss} MB",
                            }
                        )
                    pool = _restart(pool)
            except FutureTimeout:
                verdict = fuzz.Verdict("crash", f"no answer within {TIMEOUT_S} s")
                pool = _restart(pool)
            except BrokenProcessPool:
                verdict = fuzz.Verdict("crash", "the worker process died (segfault or killed)")
                pool = _restart(pool)
            counts[verdict.outcome] += 1
            if verdict.outcome in ("crash", "silent_loss") and len(examples) < args.examples:
                examples.append(
                    {
                        "case": i,
                        "ops": list(mutation.ops),
                        "rng_seed": mutation.rng_seed,
                        "detect": mutation.detect,
                        **vars(verdict),
                    }
                )
        per_reader[name] = {
            "mutations": args.n,
            "ok": counts["ok"],
            "clean_errors": counts["clean_error"],
            "crashes": counts["crash"],
            "silent_losses": counts["silent_loss"],
            "memory_blowups": blowups,
            "peak_rss_mb": peak,
            "examples": examples,
        }
        print(f"{name}: {dict(counts)}", file=sys.stderr)
    pool.shutdown(cancel_futures=True)
    emit(
        {
            "benchmark": "fuzz_readers",
            "seed": args.seed,
            "mutations_per_format": args.n,
            "total": {
                k: sum(r[k] for r in per_reader.values())
                for k in (
                    "mutations",
                    "ok",
                    "clean_errors",
                    "crashes",
                    "silent_losses",
                    "memory_blowups",
                )
            },
            "readers": per_reader,
            "wall_s": round(time.perf_counter() - t0, 1),
            "peak_rss_mb_workers": peak_rss_mb(children=True),
            "memory_budget_mb": MEMORY_BUDGET_MB,
        }
    )


def zlib_crc(name: str) -> int:
    import zlib

    return zlib.crc32(name.encode())


def _restart(pool: ProcessPoolExecutor) -> ProcessPoolExecutor:
    for proc in list(getattr(pool, "_processes", {}).values()):
        proc.kill()  # only our own worker
    pool.shutdown(wait=False, cancel_futures=True)
    return ProcessPoolExecutor(max_workers=1)


if __name__ == "__main__":
    main()
