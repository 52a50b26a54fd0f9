"""Instrument discovery on HAL's own statements, compared with HAL32Q; prints one JSON object.

Input: ``../shared/data/hal/FS_output/run_7_gpt-5.csv`` (GPT-5's human characteristics for the
development half of the Turing games; the statements are given, so no LLM is called and the
condense step is the no-LLM ``nearest`` one). Runs ``chatlens.instrument.discover`` into a
temporary directory, times it, and counts how many of HAL32Q's 32 traits have a matching
cluster (:func:`chatlens.instrument.compare.match_instrument`: the trait would sit inside its
nearest cluster). Skips with a message when the data folder is absent.

Usage: ``python benchmarks/bench_instrument_hal.py [--embedder minilm|tfidf] [--method
agglomerative|hdbscan] [--distance-threshold 0.5] [--min-cluster-size 10] [--table]``
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import emit, peak_rss_mb
from chatlens._progress import set_quiet
from chatlens.instrument import DiscoveryConfig, PairColumns, discover
from chatlens.instrument.compare import match_instrument
from chatlens.instrument.embed import make_embedder

ROOT = Path(__file__).resolve().parents[1]
FS = ROOT.parent / "shared" / "data" / "hal" / "FS_output" / "run_7_gpt-5.csv"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embedder", default="minilm")
    ap.add_argument("--method", default="agglomerative")
    ap.add_argument("--distance-threshold", type=float, default=0.5)
    ap.add_argument("--min-cluster-size", type=int, default=5)
    ap.add_argument("--reduce", default="none")
    ap.add_argument("--n-components", type=int, default=5)
    ap.add_argument("--table", action="store_true", help="also print the per-trait table to stderr")
    args = ap.parse_args()
    if not FS.is_file():
        print(f"skipped: {FS} not found", file=sys.stderr)
        return
    set_quiet(True)
    cols = PairColumns(
        a="conversation_A_transcript",
        b="conversation_B_transcript",
        label="who_is_human",
        id="game_id",
        statements="human_characteristics",
        verdict="aijudge_verdict",
    )
    cfg = DiscoveryConfig.from_defaults(
        cols,
        condense="nearest",
        embedder=args.embedder,
        method=args.method,
        distance_threshold=args.distance_threshold,
        min_cluster_size=args.min_cluster_size,
        reduce=args.reduce,
        n_components=args.n_components,
    )
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        frame = pl.read_csv(FS, infer_schema_length=0)
        res = discover(frame, tmp, cfg, source=str(FS))
        wall = time.perf_counter() - t0
        t1 = time.perf_counter()
        table = match_instrument(tmp, "hal32q", make_embedder(args.embedder, tfidf=cfg.tfidf))
        match_s = time.perf_counter() - t1
        clusters = json.loads((Path(tmp) / "clusters.json").read_text())
        ch = json.loads((Path(tmp) / "characteristics.json").read_text())
        items = json.loads((Path(tmp) / "items.json").read_text())
        reps = pl.read_parquet(Path(tmp) / "representatives.parquet")
    if args.table:
        with pl.Config(tbl_rows=40, fmt_str_lengths=70, tbl_width_chars=200):
            print(
                table.select(
                    "key",
                    "statement",
                    "cluster",
                    "size",
                    "cosine",
                    "bar",
                    "matched",
                    "in_range",
                    "representative",
                ),
                file=sys.stderr,
            )
    emit(
        {
            "benchmark": "instrument discovery on HAL FS_output/run_7_gpt-5.csv (statements given)",
            "pairs": ch["pairs"],
            "statements": ch["statements"],
            "verdict_accuracy": ch["verdict_accuracy"],
            "embedder": args.embedder,
            "clustering": clusters["method"],
            "clusters": clusters["n_clusters"],
            "noise": clusters["noise"],
            "sizes": clusters["sizes"],
            "representatives": reps.height,
            "items": len(items["items"]),
            "themes": [t["title"] for t in items["themes"]],
            "hal32q_traits_matched": int(table["matched"].sum()),
            "hal32q_traits": table.height,
            "hal32q_traits_in_range": int(table["in_range"].sum()),
            "clusters_hit_by_a_hal32q_trait": int(table.filter("matched")["cluster"].n_unique()),
            "matches": table.select(
                "key", "cluster", "cosine", "bar", "matched", "in_range"
            ).to_dicts(),
            "step_seconds": {s: r["seconds"] for s, r in res.manifest["steps"].items()},
            "wall_seconds": round(wall, 2),
            "match_seconds": round(match_s, 2),
            "peak_rss_mb": peak_rss_mb(),
        }
    )


if __name__ == "__main__":
    main()
