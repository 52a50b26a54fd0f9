"""Train the learned jailbreak tier and write ``src/chatlens/data/signals/jailbreak_learned.json``.

Builds the pool (every jailbreak slice of ``chatlens.validate.datasets`` plus real ShareGPT, LMSYS
and HH-RLHF user messages as weak negatives; see ``chatlens.validate.jailbreak_cv``), computes
held-out scores (leave-one-source-out; stratified 5-fold CV inside ToxicChat) and the in-the-wild
time split, picks the decision threshold on those held-out scores (the lowest grid value with
ToxicChat CV FPR <= --max-fpr and precision >= --min-precision), prints every number next to the
rule tier, and writes the weights with their provenance and held-out numbers. The data is read
from ../shared/data and never copied.

Usage::

    .venv/bin/python scripts/train_jailbreak_learned.py [--data ../shared/data] [--C 1.0]
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "chatlens" / "data" / "signals" / "jailbreak_learned.json"
VERSION = "2.0"
GRID = tuple(round(0.5 + 0.025 * i, 3) for i in range(20))


def _metrics(y: np.ndarray, flag: np.ndarray) -> dict:
    tp, fp = int((flag & y).sum()), int((flag & ~y).sum())
    fn, neg = int((~flag & y).sum()), int((~y).sum())
    return {"n": len(y), "positives": int(y.sum()),
            "precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "recall": round(tp / (tp + fn), 4) if tp + fn else None,
            "fpr": round(fp / neg, 4) if neg else None}


def _line(name: str, m: dict) -> str:
    parts = [f"{k}={m[k]}" for k in ("precision", "recall", "fpr") if m[k] is not None]
    return f"{name:34s} n={m['n']:5d} pos={m['positives']:4d} " + " ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--C", type=float, default=1.0)
    parser.add_argument("--max-fpr", type=float, default=0.008)
    parser.add_argument("--min-precision", type=float, default=0.75)
    parser.add_argument("--min-abs", type=float, default=0.02, help="drop smaller coefficients")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    from chatlens.signals.jailbreak import detect_jailbreak
    from chatlens.signals.lexicon import lexicons_for
    from chatlens.validate.datasets import load_all
    from chatlens.validate.jailbreak_cv import (
        CV_DATASET,
        build_pool,
        heldout_scores,
        real_user_sets,
        time_split,
        train_shipped,
    )

    sets = [*load_all(args.data), *real_user_sets(args.data)]
    pool = build_pool(sets)
    print(f"pool: {len(pool.y)} texts, {int(pool.y.sum())} jailbreaks, "
          f"{int(pool.screened.sum())} pass the screen")
    scores = heldout_scores(pool, c=args.C)
    tc = np.asarray([f.startswith(CV_DATASET) for f in pool.fold])
    chosen = next((t for t in GRID
                   if (m := _metrics(pool.y[tc], scores[tc] >= t))["fpr"] <= args.max_fpr
                   and (m["precision"] or 0) >= args.min_precision), GRID[-1])
    print(f"threshold {chosen} (lowest grid value with ToxicChat CV FPR <= {args.max_fpr} "
          f"and precision >= {args.min_precision})")
    texts = [pool.sets[i].texts for i in range(len(pool.sets))]
    import polars as pl

    from chatlens.signals.jailbreak_learned import rule_override

    rule_frame = detect_jailbreak(pl.concat(texts))
    rules = rule_frame["jailbreak"].to_numpy()
    # the shipped decision: the model united with the rule tier's instruction overrides
    override = rule_override(rule_frame)
    heldout: dict[str, dict] = {}
    print("held-out (leave-one-source-out; ToxicChat: stratified 5-fold CV) | rule tier")
    for src in dict.fromkeys(f.split("/")[0] if f.startswith(CV_DATASET) else f for f in pool.fold):
        rows = (tc if src == CV_DATASET else pool.fold == src)
        name = f"{src} (5-fold CV)" if src == CV_DATASET else src
        learned = _metrics(pool.y[rows], (scores[rows] >= chosen) | override[rows])
        rule = _metrics(pool.y[rows], rules[rows])
        heldout[name] = {"learned": learned, "rules": rule}
        print(_line(name, learned), "|", _line("", rule).strip())
    late = time_split(pool, args.data, c=args.C)  # model alone (the latest prompts' overrides aside)
    heldout["itw time split (latest 30%)"] = {"learned": {"n": len(late),
                                                          "recall": round(float((late >= chosen).mean()), 4)}}
    print(f"in-the-wild time split (train earlier 70%, test latest 30%): "
          f"recall={(late >= chosen).mean():.4f} n={len(late)}")
    sweep = {str(t): _metrics(pool.y[tc], scores[tc] >= t) for t in GRID}

    model, meta = train_shipped(pool, c=args.C, threshold=chosen)
    meta.update({
        "version": VERSION, "trained": date.today().isoformat(),
        "source": "chatlens authors; scripts/train_jailbreak_learned.py over ../shared/data",
        "lexicons": {lex.name: lex.version for lex in lexicons_for("jailbreak")},
        "threshold_rule": f"lowest of {GRID[0]}..{GRID[-1]} with ToxicChat CV FPR <= {args.max_fpr} "
                          f"and precision >= {args.min_precision} (held-out scores)",
        "heldout": heldout, "toxicchat_cv_sweep": sweep,
        "evaluation": "chatlens validate reports the same held-out predictions for these sets",
    })
    from chatlens.signals.jailbreak_learned import LearnedJailbreak

    weights = model.to_dict(min_abs=args.min_abs, **meta)
    pruned = LearnedJailbreak.from_dict(weights)
    x = pool.x
    same = (pruned.decision_matrix(x) >= chosen) == (model.decision_matrix(x) >= chosen)
    print(f"pruned to |coef| >= {args.min_abs}: {len(weights['coef_index'])} of "
          f"{weights['n_features']} coefficients; same decision on {same.mean():.4%} of the pool")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(weights, separators=(",", ":")), encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
