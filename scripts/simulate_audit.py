"""Check ``chatlens audit``'s estimator on simulated logs whose truth is known, as the audit draws.

Each scenario is a log of groups, each with a true prevalence and a detector of known
sensitivity and false-positive rate (group-dependent). Every replicate makes a new log, shares
``n`` labels over its group × verdict cells with :func:`chatlens.audit.allocate` (``sqrt`` and
``equal``), reads a uniform random sample of each cell (a hypergeometric count: what a prefix of
the shuffled sample gives; optional MCAR skips), and estimates with
:func:`chatlens.stats.two_phase.two_phase_rates` exactly as ``estimate_audit`` calls it. It
prints JSON per scenario and allocation: per group and overall, how often the 95% interval covers
the log's own true rate (and the group's vs-rest difference), the mean error of the point
estimate, the mean width, and in how many replicates the rate had no point estimate (a cell got
no label). The ``reaction7`` scenario does the same for a 7-label share (a categorical audit).

Usage::

    .venv/bin/python scripts/simulate_audit.py [--reps 1000] [--seed 0] [--scenario NAME ...]

About 10 minutes at 1,000 replicates on one core (the interval's 20,000 posterior draws dominate).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import polars as pl

from chatlens.audit.sample import ALLOCATIONS, allocate
from chatlens.stats.two_phase import two_phase_rates

#: name -> (groups {name: (messages, prevalence, sensitivity, false-positive rate)}, n, skip share)
SCENARIOS: dict[str, tuple[dict[str, tuple[int, float, float, float]], int, float]] = {
    "typical3": ({"a": (4000, .02, .9, .01), "b": (4000, .10, .6, .01), "c": (2000, .30, .8, .05)}, 240, 0.0),
    "lowprev": ({"a": (5000, .005, .7, .02)}, 200, 0.0),
    "verylowprev": ({"a": (20000, .001, .8, .002)}, 200, 0.0),
    "highprev": ({"a": (5000, .995, .9, .3)}, 200, 0.0),
    "smallstrata": ({"a": (60, .2, .7, .1), "b": (30, .5, .5, .2), "c": (3000, .05, .8, .02)}, 30, 0.0),
    "tinygroups": ({"a": (5, .4, .5, .25), "b": (12, .25, .7, .1), "c": (4000, .08, .8, .02)}, 60, 0.0),
    "flagsnothing": ({"a": (3000, .05, 0.0, 0.0), "b": (3000, .1, .8, .02)}, 100, 0.0),
    "flagseverything": ({"a": (3000, .3, 1.0, 1.0), "b": (3000, .1, .8, .02)}, 100, 0.0),
    "manygroups_1percell": ({f"g{i}": (500, .02 + .02 * i, .7, .03) for i in range(10)}, 20, 0.0),
    "skip20": ({"a": (4000, .05, .7, .02), "b": (4000, .15, .6, .05)}, 200, 0.2),
}


def _binary(name: str, how: str, reps: int, seed: int) -> dict:
    groups, n, skip = SCENARIOS[name]
    rng = np.random.default_rng(seed)
    names = list(groups)
    keys = names + (["(all)"] if len(names) > 1 else [])
    cov, vs_cov, nulls = dict.fromkeys(keys, 0), dict.fromkeys(names, 0), dict.fromkeys(keys, 0)
    err, width = {g: [] for g in keys}, {g: [] for g in keys}
    for rep in range(reps):
        cells, sizes, positives, truth = [], [], [], {}
        for g in names:
            size, prev, sens, fpr = groups[g]
            y = rng.random(size) < prev
            flag = np.where(y, rng.random(size) < sens, rng.random(size) < fpr)
            truth[g] = y.mean()
            for f in (False, True):  # the audit's cell order: predicted "none" before the label
                cells.append((g, f))
                sizes.append(int((flag == f).sum()))
                positives.append(int(y[flag == f].sum()))
        total = sum(sizes)
        truth["(all)"] = sum(positives) / total
        rows = []
        for (g, f), size, k, take in zip(cells, sizes, positives, allocate(sizes, n, how), strict=True):
            if size == 0:
                continue
            x = int(rng.hypergeometric(k, size - k, take)) if take else 0
            if skip and take:  # rows left out at random: a random subsample of the cell's draw
                kept = int(rng.binomial(take, 1 - skip))
                x, take = (int(rng.hypergeometric(x, take - x, kept)) if kept else 0), kept
            rows.append((g, f, size, take, x))
        frame = pl.DataFrame(rows, schema=["group", "flagged", "messages", "labelled", "positives"], orient="row")
        out = two_phase_rates(frame, seed=rep, overall="(all)" if len(names) > 1 else None)
        for r in out.iter_rows(named=True):
            g = r["group"]
            cov[g] += r["rate_low"] - 1e-12 <= truth[g] <= r["rate_high"] + 1e-12
            width[g].append(r["rate_high"] - r["rate_low"])
            if r["rate"] is None:
                nulls[g] += 1
            else:
                err[g].append(r["rate"] - truth[g])
            if g in vs_cov and r["vs_rest_low"] is not None:
                m = groups[g][0]
                diff = truth[g] - (truth["(all)"] * total - truth[g] * m) / (total - m)
                vs_cov[g] += r["vs_rest_low"] - 1e-12 <= diff <= r["vs_rest_high"] + 1e-12
    return {"scenario": name, "allocation": how, "n": n, "skip": skip, "reps": reps, "groups": {
        g: {"coverage": round(cov[g] / reps, 3),
            "mean_error_points": round(100 * float(np.mean(err[g])), 3) if err[g] else None,
            "mean_width_points": round(100 * float(np.mean(width[g])), 2), "no_point_estimate": nulls[g],
            **({"vs_rest_coverage": round(vs_cov[g] / reps, 3)} if g in vs_cov and len(names) > 1 else {})}
        for g in keys}}


def _reaction(how: str, reps: int, seed: int) -> dict:
    """A 7-label share (reaction-like: 739 follow-ups, 120 labels; the detector never says
    ``unclear``) with a confusion matrix 65% right."""
    labels = ["rephrase", "jailbreak", "pushback", "accept", "new_topic", "clarify", "unclear"]
    share = np.array([.17, .014, .2, .027, .041, .5, .048])
    share /= share.sum()
    k = len(labels)
    rng = np.random.default_rng(seed)
    confusion = 0.65 * np.eye(k) + 0.35 * rng.dirichlet(np.ones(k), size=k)
    confusion[:, -1] = 0
    confusion /= confusion.sum(axis=1, keepdims=True)
    cov, err, width = np.zeros(k), np.zeros((reps, k)), np.zeros(k)
    for rep in range(reps):
        y = rng.choice(k, size=739, p=share)
        pred = np.minimum((rng.random(len(y))[:, None] > np.cumsum(confusion[y], axis=1)).sum(axis=1), k - 1)
        cells = [c for c in range(k) if (pred == c).any()]
        sizes = [int((pred == c).sum()) for c in cells]
        take = allocate(sizes, 120, how)
        counts = [np.bincount(y[rng.choice(np.flatnonzero(pred == c), size=t, replace=False)], minlength=k)
                  for c, t in zip(cells, take, strict=True)]
        for label in range(k):
            frame = pl.DataFrame({"group": ["(all)"] * len(cells), "flagged": [c == label for c in cells],
                                  "messages": sizes, "labelled": take, "positives": [int(c[label]) for c in counts]})
            r = two_phase_rates(frame, overall=None, seed=rep).row(0, named=True)
            true = (y == label).mean()
            cov[label] += r["rate_low"] - 1e-12 <= true <= r["rate_high"] + 1e-12
            err[rep, label] = r["rate"] - true
            width[label] += r["rate_high"] - r["rate_low"]
    return {"scenario": "reaction7", "allocation": how, "n": 120, "reps": reps, "labels": {
        labels[i]: {"coverage": round(cov[i] / reps, 3), "mean_error_points": round(100 * err[:, i].mean(), 3),
                    "mean_width_points": round(100 * width[i] / reps, 2)} for i in range(k)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenario", nargs="*", default=[*SCENARIOS, "reaction7"])
    args = parser.parse_args()
    for i, name in enumerate(args.scenario):
        for how in ALLOCATIONS:
            out = (_reaction(how, args.reps, args.seed + i) if name == "reaction7"
                   else _binary(name, how, args.reps, args.seed + i))
            print(json.dumps(out), flush=True)
            sys.stdout.flush()


if __name__ == "__main__":
    main()
