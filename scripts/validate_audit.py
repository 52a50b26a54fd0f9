"""Check ``chatlens audit``'s correction on real labelled logs, as a new user would meet it.

For each source of the real labelled development set (ids and labels in the package, text read
from ../shared/data), the population is that source's labelled messages, labelled by the default
detector *trained without that source* (leave-one-source-out: the detector a new user's log
gets), and the truth is the readers' label. The script then repeats the audit many times — draw
``--n`` messages from the detector's verdict cells (``--allocation``), "read" them (the gold label),
correct — and prints JSON per source: the true rate (or share of each reaction), the detector's
own, the mean error of each, how often the 95% interval covers the truth, and its mean width.

* ``refusal``: every labelled assistant message (binary: the refusal rate);
* ``reaction``: every labelled reaction after a gold refusal (the share of each of the six
  reactions; the model is the reaction model's leave-one-source-out fit);
* ``jailbreak``: ToxicChat's 2,801 real user prompts (human labels; the learned jailbreak tier's
  5-fold cross-validated flags united with its rule overrides, as ``chatlens validate`` reports);
* ``refusal_by_source``: the whole refusal population audited once by source (``--by source``),
  as a user compares models: the coverage of each source's rate and of its difference from the
  other sources together (vs rest), beside the detector's own difference.

Usage::

    .venv/bin/python scripts/validate_audit.py [--data ../shared/data] [--n 200] [--n-reaction 120]
        [--repeats 500]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]


def _audits(part: pl.DataFrame, labels: list[str], n: int, repeats: int,
            rng: np.random.Generator, allocation: str = "sqrt") -> dict:
    """Repeated audits of one source's population: per label, the truth, the detector's share and
    the corrected share's error, coverage and interval width."""
    from chatlens.audit import allocate
    from chatlens.stats.two_phase import two_phase_rates

    predicted, truth = part["predicted"].to_numpy(), part["truth"].to_numpy()
    cells = sorted(set(predicted.tolist()))
    members = {c: np.flatnonzero(predicted == c) for c in cells}
    take = dict(zip(cells, allocate([len(members[c]) for c in cells], n, allocation), strict=True))
    errors = {k: [] for k in labels}
    covered, widths = dict.fromkeys(labels, 0), {k: [] for k in labels}
    for rep in range(repeats):
        picks = {c: rng.choice(members[c], size=take[c], replace=False) for c in cells}
        for k in labels:
            rows = [("all", c == k, len(members[c]), take[c], int((truth[picks[c]] == k).sum())) for c in cells]
            est = two_phase_rates(pl.DataFrame(rows, schema=["group", "flagged", "messages", "labelled",
                                                             "positives"], orient="row"),
                                  draws=4000, seed=rep, overall=None).row(0, named=True)
            true_share = float((truth == k).mean())
            errors[k].append(est["rate"] - true_share)
            covered[k] += est["rate_low"] <= true_share <= est["rate_high"]
            widths[k].append(est["rate_high"] - est["rate_low"])
    out = {"messages": len(truth)}
    for k in labels:
        true_share = float((truth == k).mean())
        out[k] = {"true": round(true_share, 4), "detector": round(float((predicted == k).mean()), 4),
                  "detector_error": round(float((predicted == k).mean()) - true_share, 4),
                  "corrected_mean_error": round(float(np.mean(errors[k])), 4),
                  "corrected_mean_abs_error": round(float(np.mean(np.abs(errors[k]))), 4),
                  "coverage_95": round(covered[k] / repeats, 3),
                  "mean_interval_width": round(float(np.mean(widths[k])), 4)}
    return out


def _toxicchat(root: Path) -> pl.DataFrame:
    """ToxicChat's prompts with the learned jailbreak tier's held-out verdicts and the gold."""
    from chatlens.validate.datasets import load_all
    from chatlens.validate.jailbreak_cv import CV_DATASET, heldout_predictions

    sets = load_all(root)
    flags = heldout_predictions(sets, root)
    toxic = next(s for s in sets if s.dataset == CV_DATASET and s.group == "prompts")
    verdict = flags[(toxic.dataset, toxic.group)]
    def name(flag: str) -> pl.Expr:
        return pl.when(pl.col(flag)).then(pl.lit("jailbreak")).otherwise(pl.lit("none"))

    return pl.DataFrame({"v": verdict, "g": toxic.gold}).select(
        source=pl.lit("toxicchat"), predicted=name("v"), truth=name("g"))


