"""Train the learned refusal tier and write ``src/chatlens/data/signals/refusal_learned.json``.

Trains a logistic regression over cue features and hashed n-grams on the refusal slices of the
development data (XSTest dev models, OpenAI RBR gold, JailbreakBench responses; see
``chatlens.validate.learned_cv``), prints the leave-one-group-out metrics of both tiers, and
writes the weights with their provenance. The data is read from ../shared/data and never copied.

Usage::

    .venv/bin/python scripts/train_refusal_learned.py [--data ../shared/data] [--C 0.5]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "chatlens" / "data" / "signals" / "refusal_learned.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--C", type=float, default=0.5)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    from chatlens.signals.lexicon import lexicons_for
    from chatlens.signals.refusal import detect_refusal
    from chatlens.stats.metrics import binary_metrics
    from chatlens.validate.datasets import load_all
    from chatlens.validate.learned_cv import heldout_predictions, train_shipped, training_pool

    sets = load_all(args.data)
    held = heldout_predictions(sets, c=args.C)
    for s in training_pool(sets):
        learned = binary_metrics(s.gold, held[(s.dataset, s.group)]).to_dict()
        rules = binary_metrics(s.gold, detect_refusal(s.texts)["refusal"].to_numpy()).to_dict()
        print(f"{s.dataset}/{s.group}: learned(held-out) P={learned['precision']} "
              f"R={learned['recall']} F1={learned['f1']} | rules P={rules['precision']} "
              f"R={rules['recall']} F1={rules['f1']}")
    model, meta = train_shipped(sets, c=args.C)
    meta["lexicons"] = {lex.name: lex.version for lex in lexicons_for("refusal")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model.to_dict(**meta), separators=(",", ":")), encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
