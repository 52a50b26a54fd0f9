"""Print the measured quality of chatlens.features (synthetic truth + TweetEval).

Usage: .venv/bin/python benchmarks/validate_features.py [--n 20000] [--seed 7] [--tweeteval DIR]
Prints per-label precision/recall/F1 tables and one JSON line of headline numbers.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import polars as pl

from chatlens.features.validate import validate_on_synth, validate_on_tweeteval

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--synth-path", default=None)
    ap.add_argument("--signals", choices=["truth", "detected"], default="truth",
                    help="feed true refusal/jailbreak columns, or run chatlens.signals first")
    ap.add_argument("--tweeteval", default=str(ROOT.parent / "shared" / "data" / "tweeteval"))
    args = ap.parse_args()
    pl.Config.set_tbl_rows(100)
    pl.Config.set_tbl_width_chars(160)
    pl.Config.set_float_precision(3)
    syn = validate_on_synth(args.n, seed=args.seed, path=args.synth_path, signals=args.signals)
    where = args.synth_path or f"{args.n} generated conversations, seed {args.seed}"
    print(f"== synthetic corpus: {where}; signals: {args.signals}")
    print(syn.metrics)
    summary = {f"synth.{k}": round(v, 4) for k, v in syn.summary.items()}
    if Path(args.tweeteval).is_dir():
        tw = validate_on_tweeteval(args.tweeteval)
        print("== TweetEval test")
        print(tw.metrics)
        summary |= {f"tweeteval.{k}": round(v, 4) for k, v in tw.summary.items()}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
