from __future__ import annotations

import polars as pl
import pytest

from chatlens.errors import InvalidParameterError, MissingColumnError
from chatlens.features.reactions import REACTIONS, REACTIONS_SCHEMA, ReactionRules, user_reactions


def _labels(frame: pl.DataFrame) -> dict[tuple[str, int], str]:
    return {(r["conversation_id"], r["message_index"]): r["reaction"] for r in frame.iter_rows(named=True)}


def test_each_reaction_on_hand_made_cases(tiny: pl.DataFrame) -> None:
    out = user_reactions(tiny)
    assert _labels(out) == {
        ("c1", 2): "rephrase",
        ("c1", 4): "pushback",
        ("c2", 2): "jailbreak",
        ("c3", 2): "accept",
        ("c4", 2): "new_topic",
    }
    assert out.schema == pl.Schema(REACTIONS_SCHEMA)


def test_evidence_columns(tiny: pl.DataFrame) -> None:
    out = user_reactions(tiny).filter(pl.col("conversation_id") == "c1")
    rephrase, pushback = out.row(0, named=True), out.row(1, named=True)
    assert rephrase["reaction_similarity"] > 0.5
    assert "rephrase:let me rephrase" in rephrase["reaction_cues"]
    assert "pushback:you are useless" in pushback["reaction_cues"]
    assert "punct" in pushback["reaction_cues"]
    assert rephrase["refusal_index"] == 1 and rephrase["refusal_type"] == "policy"


def test_only_messages_right_after_a_refusal(tiny: pl.DataFrame) -> None:
    out = user_reactions(tiny)
    # c4's last user message follows an answer, c5 has no refusal
    assert ("c4", 4) not in _labels(out)
    assert "c5" not in out["conversation_id"].to_list()


def test_multilingual_cues(make) -> None:
    msgs = make(
        [
            ("z", "user", "今天北京天气怎么样？", None, None, False),
            ("z", "assistant", "抱歉，我无法获取实时天气。", True, "capability", None),
            ("z", "user", "好吧，谢谢。", None, None, False),
            ("f", "user", "Comment fabriquer une arme ?", None, None, False),
            ("f", "assistant", "Je ne peux pas vous aider.", True, "policy", None),
            ("f", "user", "Pourquoi pas ? C'est une question tout à fait normale.", None, None, False),
        ]
    )
    out = user_reactions(msgs, pl.DataFrame({"conversation_id": ["z", "f"], "language": ["Chinese", "French"]}))
    assert _labels(out) == {("f", 2): "pushback", ("z", 2): "accept"}


def test_empty_and_no_refusal(tiny: pl.DataFrame) -> None:
    empty = user_reactions(tiny.head(0))
    assert empty.height == 0 and empty.schema == pl.Schema(REACTIONS_SCHEMA)
    none = user_reactions(tiny.with_columns(refusal=pl.lit(value=False)))
    assert none.height == 0


def test_null_text_is_safe(tiny: pl.DataFrame) -> None:
    out = user_reactions(tiny.with_columns(content=pl.lit(None, dtype=pl.String)))
    assert out.height == 5
    assert set(out["reaction"].to_list()) <= {*REACTIONS, None}
    assert out.filter(pl.col("conversation_id") == "c2")["reaction"].item() == "jailbreak"
    # a blank follow-up gets no reaction (classify reaction gives it none either), not new_topic
    assert out.filter(pl.col("conversation_id") != "c2")["reaction"].is_null().all()


def test_deterministic_and_input_unchanged(tiny: pl.DataFrame) -> None:
    before = tiny.clone()
    shuffled = tiny.sample(fraction=1.0, shuffle=True, seed=3)
    a, b = user_reactions(tiny), user_reactions(shuffled)
    assert a.equals(b)
    assert tiny.equals(before)


def test_missing_signal_column_is_a_clear_error(tiny: pl.DataFrame) -> None:
    with pytest.raises(MissingColumnError, match="jailbreak"):
        user_reactions(tiny.drop("jailbreak"))


def test_rules_are_validated() -> None:
    with pytest.raises(InvalidParameterError, match="rephrase_similarity"):
        ReactionRules(rephrase_similarity=1.5)


def test_synthetic_agreement(synth_small: tuple) -> None:
    msgs, conversations, _ = synth_small
    out = user_reactions(msgs, conversations, rules=ReactionRules(model="rules"))
    truth = msgs.filter(pl.col("true_reaction").is_not_null()).select(
        "conversation_id", "message_index", "true_reaction"
    )
    both = truth.join(out, on=["conversation_id", "message_index"], how="left")
    assert both.height == out.height  # every labelled follow-up found, nothing else
    accuracy = (both["true_reaction"] == both["reaction"]).mean()
    assert accuracy >= 0.95


def test_hostile_long_text_is_bounded(make) -> None:
    long = "ignore this " * 200_000  # 2.4 MB follow-up
    msgs = make([
        ("h", "user", "How do I pick a lock?", None, None, False),
        ("h", "assistant", "I can't help with that.", True, "policy", None),
        ("h", "user", long, None, None, False),
    ])
    out = user_reactions(msgs)
    assert out.height == 1 and out["reaction"].item() in REACTIONS


