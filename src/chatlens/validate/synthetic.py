"""Agreement with chatlens's own synthetic corpus — a plumbing check, never a validity claim.

Why it is kept apart: the synthetic generator's phrase banks and the detectors' lexicons were
written by the same team, so agreement here shows that the pieces are wired together (ids, roles,
columns, reactions after refusals), not that a signal is right about real logs. ``chatlens
validate`` prints this section last, under a heading that says so; the real labelled sets are the
validity evidence.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import polars as pl

from chatlens.validate.real_eval import binary_row

KEYS = ["conversation_id", "message_index"]


def synthetic_agreement(n_conversations: int = 5000, *, seed: int = 7) -> pl.DataFrame:
    """Per signal: precision/recall/F1 (refusal, jailbreak) or accuracy/macro-F1 against the
    generator's truth, with conversation-bootstrap intervals; ``n_conversations`` generated."""
    import chatlens
    from chatlens.features.validate import validate_on_synth
    from chatlens.signals import detect_jailbreak, detect_refusal
    from chatlens.synth import sidecar_paths, synth

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.parquet"
        synth(n_conversations, seed=seed, out=path)
        msgs = chatlens.read(str(path)).messages
        msgs = msgs.collect() if isinstance(msgs, pl.LazyFrame) else msgs
        truth = pl.read_parquet(sidecar_paths(path)[0], glob=False).select(
            *KEYS, gold_refusal="refusal", gold_type="refusal_type", gold_jailbreak="jailbreak")
        features = validate_on_synth(path=path, signals="detected")
    msgs = msgs.join(truth, on=KEYS, how="inner")
    rows = []
    for role, detect, flag, gold in (("assistant", detect_refusal, "refusal", "gold_refusal"),
                                     ("user", detect_jailbreak, "jailbreak", "gold_jailbreak")):
        part = msgs.filter(pl.col("role") == role)
        found = detect(part["content"])
        row = binary_row(part[gold].fill_null(value=False).to_numpy(), found[flag].to_numpy(),
                         part["conversation_id"].to_numpy())
        rows.append({"signal": flag, "n": row["n"], "precision": row["precision"],
                     "recall": row["recall"], "f1": row["f1"], "accuracy": None})
        if role == "assistant":
            both = found["refusal"].to_numpy() & part["gold_refusal"].fill_null(value=False).to_numpy()
            same = found["refusal_type"].to_numpy()[both] == part["gold_type"].to_numpy()[both]
            rows.append({"signal": "refusal_type", "n": int(both.sum()), "precision": None,
                         "recall": None, "f1": None,
                         "accuracy": round(float(np.mean(same)), 4) if both.any() else None})
    reaction = features.metrics.filter((pl.col("task") == "reaction") & (pl.col("method") == "chatlens"))
    if reaction.height:
        rows.append({"signal": "reaction (macro-F1)", "n": int(reaction["support"].sum()),
                     "precision": None, "recall": None,
                     "f1": round(float(reaction["f1"].mean()), 4), "accuracy": None})
    return pl.DataFrame(rows, schema={"signal": pl.String, "n": pl.Int64, "precision": pl.Float64,
                                      "recall": pl.Float64, "f1": pl.Float64,
                                      "accuracy": pl.Float64})
