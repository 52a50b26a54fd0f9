"""Measured quality of the features layer: synthetic ground truth and TweetEval.

Why: a reaction label, an abandonment flag or a profanity count is only worth reporting with its
error rates. Two sources of truth are used:

* the synthetic corpus (:func:`chatlens.synth.synth`), whose generator records the user's
  reaction after every refusal, abandonment, profanity slots and sentiment per message. The
  features layer is fed the *true* refusal and jailbreak columns, so its own errors are measured
  independently of the detectors'. Caveat: the cue lexicons were written with knowledge of the
  kinds of phrasing the generator uses, so synthetic scores are an upper bound;
* TweetEval (SemEval; real tweets with human labels) for the sentiment scorer (macro-recall, as
  on the TweetEval leaderboard) and the profanity lexicon as an offensive-language detector.

Both return a :class:`ValidationReport` whose ``metrics`` frame has one row per
(task, method, label): precision, recall, f1, support.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import polars as pl

from chatlens.errors import InvalidParameterError, SourceError
from chatlens.features.reactions import ReactionRules
from chatlens.stats.metrics import per_label_metrics

METRICS_SCHEMA: dict[str, pl.DataType] = {
    "dataset": pl.String,
    "task": pl.String,
    "method": pl.String,
    "label": pl.String,
    "precision": pl.Float64,
    "recall": pl.Float64,
    "f1": pl.Float64,
    "support": pl.Int64,
}


@dataclass(frozen=True)
class ValidationReport:
    """Per-label metrics plus headline numbers (``summary``: name -> value)."""

    metrics: pl.DataFrame
    summary: dict[str, float]


def _tag(frame: pl.DataFrame, dataset: str, task: str, method: str) -> pl.DataFrame:
    return frame.with_columns(
        dataset=pl.lit(dataset), task=pl.lit(task), method=pl.lit(method)
    ).select(list(METRICS_SCHEMA))


def _macro_recall(m: pl.DataFrame) -> float:
    return float(m.get_column("recall").mean() or 0.0)


def _first(m: pl.DataFrame, column: str) -> float:
    """The first row's rate as a summary number (NaN where it is undefined)."""
    value = m.get_column(column)[0]
    return float("nan") if value is None else float(value)


def _binary(truth: pl.Series, pred: pl.Series) -> pl.DataFrame:
    t = truth.cast(pl.Boolean).replace_strict({True: "yes", False: "no"}, return_dtype=pl.String)
    p = pred.cast(pl.Boolean).replace_strict({True: "yes", False: "no"}, return_dtype=pl.String)
    return per_label_metrics(t, p, ["yes"])


