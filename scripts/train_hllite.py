"""Regenerate HL-lite's shipped weights (``src/chatlens/data/humanlike/hllite-weights.yaml``).

Training data: the development half of the Jones & Bergen Turing-test witnesses
(``../shared/data/hal/data/turing_test_data_full.csv``; human vs AI witness, speaker ``W``).
Hyper-parameters are fixed (L2, C=0.3, standardised features); the grouped-CV AUC recorded in
the file is out-of-fold with folds grouped by game, for all development witnesses and for the
development games of ``turing_test_over_50.csv`` (both witnesses >= 50 words).

Usage: ``python scripts/train_hllite.py [--data DIR] [--out FILE]``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "hal" / "data")
    ap.add_argument("--out", type=Path,
                    default=ROOT / "src" / "chatlens" / "data" / "humanlike" / "hllite-weights.yaml")
    ap.add_argument("--seeds", type=int, default=5, help="CV repetitions reported")
    args = ap.parse_args()

    from chatlens.humanlike.lite import cross_validate_lite, save_lite_model, train_lite
    from chatlens.humanlike.witnesses import load_turing
    from chatlens.stats.metrics import auc, paired_outcomes

    full = load_turing(args.data / "turing_test_data_full.csv")
    over50 = set(load_turing(args.data / "turing_test_over_50.csv").get_column("game_id"))
    y = full.get_column("is_human").to_numpy().astype(bool)
    g = full.get_column("game_id").to_numpy()
    in50 = np.isin(g, list(over50))
    rep = {"auc_all": [], "auc_over50": [], "paired_over50": []}
    for seed in range(args.seeds):
        oof = cross_validate_lite(full, seed=seed)
        ok = np.isfinite(oof)
        rep["auc_all"].append(auc(y[ok], oof[ok]))
        rep["auc_over50"].append(auc(y[ok & in50], oof[ok & in50]))
        _, out = paired_outcomes(y[in50], oof[in50], g[in50])
        rep["paired_over50"].append(float(out.mean()))
    summary = {k: {"mean": round(float(np.mean(v)), 4), "min": round(float(np.min(v)), 4),
                   "max": round(float(np.max(v)), 4)} for k, v in rep.items()}
    model = train_lite(full, info={
        "training_data": ("Jones & Bergen (2025) Turing-test witnesses, development half "
                          "(turing_test_data_full.csv as shipped with ROC-HCI/hal @ 5145d6a)"),
        "cv_repeated": {"seeds": args.seeds, **summary,
                        "note": ("out-of-fold, 10-fold GroupKFold by game; over50 = development "
                                 "games of turing_test_over_50.csv")},
    })
    save_lite_model(model, args.out)
    print(json.dumps({"out": str(args.out), **model.info["cv"], "repeated": summary}))


if __name__ == "__main__":
    main()
