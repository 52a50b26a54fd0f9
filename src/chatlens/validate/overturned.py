"""``refusal_overturned`` on real conversations: the run's rule against readers' judgements.

Why a module of its own: the other real-set tasks judge one message (or a message and its
follow-up); this one judges what happens *after* a refusal, so it needs the whole conversation.
Each labelled refusal with an ``overturned`` judgement (the reader read the conversation to its
end) is looked up in the output of the run's own stages — the signals stage and the reaction step
of the behaviour stage — over the labelled conversations, and scored on the follow-up's
``overturned`` flag (:mod:`chatlens.features.reactions`). A refusal the detector missed has no
follow-up row, so it counts as "not overturned": errors of the refusal detector propagate here,
as they do in a run.

Two tiers are reported: ``rules`` (cue scorer, rule reactions; never trained on this set, so held
out) and ``default`` (the context refusal model and the learned reaction model, which were trained
on these messages: an in-sample, optimistic number, labelled as such).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from chatlens.validate.real_eval import binary_row

#: Tier name → (refusal, jailbreak, reaction) tiers of the run.
TIERS = {"rules (held out)": ("rules", "rules", "rules"),
         "default (in-sample)": ("context", "learned", "learned")}


def _conversations(labels: pl.DataFrame, data_dir: Path) -> pl.DataFrame:
    """Every message of every conversation holding a judged refusal, one source file at a time."""
    from chatlens.validate.real import _messages

    parts = []
    for file in labels["file"].unique(maintain_order=True).to_list():
        ids = labels.filter(pl.col("file") == file).select("conversation_id").unique()
        m = _messages(data_dir, file).join(ids, on="conversation_id", how="semi")
        parts.append(m.with_columns(conversation_id=pl.lit(file + "|") + pl.col("conversation_id")))
    return pl.concat(parts)


def overturned_predictions(labels: pl.DataFrame, data_dir: str | Path) -> pl.DataFrame:
    """``item`` and the predicted ``overturned`` of each judged refusal, per tier (column)."""
    from chatlens.features._frame import dialog
    from chatlens.features.reactions import ReactionRules, reactions_from_dialog
    from chatlens.signals.messages import add_signals

    judged = labels.filter(pl.col("overturned").is_not_null())
    msgs = _conversations(judged, Path(data_dir))
    keys = judged.select("item", conversation_id=pl.col("file") + "|" + pl.col("conversation_id"),
                         refusal_index=pl.col("message_index").cast(pl.Int32))
    out = keys.select("item")
    for tier, (refusal_model, jailbreak_model, reaction_model) in TIERS.items():
        signals = add_signals(msgs, refusal_model=refusal_model, jailbreak_model=jailbreak_model)
        found = reactions_from_dialog(dialog(signals, what="overturned validation"),
                                      rules=ReactionRules(model=reaction_model))
        got = keys.join(found.select("conversation_id", "refusal_index", "overturned"),
                        on=["conversation_id", "refusal_index"], how="left")
        out = out.with_columns(got["overturned"].fill_null(value=False).alias(tier))
    return out


def evaluate_overturned(labels: pl.DataFrame, data_dir: str | Path) -> pl.DataFrame:
    """Precision, recall and F1 (conversation-bootstrap 95% CIs) per tier, overall and per source."""
    judged = labels.filter(pl.col("overturned").is_not_null())
    if judged.height == 0:
        return pl.DataFrame()
    pred = judged.select("item", "source", "file", "conversation_id", "overturned").join(
        overturned_predictions(judged, data_dir), on="item", how="left")
    clusters = (pred["file"] + "|" + pred["conversation_id"]).to_numpy()
    gold = pred["overturned"].to_numpy().astype(bool)
    rows = []
    for tier in TIERS:
        p = pred[tier].to_numpy().astype(bool)
        groups = [("all", np.ones(len(gold), dtype=bool))] + [
            (f"source={s}", (pred["source"] == s).to_numpy()) for s in sorted(pred["source"].unique())]
        for group, mask in groups:
            rows.append({"detector": tier, "group": group, **binary_row(gold[mask], p[mask], clusters[mask])})
    return pl.DataFrame(rows)
