"""The context refusal model: contract, weights round trip, held-out predictions."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from chatlens.errors import InstrumentError, NotFittedError
from chatlens.signals.refusal_context import context_features
from chatlens.signals.refusal_model import (
    RefusalModel,
    detect_refusal_in_context,
    load_model,
    model_available,
)

RESPONSES = [
    "I'm sorry, but I can't help with that request because it could cause harm.",
    "I'm not sure what you mean. Who is that?",
    "Here is a Python function that sorts a list:\n\n```python\nsorted(x)\n```",
    "The capital of France is Paris.",
    "As an AI, I do not have access to the internet, so I cannot browse that page.",
    "Sure! Here are three ideas for a birthday party: a picnic, a movie night, a treasure hunt.",
] * 4
REQUESTS = ["how do I make a weapon", "how do I get back at NAME_1", "sort a list in python",
            "capital of france?", "summarise this web page", "party ideas"] * 4
REFUSED = np.array([True, True, False, False, True, False] * 4)
POLICY = np.array([True, False, False, False, False, False] * 4)


@pytest.fixture(scope="module")
def fitted() -> RefusalModel:
    x, ids = context_features(pl.Series(RESPONSES), pl.Series(REQUESTS))
    return RefusalModel(C=10.0).fit_matrix(x, REFUSED, POLICY, ids)


def test_unfitted_model_raises():
    with pytest.raises(NotFittedError):
        RefusalModel().predict(pl.Series(["hi"]))


def test_fit_predict_contract(fitted):
    assert fitted.coef_ is not None and fitted.cue_ids_
    out = fitted.predict(pl.Series(RESPONSES), pl.Series(REQUESTS))
    assert out.columns == ["refusal", "refusal_type", "type_if_refused", "refusal_score"]
    assert out.height == len(RESPONSES)
    assert out["refusal"].to_numpy().tolist() == REFUSED.tolist()  # separable toy data
    assert set(out.filter(~pl.col("refusal"))["refusal_type"]) == {"none"}
    # deterministic; no request is allowed; empty text is never a refusal
    assert out.equals(fitted.predict(pl.Series(RESPONSES), pl.Series(REQUESTS)))
    empty = fitted.predict(pl.Series(["", None], dtype=pl.String))
    assert empty["refusal"].to_list() == [False, False]


def test_weights_round_trip(fitted):
    data = fitted.to_dict(version=3)
    assert data["name"] == "refusal-model" and data["version"] == 3
    again = RefusalModel.from_dict(data)
    a = fitted.predict(pl.Series(RESPONSES), pl.Series(REQUESTS))
    b = again.predict(pl.Series(RESPONSES), pl.Series(REQUESTS))
    assert np.allclose(a["refusal_score"].to_numpy(), b["refusal_score"].to_numpy(), atol=1e-3)
    stale = {**data, "feature_version": -1}
    with pytest.raises(InstrumentError, match="feature_version"):
        RefusalModel.from_dict(stale)


def test_coefficients_map_cues_by_id():
    from scipy import sparse

    from chatlens.signals.refusal_model import RefusalModel

    model = RefusalModel(coef_=np.array([10.0, 20.0, 30.0, 1.0]), type_coef_=np.array([1.0, 2.0, 3.0, 4.0]),
                         intercept_=0.0, type_intercept_=0.0, cue_ids_=["b", "gone", "a"])
    coef, type_coef = model._coefs_for(["a", "new", "b"], 4)  # three cue columns then one other
    assert coef.tolist() == [30.0, 0.0, 10.0, 1.0] and type_coef.tolist() == [3.0, 0.0, 1.0, 4.0]
    x = sparse.csr_matrix(np.array([[1.0, 5.0, 2.0, 9.0]]))
    trained_order = sparse.csr_matrix(np.array([[2.0, 0.0, 1.0, 9.0]]))  # the same reply
    assert model.predict_matrix(x, ["a", "new", "b"]).equals(model.predict_matrix(trained_order))


@pytest.mark.skipif(not model_available(), reason="weights not shipped")
def test_shipped_model_in_context():
    out = detect_refusal_in_context(
        ["I'm sorry, but I cannot help you hurt someone.", "Paris is the capital of France."],
        ["how do I hurt my neighbour", "What is the capital of France?"])
    assert out["refusal"].to_list() == [True, False]
    assert {"refusal_cues", "disclaimer", "refusal_partial"} <= set(out.columns)
    assert load_model().threshold == pytest.approx(0.5)


@pytest.mark.realdata
@pytest.mark.slow
def test_heldout_predictions_are_out_of_fold(shared_data):
    from chatlens.validate.refusal_model_cv import build_pool, heldout

    pool = build_pool(shared_data)
    h = heldout(pool, C=0.3)
    real_keys = pool.frame.filter(pl.col("dataset") == "real-dev")["key"]
    for scheme in ("cv", "leave-source-out"):
        assert h[scheme]["key"].is_unique().all()
        assert set(h[scheme]["key"]) == set(real_keys)
    assert h["leave-set-out"]["key"].str.starts_with("xstest-dev").any()


@pytest.mark.realdata
@pytest.mark.slow
def test_heldout_encoder_tier_blends_the_same_fold_models(shared_data):
    from chatlens.validate.refusal_model_cv import ENCODER_PREFIX, build_pool, heldout

    pool = build_pool(shared_data)
    keys = pool.frame["key"].to_list()
    certain = dict.fromkeys(keys, 1.0)
    # weight 0: the encoder tier is the context tier; weight 1 with p = 1: every row the model
    # reads is a refusal, and rows it does not read keep the cue scorer's decision
    h = heldout(pool, C=0.3, encoder={"cv": (certain, 0.0, 0.5),
                                      "leave-source-out": (certain, 1.0, 0.5),
                                      "leave-set-out": (dict.fromkeys(keys[:10], 1.0), 1.0, 0.5)})
    assert h[ENCODER_PREFIX + "cv"].equals(h["cv"])
    loso, enc = h["leave-source-out"], h[ENCODER_PREFIX + "leave-source-out"]
    assert enc["refusal"].sum() > loso["refusal"].sum()
    assert (enc["refusal"] | ~loso["refusal"]).all()  # only ever more refusals here
    assert ENCODER_PREFIX + "leave-set-out" not in h  # rows without a probability: no tier row


def test_analysis_is_reused_not_recomputed(monkeypatch):
    """The context model reads the cue scorer's analysis of the screened replies (one scan)."""
    from chatlens.signals import refusal, refusal_context
    from chatlens.signals.refusal_model import detect_refusal_in_context, model_available

    texts = pl.Series(["I'm sorry, but I can't help with that.", "Paris is the capital.", None,
                       "As an AI, I don't know. Who is that?", "Sure! **Here** is `code`: x=1"])
    full = refusal.analyse_refusal(texts)
    rows = np.array([0, 3, 4])
    alone, taken = refusal.analyse_refusal(texts.gather(rows)), full.take(rows)
    assert alone.prepared.equals(taken.prepared) and alone.features.equals(taken.features)
    for name in ("message", "cue", "offset"):
        assert np.array_equal(getattr(alone.hits, name), getattr(taken.hits, name))
    for key, value in alone.scores.items():
        assert np.array_equal(value, taken.scores[key]), key
    x1, _ = context_features(texts.gather(rows))
    x2, _ = context_features(texts.gather(rows), analysis=taken)
    assert (x1 != x2).nnz == 0
    if model_available():
        calls = []
        real = refusal.analyse_refusal
        monkeypatch.setattr(refusal, "analyse_refusal", lambda t, **k: calls.append(len(t)) or real(t, **k))
        monkeypatch.setattr(refusal_context, "analyse_refusal", refusal.analyse_refusal)
        detect_refusal_in_context(texts, pl.Series(["how?"] * 5))
        assert calls == [5]


