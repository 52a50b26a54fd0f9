"""Benchmark: Bradley–Terry with bootstrap CIs on 1M Arena-sized synthetic battles.

Synthetic battles between ~50 models with known strengths (Arena-like label mix: wins, ties,
ties-both-bad) are written to Parquet, then timed through the full library path: reading the
file, validating the 1M-row table, aggregating it into cells, the BT MLE and ``--rounds``
bootstrap rounds of multinomial resampling, plus win rates. Prints one JSON object: wall_s,
peak_rss_mb, battles, rounds, battles_per_s (and rows / rows_per_s).

Usage: python benchmarks/bench_ratings.py [--battles 1000000] [--models 50] [--rounds 100]
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl


def synth(n: int, n_models: int, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    strength = rng.normal(0.0, 1.0, n_models)
    a = rng.integers(0, n_models, n)
    b = (a + rng.integers(1, n_models, n)) % n_models
    p = 1.0 / (1.0 + np.exp(-(strength[a] - strength[b])))
    u = rng.random(n)
    tie = rng.random(n) < 0.2
    labels = np.where(u < p, "model_a", "model_b")
    labels = np.where(tie, np.where(rng.random(n) < 0.5, "tie", "tie (bothbad)"), labels)
    names = np.array([f"model-{i:02d}" for i in range(n_models)])
    return pl.DataFrame({"model_a": names[a], "model_b": names[b], "winner": labels})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--battles", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from chatlens.ratings import rate

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "battles.parquet"
        synth(args.battles, args.models, args.seed).write_parquet(path)
        start = time.perf_counter()
        result = rate(
            path, winner="winner", method=["bt", "winrate"], bootstrap=args.rounds,
            seed=args.seed, pair_bootstrap=0,
        )
        wall = time.perf_counter() - start
    # HAL-sized Elo: 326 games between 3 models replayed over 500 random orders.
    from chatlens.ratings.elo import elo_random_orders

    rng = np.random.default_rng(args.seed)
    ha = rng.integers(0, 3, 326)
    hb = (ha + rng.integers(1, 3, 326)) % 3
    hy = rng.choice([0.0, 0.25, 0.5, 0.75, 1.0], 326)
    t0 = time.perf_counter()
    elo_random_orders(ha, hb, hy, 3, n_orders=500, rng=np.random.default_rng(42))
    elo_s = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "benchmark": "ratings_bt_bootstrap",
                "wall_s": round(wall, 3),
                "peak_rss_mb": round(peak_mb, 1),
                "battles": args.battles,
                "rows": args.battles,
                "models": args.models,
                "rounds": args.rounds,
                "battles_per_s": round(args.battles / wall),
                "rows_per_s": round(args.battles / wall),
                "elo_500_orders_326_games_s": round(elo_s, 4),
                "rows_used": result.rows_used,
                "rows_quarantined": result.rows_quarantined,
                "max_ci_width": round(
                    float((result.table["ci_high"] - result.table["ci_low"])
                          .filter(result.table["method"] == "bt").max()), 2
                ),
            }
        )
    )


if __name__ == "__main__":
    main()
