"""``refusal_overturned`` on real conversations: the run's rule against readers' judgements.

Why a module of its own: the other real-set tasks judge one message (or a message and its
follow-up); this one judges what happens *after* a refusal, so it needs the whole conversation.
Each labelled refusal with an ``overturned`` judgement (the reader read the conversation to its
end) is looked up in the output of the run's own stages — the signals stage and the reaction step
of the behaviour stage — over the labelled conversations, and scored on the follow-up's
``overturned`` flag (:mod:`chatlens.features.reactions`). A refusal the detector missed has no
follow-up row, so it counts as "not overturned": errors of the refusal detector propagate here,
as they do in a run.

Every number is held out:

* ``rules`` — cue scorer and rule reactions, never trained on this set;
* ``default (cv)`` — the context refusal model and the learned reaction model as a run uses them,
  but refitted for each of 5 folds grouped by conversation without that fold's conversations
  (both models train on this set, so the shipped weights would score in-sample);
* ``default (leave-source-out)`` — the same with one source left out of training at a time, the
  forecast for a new user's log.

The refitted models reach the run's code path through
:func:`chatlens.signals.refusal_model.using_model` and
:func:`chatlens.features.reaction_model.using_weights`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from chatlens.validate.real_eval import binary_row

#: Tier name → (refusal, jailbreak, reaction) tiers of the run.
TIERS = {
    "rules (held out)": ("rules", "rules", "rules"),
    "default (cv)": ("context", "learned", "learned"),
    "default (leave-source-out)": ("context", "learned", "learned"),
}
N_FOLDS = 5


def _conversations(labels: pl.DataFrame, data_dir: Path) -> pl.DataFrame:
    """Every message of every conversation holding a judged refusal, one source file at a time."""
    from chatlens.validate.real import _messages

    parts = []
    for file in labels["file"].unique(maintain_order=True).to_list():
        ids = labels.filter(pl.col("file") == file).select("conversation_id").unique()
        m = _messages(data_dir, file).join(ids, on="conversation_id", how="semi")
        parts.append(m.with_columns(conversation_id=pl.lit(file + "|") + pl.col("conversation_id")))
    return pl.concat(parts)


def _run_tier(msgs: pl.DataFrame, keys: pl.DataFrame, tiers: tuple[str, str, str]) -> pl.Series:
    """The run's ``overturned`` flag of each key's refusal (False where no follow-up row exists:
    a missed refusal is not overturned in a run either)."""
    from chatlens.features._frame import dialog
    from chatlens.features.reactions import ReactionRules, reactions_from_dialog
    from chatlens.signals.messages import add_signals

    refusal_model, jailbreak_model, reaction_model = tiers
    signals = add_signals(msgs, refusal_model=refusal_model, jailbreak_model=jailbreak_model)
    found = reactions_from_dialog(
        dialog(signals, what="overturned validation"), rules=ReactionRules(model=reaction_model)
    )
    got = keys.join(
        found.select("conversation_id", "refusal_index", "overturned"),
        on=["conversation_id", "refusal_index"],
        how="left",
        maintain_order="left",
    )
    return got["overturned"].fill_null(value=False)


def _splits(judged: pl.DataFrame, scheme: str) -> list[np.ndarray]:
    """Conversation keys (``file|conversation_id``) held out together, per fold of ``scheme``."""
    from sklearn.model_selection import GroupKFold

    conv = judged.select(key=pl.col("file") + "|" + pl.col("conversation_id"), source="source")
    if scheme == "default (leave-source-out)":
        return [
            conv.filter(pl.col("source") == s)["key"].unique().to_numpy()
            for s in sorted(conv["source"].unique())
        ]
    keys = conv["key"].to_numpy()
    n_folds = min(N_FOLDS, len(np.unique(keys)))
    if n_folds < 2:
        return [np.unique(keys)]
    return [
        np.unique(keys[test]) for _, test in GroupKFold(n_splits=n_folds).split(keys, groups=keys)
    ]


class _Refitter:
    """Fits the two trained tiers without given conversations (the same estimators and
    hyper-parameters as the shipped weights)."""

    def __init__(self, data_dir: Path, real: pl.DataFrame | None = None) -> None:
        from chatlens.features.reaction_model import featurize, load_weights
        from chatlens.validate.reaction_cv import _conversations, _model_input, reaction_rows
        from chatlens.validate.real import labelled_set
        from chatlens.validate.refusal_model_cv import build_pool, shipped_params

        real = labelled_set(data_dir) if real is None else real
        self.pool = build_pool(data_dir, real)
        self.refusal_params = shipped_params()
        self.reactions = reaction_rows(real)
        self.reaction_x = featurize(_model_input(self.reactions))
        self.reaction_groups = _conversations(self.reactions)
        self.reaction_c = load_weights().C

    def fit(self, held_out: np.ndarray) -> tuple[object, object]:
        """(refusal model, reaction model) trained on every row outside ``held_out``
        conversations (the refusal pool's other labelled sets stay in training)."""
        from chatlens.features.reaction_model import ReactionModel
        from chatlens.validate.refusal_model_cv import _fit

        out = np.isin(self.pool.frame["cluster"].to_numpy(), held_out)
        refusal = _fit(self.pool, ~out, **self.refusal_params)
        keep = ~np.isin(self.reaction_groups, held_out)
        reaction = ReactionModel(C=self.reaction_c, calibrate=False).fit_matrix(
            self.reaction_x[keep],
            self.reactions["reaction"].to_numpy()[keep],
            self.reaction_groups[keep],
        )
        return refusal, reaction


def overturned_predictions(labels: pl.DataFrame, data_dir: str | Path,
                           real: pl.DataFrame | None = None) -> pl.DataFrame:
    """``item`` and the predicted ``overturned`` of each judged refusal, per tier (column); the
    trained tiers are scored fold by fold with models that never saw the fold's conversations."""
    from chatlens.features.reaction_model import using_weights
    from chatlens.signals.refusal_model import using_model

    judged = labels.filter(pl.col("overturned").is_not_null())
    msgs = _conversations(judged, Path(data_dir))
    keys = judged.select(
        "item",
        conversation_id=pl.col("file") + "|" + pl.col("conversation_id"),
        refusal_index=pl.col("message_index").cast(pl.Int32),
    )
    out = keys.select("item")
    refit = None
    for tier, tiers in TIERS.items():
        if tier.startswith("rules"):
            out = out.with_columns(_run_tier(msgs, keys, tiers).alias(tier))
            continue
        refit = refit or _Refitter(Path(data_dir), real)
        pred = np.zeros(keys.height, dtype=bool)
        for held_out in _splits(judged, tier):
            rows = keys["conversation_id"].is_in(held_out.tolist()).to_numpy()
            refusal, reaction = refit.fit(held_out)
            with using_model(refusal), using_weights(reaction):
                pred[rows] = _run_tier(
                    msgs.filter(pl.col("conversation_id").is_in(held_out.tolist())),
                    keys.filter(pl.Series(rows)),
                    tiers,
                ).to_numpy()
        out = out.with_columns(pl.Series(tier, pred))
    return out


def evaluate_overturned(labels: pl.DataFrame, data_dir: str | Path,
                        real: pl.DataFrame | None = None) -> pl.DataFrame:
    """Precision, recall and F1 (conversation-bootstrap 95% CIs) per tier, overall and per source.

    ``real``: the labelled set with its text, when the caller has already read it
    (:func:`~chatlens.validate.real.labelled_set`), so the refitted tiers do not read it again."""
    judged = labels.filter(pl.col("overturned").is_not_null())
    if judged.height == 0:
        return pl.DataFrame()
    pred = judged.select("item", "source", "file", "conversation_id", "overturned").join(
        overturned_predictions(judged, data_dir, real), on="item", how="left"
    )
    clusters = (pred["file"] + "|" + pred["conversation_id"]).to_numpy()
    gold = pred["overturned"].to_numpy().astype(bool)
    rows = []
    for tier in TIERS:
        p = pred[tier].to_numpy().astype(bool)
        groups = [("all", np.ones(len(gold), dtype=bool))] + [
            (f"source={s}", (pred["source"] == s).to_numpy())
            for s in sorted(pred["source"].unique())
        ]
        for group, mask in groups:
            rows.append(
                {
                    "detector": tier,
                    "group": group,
                    **binary_row(gold[mask], p[mask], clusters[mask]),
                }
            )
    return pl.DataFrame(rows)
