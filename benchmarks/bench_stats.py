"""Benchmark: the statistics layer on a 1M-conversation feature table.

A synthetic per-conversation frame (1M rows, 50 models, 20 languages, ~200k users with their own
refusal propensity, 1–8 turns) is built in memory, then timed through the public API:

* ``grouped_wilson_bh``: Wilson CIs per model (50 groups) and per model × language (1000 groups),
  every model vs the rest with risk difference / odds ratio CIs and Benjamini–Hochberg;
* ``grouped_cluster``: the same per-model rates with user-clustered (design-effect) intervals;
* ``logit_aggregated``: logistic regression on all rows, refused ~ model (30 levels) + language
  (20) + n_turns (no cluster → GLM on aggregated covariate patterns);
* ``logit_cluster``: the same with user-clustered SEs (row-level statsmodels Logit, 1M × 50,
  started at the aggregated MLE);
* ``bootstrap_cluster``: cluster bootstrap of the overall rate by user (B=200).

Prints one JSON object: wall_s (total), peak_rss_mb, rows, rows_per_s and per-step seconds.

Usage: python benchmarks/bench_stats.py [--rows 1000000] [--models 50] [--skip-cluster-logit]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import polars as pl

from _util import emit, peak_rss_mb


def synth(n: int, n_models: int, logit_models: int = 30, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n_users = max(n // 5, 1)
    user = rng.integers(0, n_users, n)
    u_eff = rng.normal(0.0, 0.7, n_users)
    model = rng.integers(0, n_models, n)
    m_eff = rng.normal(0.0, 0.5, n_models)
    lang = rng.integers(0, 20, n_users)[user]
    turns = rng.integers(1, 9, n)
    lp = -2.0 + m_eff[model] + 0.02 * lang + 0.05 * turns + u_eff[user]
    refused = rng.random(n) < 1.0 / (1.0 + np.exp(-lp))
    return pl.DataFrame({
        "model": np.array([f"model-{i:02d}" for i in range(n_models)])[model],
        # a coarser model column (model id mod ``logit_models``) for the regression benchmark
        "model_coarse": np.array([f"m-{i:02d}" for i in range(logit_models)])[model % logit_models],
        "language": np.array([f"lang-{i:02d}" for i in range(20)])[lang],
        "n_turns": turns,
        "user_id": user,
        "has_refusal": refused,
    })


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--models", type=int, default=50)
    parser.add_argument("--logit-models", type=int, default=30)
    parser.add_argument("--skip-cluster-logit", action="store_true")
    args = parser.parse_args()

    from chatlens.stats import (
        bootstrap_mean,
        compare_rates,
        grouped_rate,
        logistic_regression,
    )

    warnings.simplefilter("ignore")
    df = synth(args.rows, args.models, args.logit_models)
    steps: dict[str, float] = {}
    t_all = time.perf_counter()

    t = time.perf_counter()
    by_model = grouped_rate(df, "has_refusal", "model")
    by_cell = grouped_rate(df, "has_refusal", ["model", "language"])
    vs_rest = compare_rates(df, "has_refusal", "model", adjust="fdr_bh")
    steps["grouped_wilson_bh_s"] = round(time.perf_counter() - t, 3)

    t = time.perf_counter()
    clustered = grouped_rate(df, "has_refusal", "model", cluster="user_id")
    steps["grouped_cluster_s"] = round(time.perf_counter() - t, 3)

    sub = df
    t = time.perf_counter()
    agg = logistic_regression(sub, "has_refusal", categorical=["model_coarse", "language"], numeric="n_turns")
    steps["logit_aggregated_s"] = round(time.perf_counter() - t, 3)

    clus_params = None
    if not args.skip_cluster_logit:
        t = time.perf_counter()
        clus = logistic_regression(
            sub, "has_refusal", categorical=["model_coarse", "language"], numeric="n_turns", cluster="user_id"
        )
        steps["logit_cluster_s"] = round(time.perf_counter() - t, 3)
        clus_params = clus.coefficients.height
        se_ratio = float((clus.coefficients["se"] / agg.coefficients["se"]).median())
    t = time.perf_counter()
    boot = bootstrap_mean(df["has_refusal"], clusters=df["user_id"], n_boot=200)
    steps["bootstrap_cluster_s"] = round(time.perf_counter() - t, 3)

    wall = time.perf_counter() - t_all
    result = {
        "wall_s": round(wall, 3),
        "peak_rss_mb": peak_rss_mb(),
        "rows": args.rows,
        "rows_per_s": round(args.rows / wall, 1),
        **steps,
        "groups_model": by_model.height,
        "groups_model_x_language": by_cell.height,
        "rejected_bh_005": int((vs_rest["p_adjusted"] <= 0.05).sum()),
        "median_deff_by_user": round(float(clustered["deff"].median()), 3),
        "logit_rows": sub.height,
        "logit_params": agg.coefficients.height,
        "logit_method": agg.method,
        "logit_cluster_params": clus_params,
        "median_se_ratio_cluster_vs_naive": round(se_ratio, 3) if clus_params else None,
        "bootstrap_ci_width": round(boot.width, 5),
    }
    emit(result)


if __name__ == "__main__":
    main()
