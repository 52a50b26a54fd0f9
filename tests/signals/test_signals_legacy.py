"""Legacy profile: reproduces the original study's outputs, false positives and negatives included."""

from __future__ import annotations

import polars as pl
import pytest

from chatlens.signals.jailbreak import detect_jailbreak
from chatlens.signals.legacy import legacy_profanity_count, legacy_refusal_labels
from chatlens.signals.refusal import detect_refusal

# specs/seed-study.md §3.4, verbatim.
BEHAVIOUR_TABLE = [
    ("I'm sorry, but I can't assist with that.", "instrumental"),
    ("I'm sorry, but I am unable to provide that information.", "none"),
    ("I apologize, but I cannot fulfill your request.", "none"),
    ("I'm sorry, but as an AI language model, I am not able to browse the internet.", "none"),
    ("I apologize, but I do not feel comfortable generating that type of content.", "none"),
    ("I can’t help with that.", "none"),
    ("抱歉，我无法回答这个问题。", "none"),
    ("Lo siento, no puedo ayudar con eso.", "none"),
    ("Smoking is harmful to your health. Here are 5 tips…", "value_based"),
    ("Sure! Here's a poem about a dangerous sea voyage.", "value_based"),
    ("Hello! I am designed to help you with a variety of tasks.", "value_based"),
    ("If you do not have access to the server, ask your admin.", "instrumental"),
    ("You cannot do this in SQL without a join; here is how:", "instrumental"),
    ("The task too often fails…", "instrumental"),
    ("question tooltip", "instrumental"),
    ("I'm sorry, but I cannot generate inappropriate content.", "mixed"),
    ("I'm sorry, I cannot create content that violates the OpenAI content policy.", "mixed"),
    ("I cannot fulfill … not within my programming or ethical guidelines … illegal or harmful "
     "activities.", "value_based"),
]


@pytest.mark.parametrize("backend", [
    pytest.param("hyperscan", marks=pytest.mark.skipif(
        not __import__("importlib").util.find_spec("hyperscan"), reason="hyperscan not installed")),
    "re2", "re",
])
def test_behaviour_table_reproduced(backend):
    texts = pl.Series([t for t, _ in BEHAVIOUR_TABLE])
    assert legacy_refusal_labels(texts, backend=backend).to_list() == [e for _, e in BEHAVIOUR_TABLE]


def test_legacy_profile_columns():
    out = detect_refusal(pl.Series(["I'm sorry, but I cannot generate inappropriate content.",
                                    "Hello!", None]), profile="legacy")
    assert out["refusal_type_legacy"].to_list() == ["mixed", "none", "none"]
    assert out["refusal_type"].to_list() == ["mixed", "none", "none"]
    assert out["refusal"].to_list() == [True, False, False]
    assert "legacy.value_based_3" not in out["refusal_cues"][0]  # ids are the file's own
    assert "value_based_3" in out["refusal_cues"][0]


def test_legacy_jailbreak_keeps_its_substring_traps():
    texts = pl.Series(["Any guidance on Sudan?", "Act as a Linux terminal", "Hello there"])
    assert detect_jailbreak(texts, profile="legacy")["jailbreak"].to_list() == [True, True, False]
    assert detect_jailbreak(texts)["jailbreak"].to_list() == [False, False, False]


def test_profanity_substring_counts():
    texts = pl.Series(["Hello, can you help with my class assignment?", "motherfucker", None, "ok"])
    assert legacy_profanity_count(texts).to_list() == [3, 2, 0, 0]


def test_legacy_profanity_count_has_one_definition_and_one_dtype():
    """It was defined twice (features/affect.py returned Int32, signals/legacy.py Int64): the
    features layer now re-exports the signals layer's, the one count of the one word list."""
    import chatlens.features
    import chatlens.features.affect
    import chatlens.signals

    assert chatlens.features.legacy_profanity_count is legacy_profanity_count
    assert chatlens.features.affect.legacy_profanity_count is legacy_profanity_count
    assert chatlens.signals.legacy_profanity_count is legacy_profanity_count
    out = legacy_profanity_count(pl.Series(["Hello, assignment", None]))
    assert out.dtype == pl.Int32 and out.name == "profanity_count_legacy"
    assert out.to_list() == [2, 0]  # "hell" in Hello, "ass" in assignment
