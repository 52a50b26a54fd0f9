"""Train the refusal encoder tier and write ``src/chatlens/data/signals/refusal_encoder.json``.

Pools the same labelled rows as the context model (``chatlens.validate.refusal_model_cv``: the
real development set, XSTest, OpenAI RBR gold; text read from ../shared/data, never copied),
fine-tunes the top layers of the packaged all-MiniLM-L6-v2 on "request [SEP] reply" pairs
(``chatlens.signals._encoder_torch``), and records a held-out probability for every pool row
under each scheme of ``refusal_model_cv.folds`` (grouped CV by conversation, leave one source
out, leave one set out) — each from a model fitted without that row's fold. It then prints the
held-out numbers of the context model and of the blend, fits on everything and writes the
weights, the held-out probabilities and the data card.

The lower layers are run once and cached, so each fold trains only the top layers. On two cores
a fold takes about 6-7 minutes; the whole run about 90. ``--checkpoint`` keeps finished folds, so
an interrupted run resumes.

Usage::

    .venv/bin/python scripts/train_refusal_encoder.py [--data ../shared/data] [--quiet]
"""

from __future__ import annotations

import argparse
import json
import pickle
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "chatlens" / "data" / "signals" / "refusal_encoder.json"
VERSION = "1.1"


def _f1(y: np.ndarray, flag: np.ndarray) -> dict:
    """Counts and rates of ``flag`` against ``y`` (:func:`chatlens.stats.metrics.binary_metrics`;
    an undefined rate is null)."""
    from chatlens.stats.metrics import binary_metrics

    m = binary_metrics(y, flag)
    rates = {k: None if v is None else round(v, 4)
             for k, v in (("precision", m.precision), ("recall", m.recall), ("f1", m.f1))}
    return {"n": m.n, "positives": m.tp + m.fn, "flagged": m.tp + m.fp, **rates}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--top-layers", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=192)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--blend", type=float, default=0.5,
                        help="weight of the encoder's probability in the blend (fixed, not tuned)")
    parser.add_argument("--threshold", type=float, default=0.5)
    parser.add_argument("--checkpoint", type=Path, default=Path("/tmp/chatlens_refusal_encoder.pkl"))
    parser.add_argument("--schemes", default="leave-source-out,cv,leave-set-out",
                        help="held-out schemes to record, in this order (comma-separated)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()

    import polars as pl
    from transformers import AutoModel, AutoTokenizer

    from chatlens._progress import progress_bar, set_quiet
    from chatlens.signals import _encoder_torch as enc
    from chatlens.signals.refusal_encoder import (
        BASE_MODEL,
        FORMAT_VERSION,
        base_model_path,
        file_sha256,
    )
    from chatlens.validate.real import labelled_set
    from chatlens.validate.refusal_model_cv import build_pool, folds, heldout, shipped_params

    set_quiet(args.quiet)
    pool = build_pool(args.data, labelled_set(args.data))
    frame = pool.frame
    y = frame["refused"].to_numpy().astype(bool)
    keys = frame["key"].to_list()
    base_dir = Path(base_model_path())
    base = AutoModel.from_pretrained(str(base_dir)).eval()
    tokenizer = AutoTokenizer.from_pretrained(str(base_dir))
    ids, types = enc.tokenize(tokenizer, frame["request"].fill_null("").to_list(),
                              frame["response"].fill_null("").to_list(), args.max_length)
    with progress_bar(description="lower layers", total=len(ids), unit="texts") as advance:
        states = enc.lower_states(base, ids, types, args.top_layers, advance=advance)
    config = {"top_layers": args.top_layers, "max_length": args.max_length, "epochs": args.epochs,
              "lr": args.lr, "n": len(y), "keys": keys}
    done: dict = {}
    if args.checkpoint.is_file():
        saved = pickle.loads(args.checkpoint.read_bytes())
        done = saved["done"] if saved.get("config") == config else {}

    def fit(rows: np.ndarray, label: str) -> object:
        with progress_bar(description=label, total=args.epochs * len(rows), unit="texts") as advance:
            return enc.train_top(base, [states[r] for r in rows], y[rows], k=args.top_layers,
                                 epochs=args.epochs, lr=args.lr, advance=advance)

    schemes = folds(pool)
    order = tuple(args.schemes.split(","))
    probabilities: dict[str, dict[str, float]] = {}
    for scheme in (s for s in order if s in schemes):
        p = np.full(len(y), np.nan)
        for k, (train, rows) in enumerate(schemes[scheme]):
            tag = f"{scheme}/{k}"
            if tag not in done:
                model = fit(np.flatnonzero(train), f"{tag} train")
                done[tag] = enc.predict_states(model, [states[r] for r in rows])
                args.checkpoint.write_bytes(pickle.dumps({"config": config, "done": done}))
            p[rows] = done[tag]
            part = _f1(y[rows], done[tag] >= args.threshold)
            print(f"{tag}: encoder alone {part}", flush=True)
        tested = np.flatnonzero(~np.isnan(p))
        probabilities[scheme] = {keys[r]: round(float(p[r]), 5) for r in tested}

    blend = {s: (probabilities[s], args.blend, args.threshold) for s in probabilities}
    decided = heldout(pool, encoder=blend, **shipped_params())
    truth = frame.select("key", "dataset", "source", "refused")
    evaluation = {}
    for name, pred in decided.items():
        d = pred.join(truth, on="key")
        for group, part in [("all", d), *((g["source"][0], g) for g in
                                          d.partition_by("source", maintain_order=True))]:
            evaluation[f"{name}/{group}"] = _f1(part["refused"].to_numpy(), part["refusal"].to_numpy())
            print(f"{name}/{group}: {evaluation[f'{name}/{group}']}", flush=True)

    model = fit(np.arange(len(y)), "final fit")
    counts = frame.group_by("dataset", "source").agg(
        n=pl.len(), refusals=pl.col("refused").sum()).sort("dataset", "source")
    doc = {
        "name": "refusal-encoder", "version": VERSION,
        "source": "scripts/train_refusal_encoder.py", "format_version": FORMAT_VERSION,
        "trained": date.today().isoformat(), "base_model": BASE_MODEL,
        "base_sha256": file_sha256(base_dir / "model.safetensors"),
        "top_layers": args.top_layers, "max_length": args.max_length,
        "blend": args.blend, "threshold": args.threshold,
        "hyperparameters": {"epochs": args.epochs, "lr": args.lr, "batch_size": 16,
                            "weight_decay": 0.01, "warmup": 0.06, "loss": "class-balanced BCE",
                            "seed": 0},
        "trained_on": counts.to_dicts(),
        "evaluation": evaluation,
        "heldout": {s: {"keys": list(p), "p": list(p.values())} for s, p in probabilities.items()},
        "tensors": enc.encode_tensors(model, base),
    }
    args.out.write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n",
                        encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