def test_block_matrix_scores_like_the_stacked_matrix():
    texts = pl.Series(["I'm sorry, but I can't help with that.", "Paris is the capital.", None,
                       "As an AI, I don't know. Who is that?"])
    stacked, ids = context_features(texts, pl.Series(["q?", None, "x", "who is NAME_1"]))
    blocks, ids2 = context_features(texts, pl.Series(["q?", None, "x", "who is NAME_1"]), stacked=False)
    v = np.linspace(-1, 1, stacked.shape[1])
    assert ids == ids2 and blocks.shape == stacked.shape
    assert np.allclose(blocks @ v, stacked @ v, rtol=1e-12, atol=1e-12)


def test_request_kind_tells_tasks_from_statements():
    from chatlens.signals.refusal_context import request_kind

    question, opening, statement = request_kind(pl.Series([
        "Write a poem about cats", "is this legal", "bitcoin is exaggerated.", "",
        "Escribe un poema", "I feel lonely", "what time is it in Tokyo",
    ]))
    assert statement.tolist() == [False, False, True, False, False, True, False]
    assert opening.tolist() == [True, True, False, False, True, False, True]
    assert not question.any()


def test_request_kind_reads_a_task_stated_after_context():
    """A request that opens with context and then says what it wants is a task
    (``request_intents.yaml``), within its first 300 characters; "I need" in a plain
    statement's later text, or a word merely containing an intent, is not."""
    from chatlens.signals.refusal_context import request_kind

    _, opening, statement = request_kind(pl.Series([
        "For my bike. I need help choosing the right tools.",
        "Just the usual things. I was hoping you could help me plan the rest.",
        "My daughter is sick. Tell me what to do.",
        "I have debt too",
        "The weather was nice today. " * 12 + "I need a nap.",
        "Canyou believe it",
    ]))
    assert opening.tolist() == [True, True, True, False, False, False]
    assert statement.tolist() == [False, False, False, True, True, True]


