"""Check ``chatlens audit``'s correction on real labelled logs, as a new user would meet it.

For each source of the real labelled development set (ids and labels in the package, text read
from ../shared/data), the population is that source's labelled assistant messages, flagged by the
default refusal detector *trained without that source* (leave-one-source-out: the detector a new
user's log gets), and the truth is the readers' label. The script then repeats the audit many
times — draw ``--n`` messages, half from the flagged and half from the unflagged cell, "read"
them (the gold label), correct — and prints JSON per source: the true rate, the detector's own
rate, the mean error of each, how often the 95% interval covers the true rate, and its mean width.

Usage::

    .venv/bin/python scripts/validate_audit.py [--data ../shared/data] [--n 200] [--repeats 500]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=200, help="labels per audit")
    parser.add_argument("--repeats", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from chatlens.audit import allocate
    from chatlens.stats.two_phase import two_phase_rates
    from chatlens.validate.real import labelled_set
    from chatlens.validate.refusal_model_cv import build_pool, heldout, shipped_params

    real = labelled_set(args.data)
    pool = build_pool(args.data, real)
    pred = heldout(pool, **shipped_params())["leave-source-out"]
    frame = pred.join(pool.frame.select("key", "source", "refused"), on="key")
    rng = np.random.default_rng(args.seed)
    report = {"n_per_audit": args.n, "repeats": args.repeats,
              "detector": "default refusal tier, trained without the source (leave one source out)",
              "sources": {}}
    for source in sorted(frame["source"].unique().to_list()):
        part = frame.filter(pl.col("source") == source)
        flag, truth = part["refusal"].to_numpy(), part["refused"].to_numpy()
        true_rate = float(truth.mean())
        if truth.sum() < 5:
            continue  # too few refusals for a rate anyone would correct (LMSYS: 2 in 557)
        cells = [np.flatnonzero(flag), np.flatnonzero(~flag)]
        take = allocate([len(c) for c in cells], args.n)
        errors, covered, widths = [], 0, []
        for rep in range(args.repeats):
            rows = []
            for f, members, k in zip((True, False), cells, take, strict=True):
                pick = rng.choice(members, size=k, replace=False)
                rows.append(("all", f, len(members), k, int(truth[pick].sum())))
            est = two_phase_rates(pl.DataFrame(rows, schema=["group", "flagged", "messages", "labelled",
                                                             "positives"], orient="row"),
                                  draws=4000, seed=rep, overall=None).row(0, named=True)
            errors.append(est["rate"] - true_rate)
            covered += est["rate_low"] <= true_rate <= est["rate_high"]
            widths.append(est["rate_high"] - est["rate_low"])
        report["sources"][source] = {
            "messages": len(truth), "true_rate": round(true_rate, 4),
            "detector_rate": round(float(flag.mean()), 4),
            "detector_error": round(float(flag.mean()) - true_rate, 4),
            "corrected_mean_error": round(float(np.mean(errors)), 4),
            "corrected_mean_abs_error": round(float(np.mean(np.abs(errors))), 4),
            "coverage_95": round(covered / args.repeats, 3),
            "mean_interval_width": round(float(np.mean(widths)), 4),
        }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