def _by_source(frame: pl.DataFrame, n: int, repeats: int, rng: np.random.Generator,
               allocation: str) -> dict:
    """Audits of the whole refusal population grouped by source (``--by source``): per source,
    the coverage of its rate and of its difference from the other sources together (vs rest),
    and the detector's own difference, against the true ones."""
    from chatlens.audit import allocate
    from chatlens.stats.two_phase import two_phase_rates

    frame = frame.with_columns(flag=pl.col("predicted") == "refusal", pos=pl.col("truth") == "refusal")
    cells = frame.group_by("source", "flag").agg(pl.len().alias("size"), pl.col("pos")).sort("source", "flag")
    take = allocate(cells["size"].to_list(), n, allocation)
    positives = [np.asarray(p, dtype=bool) for p in cells["pos"].to_list()]
    sources = sorted(frame["source"].unique().to_list())
    true = {s: float(frame.filter(pl.col("source") == s)["pos"].mean()) for s in sources}
    flagged = {s: float(frame.filter(pl.col("source") == s)["flag"].mean()) for s in sources}

    def vs_rest(rates: dict[str, float], s: str) -> float:
        rest = frame.filter(pl.col("source") != s)
        return rates[s] - float(rest["pos" if rates is true else "flag"].mean())

    hit_rate, hit_diff = dict.fromkeys(sources, 0), dict.fromkeys(sources, 0)
    for rep in range(repeats):
        rows = [(src, f, size, k, int(rng.choice(pos, size=k, replace=False).sum()))
                for (src, f, size), k, pos in zip(cells.select("source", "flag", "size").rows(), take,
                                                  positives, strict=True)]
        est = two_phase_rates(pl.DataFrame(rows, schema=["group", "flagged", "messages", "labelled",
                                                         "positives"], orient="row"),
                              draws=4000, seed=rep, overall=None)
        for r in est.iter_rows(named=True):
            s = r["group"]
            hit_rate[s] += r["rate_low"] <= true[s] <= r["rate_high"]
            hit_diff[s] += r["vs_rest_low"] <= vs_rest(true, s) <= r["vs_rest_high"]
    return {"n_per_audit": n, "groups": {s: {
        "true_vs_rest": round(vs_rest(true, s), 4), "detector_vs_rest": round(vs_rest(flagged, s), 4),
        "coverage_95_rate": round(hit_rate[s] / repeats, 3),
        "coverage_95_vs_rest": round(hit_diff[s] / repeats, 3)} for s in sources}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--n", type=int, default=200, help="labels per refusal audit")
    parser.add_argument("--n-reaction", type=int, default=120, help="labels per reaction audit")
    parser.add_argument("--n-jailbreak", type=int, default=200, help="labels per jailbreak audit")
    parser.add_argument("--n-by-source", type=int, default=600, help="labels per audit by source")
    parser.add_argument("--repeats", type=int, default=500)
    parser.add_argument("--allocation", default="sqrt", help="sqrt or equal (chatlens.audit.allocate)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from chatlens.validate.reaction_cv import leave_one_source_out, reaction_rows
    from chatlens.validate.real import REACTION_CLASSES, labelled_set
    from chatlens.validate.refusal_model_cv import build_pool, heldout, shipped_params

    real = labelled_set(args.data)
    pool = build_pool(args.data, real)
    pred = heldout(pool, **shipped_params())["leave-source-out"]
    refusal = pred.join(pool.frame.select("key", "source", "refused"), on="key").select(
        "source", predicted=pl.when("refusal").then(pl.lit("refusal")).otherwise(pl.lit("none")),
        truth=pl.when("refused").then(pl.lit("refusal")).otherwise(pl.lit("none")))
    reactions = reaction_rows(real)
    reaction = reactions.select("source", truth="reaction").with_columns(
        predicted=pl.Series(leave_one_source_out(reactions, calibrate=False)[0].astype(str)))
    jailbreak = _toxicchat(args.data)
    rng = np.random.default_rng(args.seed)
    report = {"repeats": args.repeats, "allocation": args.allocation,
              "detector": "the default tier, trained without the source (leave one source out)",
              "sources": "those with at least twice the labels of one audit"}
    for signal, frame, labels, n in (("refusal", refusal, ["refusal"], args.n),
                                     ("reaction", reaction, list(REACTION_CLASSES), args.n_reaction),
                                     ("jailbreak", jailbreak, ["jailbreak"], args.n_jailbreak)):
        report[signal] = {"n_per_audit": n} | {
            s: _audits(frame.filter(pl.col("source") == s), labels, n, args.repeats, rng, args.allocation)
            for s in sorted(frame["source"].unique().to_list())
            if frame.filter(pl.col("source") == s).height >= 2 * n}
    report["refusal_by_source"] = _by_source(refusal, args.n_by_source, args.repeats, rng, args.allocation)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