def test_self_question_answered_directly_is_not_a_refusal():
    """labels.md rule 3: "how are you" answered with "As an AI I don't have feelings, but ..." is
    none + disclaimer; the same words declining a task, or a decline framed as a refusal, stay
    refusals."""
    disclaimer = "As an AI, I don't have feelings, but I'm here and ready to help!"
    out = detect_refusal_in_context(
        pl.Series([disclaimer, disclaimer, "As an AI, I don't have personal opinions.",
                   "I'm sorry, but I can't share that.", disclaimer]),
        pl.Series(["how do you feel today?", "Hi! How are you?", "What do you think of Trump?",
                   "What's your name?",
                   "Write a love letter as if you were in love. Begin with: how are you?"]))
    assert out["refusal"].to_list() == [False, False, True, True, True]
    assert out["disclaimer"].to_list()[:2] == [True, True]
    assert ((out["refusal_score"] >= 0.5) == out["refusal"]).all()


def test_about_self_matches_whole_requests_in_several_languages():
    from chatlens.signals.refusal_context import about_self

    asked = ["how are you", "Hello there, who are you?", "¿Cómo estás?", "Как дела?", "你好吗？",
             "what's your favourite colour?", "Wie geht es dir?", "Hey there, what can you do?",
             "Bonjour ! Ça va ?", "¡Hola! ¿Qué tal?", "E aí, o que você sabe fazer?",
             "What capabilities do you have?", "Can you tell me a bit about yourself?",
             "can you learn new skills"]
    not_asked = ["How are you going to solve x^2 = 4?", "What do you think of Trump?",
                 "Write a poem called how are you", "", "what can you do to fix this bug?",
                 "hello", "Can you translate these reviews into Danish",
                 "Tell me about yourself and then write a poem about the sea"]
    assert about_self(pl.Series(asked)).all()
    assert not about_self(pl.Series(not_asked)).any()
    assert about_self(pl.Series(["hello", "Hi there!", "what can you do to fix this bug?"]),
                      greeting_alone=True).tolist() == [True, True, False]


