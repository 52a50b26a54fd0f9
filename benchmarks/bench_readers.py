"""Benchmark the source readers: LMSYS-shaped Parquet (and JSONL) → nested reader batches.

Generates an LMSYS-Chat-1M-shaped Parquet file (conversation[{role, content}], 11-category
openai_moderation aligned per message, turn, language, redacted) with numpy/pyarrow, then reads it
through ``open_batches`` in a child process so the reader's peak RSS is measured alone.
Prints ONE JSON object.

    python benchmarks/bench_readers.py [--conversations 1000000] [--jsonl 100000]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CATEGORIES = [
    "harassment", "harassment/threatening", "hate", "hate/threatening", "self-harm",
    "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence",
    "violence/graphic",
]
WORDS = (
    "the a model answer question please explain code python data sorry cannot help with that "
    "here is how you can do it step first second finally note important however example"
).split()


def _text_pool(rng: np.random.Generator, n: int, mean_words: int) -> pa.Array:
    lengths = rng.poisson(mean_words, n) + 1
    return pa.array([" ".join(rng.choice(WORDS, k)) for k in lengths])


def _moderation_pool(rng: np.random.Generator, n: int) -> pa.StructArray:
    flags = rng.random((n, len(CATEGORIES))) < 0.01
    scores = rng.random((n, len(CATEGORIES))) * np.where(flags, 1.0, 0.05)
    cats = pa.StructArray.from_arrays([pa.array(flags[:, i]) for i in range(len(CATEGORIES))], CATEGORIES)
    sc = pa.StructArray.from_arrays([pa.array(scores[:, i]) for i in range(len(CATEGORIES))], CATEGORIES)
    return pa.StructArray.from_arrays([cats, sc, pa.array(flags.any(axis=1))], ["categories", "category_scores", "flagged"])


def generate(path: Path, n: int, seed: int = 0, chunk: int = 100_000) -> dict:
    """Write ``n`` LMSYS-shaped conversations to ``path``; return size stats."""
    rng = np.random.default_rng(seed)
    user_pool, asst_pool = _text_pool(rng, 5000, 15), _text_pool(rng, 5000, 80)
    mod_pool = _moderation_pool(rng, 5000)
    models = pa.array(["vicuna-13b", "koala-13b", "alpaca-13b", "chatglm-6b", "llama-13b", "gpt-3.5-turbo"])
    langs = pa.array(["English", "Portuguese", "Chinese", "Russian", "Spanish", "German"])
    writer = None
    n_messages = 0
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        turns = rng.choice([1, 2, 3, 4, 6], size=m, p=[0.62, 0.18, 0.1, 0.06, 0.04])
        n_msg = turns * 2
        total = int(n_msg.sum())
        n_messages += total
        offsets = pa.array(np.concatenate(([0], np.cumsum(n_msg))).astype(np.int32))
        is_user = (np.arange(total) - np.repeat(np.concatenate(([0], np.cumsum(n_msg)[:-1])), n_msg)) % 2 == 0
        roles = pa.array(np.where(is_user, "user", "assistant"))
        u = user_pool.take(pa.array(rng.integers(0, len(user_pool), total)))
        a = asst_pool.take(pa.array(rng.integers(0, len(asst_pool), total)))
        content = pa.array(np.where(is_user, np.asarray(u, dtype=object), np.asarray(a, dtype=object)), pa.string())
        msgs = pa.StructArray.from_arrays([content, roles], ["content", "role"])
        mods = mod_pool.take(pa.array(rng.integers(0, len(mod_pool), total)))
        table = pa.table({
            "conversation_id": pa.array([f"{start + i:032x}" for i in range(m)]),
            "model": models.take(pa.array(rng.integers(0, len(models), m))),
            "conversation": pa.ListArray.from_arrays(offsets, msgs),
            "turn": pa.array(turns.astype(np.int64)),
            "language": langs.take(pa.array(rng.integers(0, len(langs), m))),
            "openai_moderation": pa.ListArray.from_arrays(offsets, mods),
            "redacted": pa.array(rng.random(m) < 0.05),
        })
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="zstd")
        writer.write_table(table, row_group_size=50_000)
    assert writer is not None
    writer.close()
    return {"conversations": n, "messages": n_messages, "bytes": path.stat().st_size}


def _peak_rss_mb() -> float:
    """Peak RSS of this process. VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child would
    report the generator parent's peak."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_only(path: str, fmt: str | None, batch_size: int) -> None:
    """Child process: read everything, print counts and timing as JSON."""
    from chatlens.corpus.sources import open_batches

    t0 = time.perf_counter()
    scan = open_batches(path, format=fmt, batch_size=batch_size)
    rows = messages = quarantined = batches = 0
    for b in scan:
        batches += 1
        rows += b.nested.height
        quarantined += b.quarantine.height
        messages += int(b.nested["messages"].list.len().sum())
    wall = time.perf_counter() - t0
    peak = _peak_rss_mb()
    print(json.dumps({"wall_s": wall, "peak_rss_mb": peak, "rows": rows, "messages": messages,
                      "quarantined": quarantined, "batches": batches, "format": scan.format}))


def _child(path: Path, fmt: str | None, batch_size: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--read", str(path), "--format", fmt or "", "--batch-size", str(batch_size)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--conversations", type=int, default=1_000_000)
    ap.add_argument("--jsonl", type=int, default=100_000, help="also time JSONL on this many (0 = skip)")
    ap.add_argument("--batch-size", type=int, default=50_000)
    ap.add_argument("--read")
    ap.add_argument("--format", default="lmsys")
    ap.add_argument("--workdir", default=os.path.join(tempfile.gettempdir(), "chatlens-bench-readers"))
    args = ap.parse_args()
    if args.read:
        read_only(args.read, args.format or None, args.batch_size)
        return
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    path = work / f"lmsys_{args.conversations}.parquet"
    t0 = time.perf_counter()
    gen = generate(path, args.conversations)
    gen_s = time.perf_counter() - t0
    parquet = _child(path, "lmsys", args.batch_size)
    result = {
        "wall_s": round(parquet["wall_s"], 3),
        "peak_rss_mb": round(parquet["peak_rss_mb"], 1),
        "rows": parquet["rows"],
        "rows_per_s": round(parquet["rows"] / parquet["wall_s"]),
        "messages": parquet["messages"],
        "messages_per_s": round(parquet["messages"] / parquet["wall_s"]),
        "quarantined": parquet["quarantined"],
        "batches": parquet["batches"],
        "input_parquet_mb": round(gen["bytes"] / 2**20, 1),
        "generate_s": round(gen_s, 2),
        "batch_size": args.batch_size,
        "cpu_count": os.cpu_count(),
    }
    detected = _child(path, None, args.batch_size)
    result["detect_and_read_wall_s"] = round(detected["wall_s"], 3)
    if args.jsonl:
        import polars as pl

        jpath = work / f"lmsys_{args.jsonl}.jsonl"
        pl.read_parquet(path, n_rows=args.jsonl).write_ndjson(jpath)
        j = _child(jpath, "lmsys", args.batch_size)
        result["jsonl"] = {"rows": j["rows"], "wall_s": round(j["wall_s"], 3),
                           "rows_per_s": round(j["rows"] / j["wall_s"]), "peak_rss_mb": round(j["peak_rss_mb"], 1),
                           "input_mb": round(jpath.stat().st_size / 2**20, 1)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
