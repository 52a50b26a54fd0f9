"""Train the context refusal model and write ``src/chatlens/data/signals/refusal_model.json``.

Pools the real labelled development set (``data/validation/``, text read from ../shared/data)
with XSTest and OpenAI RBR gold (``chatlens.validate.refusal_model_cv``), prints the held-out
numbers of every scheme (grouped CV by conversation, leave one source out, leave one set out),
fits on everything and writes the weights with those numbers and the training counts. The data
is read from ../shared/data and never copied.

Usage::

    .venv/bin/python scripts/train_refusal_model.py [--data ../shared/data] [--C 0.3]
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "chatlens" / "data" / "signals" / "refusal_model.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--C", type=float, default=0.3)
    parser.add_argument("--C-type", type=float, default=3.0)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    import polars as pl

    from chatlens.signals.lexicon import lexicons_for
    from chatlens.validate.real import labelled_set
    from chatlens.validate.real_eval import accuracy_row, binary_row
    from chatlens.validate.refusal_model_cv import build_pool, heldout, train_shipped

    params = {"C": args.C, "C_type": args.C_type}
    real = labelled_set(args.data)
    pool = build_pool(args.data, real)
    truth = pool.frame.select("key", "source", "cluster", "refused", "policy", "typed")
    evaluation = {}
    for scheme, pred in heldout(pool, **params).items():
        d = pred.join(truth, on="key")
        groups = [("all", d)] + [(p["source"][0], p) for p in d.partition_by("source", maintain_order=True)]
        for group, part in groups:
            row = binary_row(part["refused"].to_numpy(), part["refusal"].to_numpy(),
                             part["cluster"].to_numpy())
            typed = part.filter(pl.col("typed") & pl.col("refusal"))
            acc = accuracy_row(typed["policy"].to_numpy(), (typed["refusal_type"] == "policy").to_numpy(),
                               typed["cluster"].to_numpy()) if typed.height else {}
            key = f"{scheme}/{group}"
            evaluation[key] = {k: row[k] for k in ("n", "positives", "precision", "recall", "f1",
                                                    "f1_low", "f1_high")}
            evaluation[key]["type_accuracy"] = acc.get("accuracy")
            print(key, evaluation[key])
    model, meta = train_shipped(pool, **params)
    meta.update(
        version=1,
        source=("chatlens team: scripts/train_refusal_model.py on the real labelled development "
                "set (data/validation/real_dev_labels.json) + XSTest dev + OpenAI RBR gold"),
        trained=str(date.today()),
        lexicons={lex.name: lex.version for lex in lexicons_for("refusal")},
        heldout=evaluation,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(model.to_dict(**meta), separators=(",", ":")), encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