def validate_on_synth(
    n_conversations: int = 20_000,
    *,
    seed: int = 7,
    path: str | Path | None = None,
    signals: Literal["truth", "detected"] = "truth",
    reactions: ReactionRules | None = None,
) -> ValidationReport:
    """Reaction, abandonment, profanity and sentiment quality against synthetic ground truth.

    ``path``: an existing synthetic corpus (its ``.truth.parquet`` sidecars next to it); when
    None, one of ``n_conversations`` conversations is generated with ``seed`` in a temporary
    folder. ``signals="truth"`` feeds the true refusal/jailbreak columns (this layer's own
    errors); ``"detected"`` runs :func:`chatlens.signals.detect_refusal` and
    :func:`chatlens.signals.detect_jailbreak` first (end-to-end errors). ``reactions`` picks the
    reaction tier (default: the learned one, as in ``analyze``; ``ReactionRules(model="rules")``
    for the rule cascade, whose cues were written with the generator's phrase bank).
    """
    if signals not in ("truth", "detected"):
        msg = f"The 'signals' parameter of validate_on_synth must be 'truth' or 'detected'. Got {signals!r} instead."
        raise InvalidParameterError(msg)
    import chatlens
    from chatlens.features.affect import legacy_profanity_count, profanity_count, sentiment
    from chatlens.features.conversation import conversation_features
    from chatlens.features.legacy import legacy_conversation_features
    from chatlens.features.reactions import REACTIONS, user_reactions
    from chatlens.synth import sidecar_paths, synth

    with tempfile.TemporaryDirectory() as tmp:
        if path is None:
            path = Path(tmp) / "validate.parquet"
            synth(n_conversations, seed=seed, out=path)
        path = Path(path)
        truth_path, conv_truth_path, _ = sidecar_paths(path)
        if not truth_path.exists() or not conv_truth_path.exists():
            msg = f"validate_on_synth: ground truth sidecars not found next to {path} (expected {truth_path.name})."
            raise SourceError(msg)
        corpus = chatlens.read(path)
        truth = pl.read_parquet(truth_path, glob=False)
        conv_truth = pl.read_parquet(conv_truth_path, glob=False)
    keys = ["conversation_id", "message_index"]
    signal_cols = ["refusal", "refusal_type", "refusal_partial", "jailbreak"] if signals == "truth" else []
    msgs = corpus.messages.join(
        truth.select(*keys, *signal_cols,
                     pl.col("reaction").alias("_true_reaction"),
                     pl.col("profanity_count").alias("_true_prof"),
                     pl.col("sentiment").alias("_true_sent")),
        on=keys, how="left",
    )
    if signals == "detected":
        msgs = _detect(msgs)
    parts = []
    summary: dict[str, float] = {}
    # 1. reactions
    pred = user_reactions(msgs, corpus.conversations, rules=reactions)
    both = (
        msgs.filter(pl.col("_true_reaction").is_not_null())
        .select(*keys, "_true_reaction")
        .join(pred.select(*keys, "reaction"), on=keys, how="full", coalesce=True)
    )
    seen = set(both["_true_reaction"].drop_nulls()) | set(both["reaction"].drop_nulls())
    rm = per_label_metrics(both["_true_reaction"], both["reaction"], [r for r in REACTIONS if r in seen])
    parts.append(_tag(rm, "synth", "reaction", "chatlens"))
    # a follow-up labelled on one side only (a missed or hallucinated refusal) counts as wrong
    summary["reaction_accuracy"] = float(
        (both["_true_reaction"] == both["reaction"]).fill_null(value=False).mean() or 0.0
    )
    summary["reaction_macro_f1"] = float(rm["f1"].mean() or 0.0)
    # 2. abandonment (conversation level)
    feats = conversation_features(msgs, corpus.conversations)
    legacy = legacy_conversation_features(msgs, corpus.conversations)
    ab = conv_truth.select("conversation_id", "abandoned").join(
        feats.select("conversation_id", "abandoned_after_refusal"), on="conversation_id"
    ).join(legacy.select(pl.col("conv_id").alias("conversation_id"), "conversation_abandoned"), on="conversation_id")
    parts.append(_tag(_binary(ab["abandoned"], ab["abandoned_after_refusal"]), "synth", "abandonment", "chatlens"))
    parts.append(_tag(_binary(ab["abandoned"], ab["conversation_abandoned"]), "synth", "abandonment", "legacy"))
    summary["abandonment_agreement"] = float((ab["abandoned"] == ab["abandoned_after_refusal"]).mean() or 0.0)
    summary["abandonment_agreement_legacy"] = float((ab["abandoned"] == ab["conversation_abandoned"]).mean() or 0.0)
    # 3. profanity (user messages)
    users = msgs.filter(pl.col("role") == "user").join(
        corpus.conversations.select("conversation_id", pl.col("language").alias("_clang")),
        on="conversation_id", how="left",
    )
    ours = profanity_count(users["content"], users["_clang"])
    old = legacy_profanity_count(users["content"])
    true_any = users["_true_prof"] > 0
    parts.append(_tag(_binary(true_any, ours > 0), "synth", "profanity", "chatlens"))
    parts.append(_tag(_binary(true_any, old > 0), "synth", "profanity", "legacy"))
    summary["profanity_exact_count"] = float((ours == users["_true_prof"]).mean() or 0.0)
    # 4. sentiment (user messages)
    s_ours = sentiment(users["content"], users["_clang"])
    s_old = sentiment(users["content"], pl.Series([None] * users.height, dtype=pl.String), thresholds="legacy")
    s_old_label = s_old["sentiment_label"].fill_null("neu")  # the original: every text through VADER
    sm = per_label_metrics(users["_true_sent"], s_ours["sentiment_label"], ["neg", "neu", "pos"])
    sl = per_label_metrics(users["_true_sent"], s_old_label, ["neg", "neu", "pos"])
    parts.append(_tag(sm, "synth", "sentiment", "chatlens"))
    parts.append(_tag(sl, "synth", "sentiment", "vader-legacy"))
    summary["sentiment_macro_recall"] = _macro_recall(sm)
    summary["sentiment_macro_recall_vader_legacy"] = _macro_recall(sl)
    summary["sentiment_coverage"] = float(s_ours["sentiment"].is_not_null().mean() or 0.0)
    return ValidationReport(pl.concat(parts), summary)


