"""How well a run's detectors agree with a ground-truth sidecar (the synthetic demo corpus).

The demo corpus is generated with its truth (``<corpus>.truth.parquet``: per message, whether it
is a refusal, of which type, a jailbreak attempt, and the user's reaction after a refusal), so a
demo run can show next to its results how far to trust them. On real logs there is no sidecar;
``chatlens validate`` measures the detectors on human-labelled sets instead.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from chatlens.stats.metrics import binary_metrics

KEYS = ["conversation_id", "message_index"]


def _binary(frame: pl.DataFrame, name: str, pred: str, gold: str) -> dict[str, object]:
    m = binary_metrics(frame.get_column(gold).fill_null(value=False).to_numpy(),
                       frame.get_column(pred).fill_null(value=False).to_numpy())
    return {"signal": name, "n": frame.height, "tp": m.tp, "fp": m.fp, "fn": m.fn,
            "precision": m.precision, "recall": m.recall, "f1": m.f1, "accuracy": None}


def truth_agreement(run_dir: str | Path, truth_path: str | Path) -> pl.DataFrame:
    """One row per signal: precision / recall / F1 (binary) or accuracy (labels) against truth.

    ``refusal`` is scored on assistant messages, ``jailbreak`` on user messages,
    ``refusal_type`` as accuracy on messages both sides call a refusal, and ``reaction`` as
    accuracy on user messages that follow a refusal both sides agree on.
    """
    run = pl.read_parquet(Path(run_dir) / "messages.parquet", glob=False)
    needed = {"refusal", "refusal_type", "jailbreak"}
    if not needed <= set(run.columns):
        return pl.DataFrame()
    truth = pl.read_parquet(truth_path, glob=False).select(
        *KEYS,
        pl.col("refusal").alias("gold_refusal"),
        pl.col("refusal_type").alias("gold_refusal_type"),
        pl.col("jailbreak").alias("gold_jailbreak"),
        pl.col("reaction").alias("gold_reaction"),
    )
    joined = run.join(truth, on=KEYS, how="inner")
    assistant = joined.filter(pl.col("role") == "assistant")
    user = joined.filter(pl.col("role") == "user")
    rows = [
        _binary(assistant, "refusal", "refusal", "gold_refusal"),
        _binary(user, "jailbreak", "jailbreak", "gold_jailbreak"),
    ]
    both = assistant.filter(pl.col("refusal") & pl.col("gold_refusal"))
    rows.append({"signal": "refusal_type", "n": both.height, "accuracy": float(
        (both.get_column("refusal_type") == both.get_column("gold_refusal_type")).mean() or 0.0
    ) if both.height else None})
    if "reaction" in user.columns:
        reacted = user.filter(pl.col("reaction").is_not_null() & pl.col("gold_reaction").is_not_null())
        rows.append({"signal": "reaction", "n": reacted.height, "accuracy": float(
            (reacted.get_column("reaction") == reacted.get_column("gold_reaction")).mean() or 0.0
        ) if reacted.height else None})
    schema = {"signal": pl.String, "n": pl.Int64, "tp": pl.Int64, "fp": pl.Int64, "fn": pl.Int64,
              "precision": pl.Float64, "recall": pl.Float64, "f1": pl.Float64, "accuracy": pl.Float64}
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)