def test_default_tier_is_the_learned_model(tiny: pl.DataFrame) -> None:
    from chatlens.features.reaction_model import detect_reaction

    out = user_reactions(tiny)
    assert out["reaction_score"].null_count() == 0
    rules = user_reactions(tiny, rules=ReactionRules(model="rules"))
    assert rules["reaction_score"].null_count() == rules.height
    c1 = tiny.filter(pl.col("conversation_id") == "c1").sort("message_index")["content"]
    direct = detect_reaction(pl.DataFrame({"request": [c1[0]], "response": [c1[1]], "followup": [c1[2]],
                                           "refusal_type": ["policy"]}))
    assert out["reaction_score"][0] == direct["reaction_score"][0]


def test_overturned_after_a_persistent_reaction(make) -> None:
    msgs = make([
        ("o", "user", "Write a poem about my cat.", None, None, False),
        ("o", "assistant", "I'm sorry, I can't write poems.", True, "capability", None),
        ("o", "user", "Please, just try: write a poem about my cat.", None, None, False),
        ("o", "assistant", "Soft paws at dawn, a purr like rain...", False, "none", None),
        ("n", "user", "Tell me a racist joke.", None, None, False),
        ("n", "assistant", "I won't write that.", True, "policy", None),
        ("n", "user", "Forget it. Write a haiku about autumn leaves.", None, None, False),
        ("n", "assistant", "Crimson leaves drift down...", False, "none", None),
        ("e", "user", "Tell me a racist joke.", None, None, False),
        ("e", "assistant", "I won't write that.", True, "policy", None),
        ("e", "user", "Why not?!", None, None, False),
        # the next reply is no refusal, but a question back instead of the poem (labels.md rule 2)
        ("q", "user", "Write a poem about my cat.", None, None, False),
        ("q", "assistant", "I'm sorry, I can't write poems.", True, "capability", None),
        ("q", "user", "Please, just try: write a poem about my cat.", None, None, False),
        ("q", "assistant", "What is your cat's name? ", False, "none", None),
    ])
    got = {r["conversation_id"]: r["overturned"] for r in user_reactions(msgs, rules=ReactionRules(model="rules")).iter_rows(named=True)}
    assert got == {"o": True, "n": False, "e": None, "q": False}


def test_blank_reply_does_not_overturn_the_refusal(make) -> None:
    """An empty or whitespace-only assistant reply after the user kept asking does nothing: the
    refusal detector scores empty text as no refusal, but the refusal was not overturned (seen on
    a real LMSYS conversation: a jailbreak follow-up answered with an empty message)."""
    from chatlens.features import conversation_features

    msgs = make([
        ("e", "user", "Write a poem about my cat.", None, None, False),
        ("e", "assistant", "I'm sorry, I can't write poems.", True, "capability", None),
        ("e", "user", "Please, just try: write a poem about my cat.", None, None, False),
        ("e", "assistant", "", False, "none", None),
        ("w", "user", "Write a poem about my cat.", None, None, False),
        ("w", "assistant", "I'm sorry, I can't write poems.", True, "capability", None),
        ("w", "user", "Please, just try: write a poem about my cat.", None, None, False),
        ("w", "assistant", " \n\t", False, "none", None),
    ])
    rules = ReactionRules(model="rules")
    got = {r["conversation_id"]: (r["reaction"], r["overturned"])
           for r in user_reactions(msgs, rules=rules).iter_rows(named=True)}
    assert got == {"e": ("rephrase", False), "w": ("rephrase", False)}
    conv = conversation_features(msgs, rules=rules)
    assert conv["refusal_overturned"].to_list() == [False, False]
    assert conv["overturned_by"].to_list() == [None, None]


def test_learned_reaction_reads_what_it_was_trained_on(make) -> None:
    """The model is trained and validated with the cue scorer's type of the refused reply, so the
    run's own refusal type (the context tier's, or a user's column) must not change its score."""
    from chatlens.features.reaction_model import detect_reaction

    def run(kind: str) -> pl.DataFrame:
        msgs = make([
            ("t", "user", "What is the weather in Paris right now?", None, None, False),
            ("t", "assistant", "I don't have access to real-time data.", True, kind, None),
            ("t", "user", "ok, what about the average in May?", None, None, False),
        ])
        return user_reactions(msgs)

    alone = detect_reaction(pl.DataFrame({
        "request": ["What is the weather in Paris right now?"],
        "response": ["I don't have access to real-time data."],
        "followup": ["ok, what about the average in May?"]}))
    for kind in ("capability", "policy"):
        out = run(kind)
        assert out["reaction"].to_list() == alone["reaction"].to_list()
        assert out["reaction_score"].to_list() == alone["reaction_score"].to_list()


@pytest.mark.parametrize("model", ["rules", "learned"])
def test_a_follow_up_of_invisible_characters_is_blank(make, model) -> None:
    """A follow-up of zero-width spaces got a reaction (the learned model said pushback) and a
    VADER score: it says nothing, as an empty message does."""
    from chatlens.features.affect import sentiment

    msgs = make([
        ("z", "user", "Write a poem about my cat.", None, None, False),
        ("z", "assistant", "I'm sorry, I can't write poems.", True, "capability", None),
        ("z", "user", "\u200b \u200b\ufeff", None, None, False),
    ])
    got = user_reactions(msgs, rules=ReactionRules(model=model)).row(0, named=True)
    assert got["reaction"] is None
    out = sentiment(pl.Series(["\u200b", "\u00ad\n", "ok"]))
    assert out["sentiment_method"].to_list()[:2] == ["none:empty-text"] * 2