def _detect(msgs: pl.DataFrame) -> pl.DataFrame:
    """Attach the signals layer's refusal (assistant rows) and jailbreak (user rows) columns."""
    from chatlens.signals import detect_jailbreak, detect_refusal

    msgs = msgs.with_row_index("_row")
    asst = msgs.filter(pl.col("role") == "assistant")
    users = msgs.filter(pl.col("role") == "user")
    ref = detect_refusal(asst.get_column("content")).select("refusal", "refusal_type", "refusal_partial")
    jb = detect_jailbreak(users.get_column("content")).select("jailbreak")
    cols = pl.concat(
        [
            pl.concat([asst.select("_row"), ref], how="horizontal"),
            pl.concat([users.select("_row"), jb], how="horizontal"),
        ],
        how="diagonal",
    )
    return msgs.join(cols, on="_row", how="left").sort("_row").drop("_row")


def _read_lines(folder: Path, split: str) -> tuple[pl.Series, pl.Series]:
    text_path, label_path = folder / f"{split}_text.txt", folder / f"{split}_labels.txt"
    if not text_path.exists() or not label_path.exists():
        msg = f"TweetEval files not found: expected {text_path} and {label_path}."
        raise SourceError(msg)
    labels = [int(x) for x in label_path.read_text(encoding="utf-8").split()]
    texts = text_path.read_text(encoding="utf-8").split("\n")[: len(labels)]
    if len(texts) != len(labels):
        msg = f"TweetEval {folder.name}/{split}: {len(texts)} texts but {len(labels)} labels."
        raise SourceError(msg)
    return pl.Series("text", texts, dtype=pl.String), pl.Series("label", labels, dtype=pl.Int64)


def validate_on_tweeteval(data_dir: str | Path, *, split: str = "test") -> ValidationReport:
    """Sentiment macro-recall and profanity-as-offensive P/R/F1 on TweetEval ``split``.

    ``data_dir`` is the ``tweeteval`` folder (with ``sentiment/`` and ``offensive/``). Sentiment:
    ``chatlens`` (VADER, thresholds of ``data/features/sentiment.yaml`` chosen on the validation
    split) vs ``vader-legacy`` (±0.05). Offensive: whole-word multilingual profanity count > 0 vs
    the original 16-word substring count > 0.
    """
    from chatlens.features.affect import legacy_profanity_count, profanity_count, sentiment

    root = Path(data_dir)
    parts = []
    summary: dict[str, float] = {}
    texts, labels = _read_lines(root / "sentiment", split)
    truth = labels.replace_strict({0: "neg", 1: "neu", 2: "pos"}, return_dtype=pl.String)
    english = pl.Series([None] * len(texts), dtype=pl.String).fill_null("English")
    ours = sentiment(texts, english)["sentiment_label"]
    old = sentiment(texts, english, thresholds="legacy")["sentiment_label"]
    m_ours = per_label_metrics(truth, ours, ["neg", "neu", "pos"])
    m_old = per_label_metrics(truth, old, ["neg", "neu", "pos"])
    parts += [_tag(m_ours, "tweeteval", "sentiment", "chatlens"), _tag(m_old, "tweeteval", "sentiment", "vader-legacy")]
    summary["sentiment_macro_recall"] = _macro_recall(m_ours)
    summary["sentiment_macro_recall_vader_legacy"] = _macro_recall(m_old)
    texts, labels = _read_lines(root / "offensive", split)
    off = labels == 1
    p_ours = profanity_count(texts, pl.Series([None] * len(texts), dtype=pl.String).fill_null("English")) > 0
    p_old = legacy_profanity_count(texts) > 0
    mo, ml = _binary(off, p_ours), _binary(off, p_old)
    parts += [_tag(mo, "tweeteval", "offensive", "chatlens-profanity"), _tag(ml, "tweeteval", "offensive", "legacy-profanity")]
    summary["offensive_precision"] = _first(mo, "precision")
    summary["offensive_recall"] = _first(mo, "recall")
    summary["offensive_precision_legacy"] = _first(ml, "precision")
    summary["offensive_recall_legacy"] = _first(ml, "recall")
    return ValidationReport(pl.concat(parts), summary)


__all__ = ["METRICS_SCHEMA", "ValidationReport", "per_label_metrics", "validate_on_synth", "validate_on_tweeteval"]