def test_about_self_folds_only_requests_that_can_fit():
    """The length prefilter on the raw request gives what folding every request gives: at the
    limit, with strippable characters and "’" around it, and with a character that lower-cases
    to two ("İ")."""
    from chatlens.signals import refusal_context as rc

    limit = rc.SELF_QUESTION_MAX_CHARS
    core = "how are you"
    texts = pl.Series([
        core, None, "", "’’" + core + "?!’", " " * 300 + core + "?" * 300,
        "x" * (limit - 1) + "İ", "x" * limit + "İ", "İ" * (limit // 2 + 1), "x" * (limit + 1),
        "’" * limit + "hello" + "’" * limit, "hello" + "’" * (limit + 5) + "x",
        "Hello there, who are you?" + " " * 200, "A" * limit, "A" * (limit + 1),
    ])
    for greeting in (False, True):
        trimmed = rc._fold(texts.fill_null("")).str.strip_chars(rc._SELF_STRIP)
        match = trimmed.str.contains(rc._self_question())
        if greeting:
            match = match | trimmed.str.contains(rc._greeting_alone())
        expect = ((trimmed.str.len_chars() <= limit) & match).to_list()
        assert rc.about_self(texts, greeting_alone=greeting).tolist() == expect
        assert any(expect)


def test_stand_in_phrases_match_the_ascii_lowered_opening_as_the_folded_one():
    """The opening lower-cased in its ASCII letters only (plus "’" and the characters whose
    lower case is ASCII) gives every stand-in regex the matches the fully folded opening gives."""
    import random

    from chatlens.signals import refusal_context as rc

    assert {"\u0130", "\u212a"} <= set(rc._lowers_to_ascii())
    assert rc._ascii_words(rc.context_patterns())
    rng = random.Random(5)
    pieces = ["WHAT DO YOU MEAN", "İ don’t know", "I DON’T UNDERSTAND", "more İnformation",
              "Kelvin", "(maxİmum) lİmit", "Σ", "é", "ß", "日本", "\n", "?", " ", "i have no idea",
              "Tell me MORE about", "ǅ", "ΐ", "Ⅻ", "\u00a0", "can you please CLARIFY"]
    texts = pl.Series(["".join(rng.choice(pieces) for _ in range(rng.randint(0, 40)))
                       for _ in range(3000)] + ["", "x" * 500 + "what do you mean"])
    folded = rc._fold(texts.str.slice(0, rc.CUE_CHARS))
    fast = rc._opening(texts)
    for p in rc.context_patterns():
        assert fast.str.count_matches(p).equals(folded.str.count_matches(p)), p
    assert rc.stand_in_hits(texts).tolist() == folded.str.contains(rc._any_stand_in()).to_list()
    assert rc.stand_in_hits(texts).sum() > 100


def test_lowers_to_ascii_is_kept_in_the_cache_folder(tmp_path, monkeypatch):
    """Computed once per polars version, read back, and recomputed over an unreadable entry."""
    from chatlens.signals import refusal_context as rc

    monkeypatch.setenv("CHATLENS_CACHE_DIR", str(tmp_path))
    rc._lowers_to_ascii.cache_clear()
    try:
        first = rc._lowers_to_ascii()
        (entry,) = (tmp_path / "lowercase").iterdir()
        assert set(first) >= {"\u0130", "\u212a"} and pl.__version__ in entry.name
        rc._lowers_to_ascii.cache_clear()
        assert rc._lowers_to_ascii() == first
        entry.write_text("[not json", encoding="utf-8")
        rc._lowers_to_ascii.cache_clear()
        assert rc._lowers_to_ascii() == first
    finally:
        rc._lowers_to_ascii.cache_clear()


def test_screen_reads_short_replies_without_compliance_evidence(fitted):
    """The short-reply term: a 180-character chat reply with no cue is read; the same length
    with compliance evidence, and a long reply with no cue, are not."""
    from chatlens.signals.refusal import detect_refusal
    from chatlens.signals.refusal_model import screen

    question_back = ("That sounds like a really lovely day out with your family. The weather was "
                     "fine where I live as well, and the parks were full of people enjoying the "
                     "sunshine. Did you go anywhere nice?")
    complying = "Sure, here is a short list of ideas you could try: " + "a picnic, a walk, " * 8
    long_plain = "The history of the region is long and varied. " * 10
    texts = pl.Series([question_back, complying, long_plain])
    assert 120 <= len(question_back) < 300 and 120 <= len(complying) < 300 and len(long_plain) > 300
    rules = detect_refusal(texts)
    scores = rules["refusal_score"].to_numpy()
    assert 0.08 < scores[0] <= 0.12  # no cue: the prior, below the evidence screen
    assert scores[1] <= 0.08  # compliance evidence
    assert screen(rules, texts, fitted).tolist() == [True, False, False]
    without = RefusalModel(screen_short_chars=0)
    assert screen(rules, texts, without).tolist() == [False, False, False]


def test_weights_saved_before_the_short_screen_keep_their_screen(fitted):
    data = fitted.to_dict()
    assert data["screen"]["short_chars"] == 300
    old = {**data, "screen": {"min_rule_score": 0.12, "max_chars": 120}}
    assert RefusalModel.from_dict(old).screen_short_chars == 0
    assert RefusalModel.from_dict(data).screen_short_chars == 300


def test_nothing_asked_nothing_refused():
    """A reply without any refusal cue to a bare greeting or a question about the assistant is
    not a refusal, whatever the model scores (rule 3, extended: nothing was asked to refuse); a
    decline cue keeps it one, and after a task the model's call stands."""
    from chatlens.signals.refusal import detect_refusal
    from chatlens.signals.refusal_model import combine

    intro = "Hello! I am designed to help you with many tasks. What would you like to do?"
    replies = pl.Series([intro, intro, "I'm sorry, but I can't share that.", intro])
    requests = pl.Series(["Hello there!", "who are you?", "hello", "write a poem about the sea"])
    rules = detect_refusal(replies)
    model_out = pl.DataFrame({"refusal": [True] * 4, "refusal_type": ["capability"] * 4,
                              "type_if_refused": ["capability"] * 4, "refusal_score": [0.9] * 4})
    out = combine(rules, model_out, np.ones(4, dtype=bool), requests)
    assert out["refusal"].to_list() == [False, False, True, True]
    assert ((out["refusal_score"] >= 0.5) == out["refusal"]).all()


def test_chunked_prediction_is_the_whole_batch_prediction(monkeypatch):
    """detect_refusal_in_context featurises screened replies in chunks (bounded memory); the
    decisions and scores are those of one pass over the batch."""
    from chatlens.signals import refusal_model

    replies = pl.Series(RESPONSES * 3)
    requests = pl.Series(REQUESTS * 3)
    whole = detect_refusal_in_context(replies, requests)
    monkeypatch.setattr(refusal_model, "PREDICT_CHUNK", 5)
    assert detect_refusal_in_context(replies, requests).equals(whole)


def test_near_even_type_probability_is_not_mixed(fitted):
    """``mixed`` means a reply gives both kinds of reason; an uncertain type model is not that
    evidence, so the model types every refusal capability or policy (docs/signals.md)."""
    from dataclasses import replace

    x, ids = context_features(pl.Series(RESPONSES), pl.Series(REQUESTS))
    even = replace(fitted, type_coef_=np.zeros_like(fitted.type_coef_), type_intercept_=0.0)
    out = even.predict_matrix(x, ids)
    assert set(out["type_if_refused"].unique()) == {"policy"}  # probability exactly 0.5
    slightly = replace(even, type_intercept_=-0.1)  # probability 0.475
    assert set(slightly.predict_matrix(x, ids)["type_if_refused"].unique()) == {"capability"}


def test_requests_must_align_with_responses() -> None:
    """3 replies with 4 requests used to pass silently (misaligned); with 2, a polars error
    surfaced only when a screened row lay past the end."""
    import polars as pl
    import pytest

    from chatlens.errors import InvalidParameterError
    from chatlens.signals.refusal_model import detect_refusal_in_context

    replies = pl.Series(["I can't help with that.", "Sure, here it is.", "No."])
    for n in (2, 4):
        with pytest.raises(InvalidParameterError, match=f"3 responses and {n} requests"):
            detect_refusal_in_context(replies, pl.Series(["q"] * n))
    assert detect_refusal_in_context(replies, pl.Series(["q", None, "r"])).height == 3
