"""The detectors ``chatlens validate`` runs on the real labelled set, as frame → columns adapters.

Why adapters: the real set is judged in context, so a detector receives the whole labelled frame
(``request``, ``response``, ``followup``) and returns per-row columns. The rule tiers look at the
response only today; the reaction classifier is given the gold refusal and sees the request and
the follow-up, exactly as it does inside ``analyze``. The learned reaction model is trained on
this set, so its detector returns grouped cross-validated (out-of-fold) labels, never in-sample
ones (:mod:`chatlens.validate.reaction_cv`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl

from chatlens.validate.real_eval import Detector


def refusal_detectors() -> dict[str, Detector]:
    """Refusal tiers by name: rules, legacy, learned (shipped weights, never trained on this set)."""
    from chatlens.signals.refusal import detect_refusal
    from chatlens.validate.baseline import xstest_strmatch

    out: dict[str, Detector] = {
        "rules": lambda f: detect_refusal(f["response"]),
        "legacy": lambda f: detect_refusal(f["response"], profile="legacy"),
        "xstest-strmatch (baseline)": lambda f: pl.DataFrame({
            "refusal": xstest_strmatch(f["response"]),
            "refusal_type": pl.Series([None] * f.height, dtype=pl.String),
            "refusal_score": xstest_strmatch(f["response"]).cast(pl.Float64),
        }),
    }
    from chatlens.signals.learned import detect_refusal_learned, weights_available

    if weights_available():
        out["learned"] = lambda f: detect_refusal_learned(f["response"])
    return out


def reaction_rules(frame: pl.DataFrame) -> np.ndarray:
    """The ``analyze`` reaction rules on (request, refused response, follow-up) triples.

    Each labelled refusal becomes a three-message dialogue whose assistant message is marked
    refused (the gold label), and whose user messages carry the jailbreak signal. The rule tier
    only (``ReactionRules(model="rules")``): the learned tier trained on this set, so it is
    reported out of fold by :func:`reaction_detectors`' ``learned``.
    """
    from chatlens.features.reactions import ReactionRules, user_reactions
    from chatlens.signals.jailbreak import detect_jailbreak

    ids = frame["item"].to_list()
    n = len(ids)
    triples = frame.select("request", "response", "followup").iter_rows()
    msgs = pl.DataFrame({
        "conversation_id": [i for i in ids for _ in range(3)],
        "message_index": [0, 1, 2] * n,
        "role": ["user", "assistant", "user"] * n,
        "content": [text for row in triples for text in row],
    }, schema_overrides={"message_index": pl.Int32, "content": pl.String})
    is_user = pl.col("role") == "user"
    msgs = msgs.with_columns(
        refusal=~is_user,
        jailbreak=detect_jailbreak(msgs["content"])["jailbreak"] & is_user,
    )
    found = user_reactions(msgs, rules=ReactionRules(model="rules")).select("conversation_id", "reaction")
    out = pl.DataFrame({"conversation_id": ids}).join(found, on="conversation_id", how="left")
    return out["reaction"].fill_null("unclear").to_numpy()


def reaction_detectors() -> dict[str, Callable[[pl.DataFrame], np.ndarray]]:
    """Reaction tiers by name: ``rules`` (``analyze``'s cascade) and the learned model, out of
    fold (grouped CV by conversation) and out of source (leave one source out)."""
    from chatlens.validate.reaction_cv import reaction_learned_loso, reaction_learned_oof

    return {"rules": reaction_rules, "learned (cv)": reaction_learned_oof,
            "learned (leave-source-out)": reaction_learned_loso}
