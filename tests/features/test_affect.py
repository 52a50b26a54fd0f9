from __future__ import annotations

import polars as pl
import pytest

from chatlens.errors import InvalidParameterError
from chatlens.features.affect import (
    SENTIMENT_SCHEMA,
    legacy_profanity_count,
    profanity_count,
    sentiment,
    vader_compound,
)

TRAPS = [
    "Hello, can you help with my class assignment?",
    "What is the capital of Sudan?",
    "Summarise a novel by Charles Dickens.",
    "My password manager needs a shell script; pass the massive file to the assistant.",
    "The cockpit of the plane; a peacock; scrape the paint.",
    "Michelle assessed the classic Scunthorpe embassy.",
]


def test_no_false_positives_on_traps() -> None:
    assert profanity_count(pl.Series(TRAPS)).to_list() == [0] * len(TRAPS)
    assert all(c > 0 for c in legacy_profanity_count(pl.Series(TRAPS[:1] + TRAPS[3:5])).to_list())


def test_counts_whole_words_and_inflections() -> None:
    texts = pl.Series([
        "fuck this shit",
        "what the fucking hell",
        "you motherfucker",
        "Shitty answer, dumbass!",
        "FUCK",
        None,
    ])
    assert profanity_count(texts).to_list() == [2, 2, 1, 2, 1, 0]


def test_multilingual_and_language_only() -> None:
    texts = pl.Series(["Putain, c'est nul", "¡Qué mierda!", "Scheiße!", "блять, опять", "他妈的",
                       "くそったれ", "씨발 진짜", "que porra é essa", "che cazzo", "quel con", "café con leche"])
    langs = pl.Series(["French", "Spanish", "German", "Russian", "Chinese", "Japanese", "Korean",
                       "Portuguese", "Italian", "French", "Spanish"])
    assert profanity_count(texts, langs).to_list() == [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0]
    # without a language, language-restricted words are not counted
    assert profanity_count(pl.Series(["quel con"])).to_list() == [0]


def test_legacy_count_matches_the_original() -> None:
    texts = pl.Series(["Hello, can you help with my class assignment?", "motherfucker", "asshole", None])
    assert legacy_profanity_count(texts).to_list() == [3, 2, 2, 0]


def test_sentiment_methods_and_labels() -> None:
    texts = pl.Series(["This is great, thank you!", "You are useless and stupid.",
                       "Das ist toll, danke!", "Ты бесполезен.", "Dank je wel", "", None, "ok"])
    langs = pl.Series(["English", "English", "German", "Russian", "Dutch", "English", "English", None])
    out = sentiment(texts, langs)
    assert out.schema == pl.Schema(SENTIMENT_SCHEMA)
    assert out["sentiment_label"].to_list() == ["pos", "neg", "pos", "neg", None, None, None, "neu"]
    assert out["sentiment_method"].to_list() == [
        "vader", "vader", "lexicon-de", "lexicon-ru", "none:unsupported-language:nl",
        "none:empty-text", "none:empty-text", "vader:language-unknown",
    ]
    assert out["sentiment"].drop_nulls().is_between(-1, 1).all()


def test_script_overrides_a_wrong_language_label() -> None:
    out = sentiment(pl.Series(["谢谢，太好了"]), pl.Series(["English"]))
    assert out["sentiment_method"].item() == "lexicon-zh"
    assert out["sentiment_label"].item() == "pos"


def test_a_short_foreign_quote_does_not_decide_the_language() -> None:
    """One Han character decided the language: an English sentence quoting "你好" was scored
    with the Chinese lexicon (0.0, neutral) instead of VADER. The script decides only when it is
    the bulk of the text; a Chinese request full of code names is still Chinese."""
    texts = pl.Series([
        'This is great, my friend said "你好" to me and I loved it!',
        "Thanks, 'спасибо' is what I said, wonderful",
        "Terrible answer. The word is 안녕 in Korean",
        "这段代码运行时报错KeyError: 'price' not found in the dict，请帮我修复",
        "谢谢，太好了",
    ])
    for langs in (pl.Series(["English"] * 5), None):
        out = sentiment(texts, langs)
        unknown = "vader" if langs is not None else "vader:language-unknown"
        assert out["sentiment_method"].to_list() == [unknown] * 3 + ["lexicon-zh"] * 2
        assert out["sentiment_label"].to_list()[:3] == ["pos", "pos", "neg"]


def test_locale_tags_name_their_language() -> None:
    """'es-ES', 'pt_BR', 'en-US' are read by their primary subtag, as 'es', 'pt', 'en': read as an
    unknown language, Spanish went to English VADER and French-only profanity was not counted."""
    from chatlens.features.conversation import conversation_features

    text = "Esto es una mierda, eres inútil y horrible."
    out = sentiment(pl.Series([text] * 3), pl.Series(["es", "es-ES", "es_es"]))
    assert out["sentiment_method"].to_list() == ["lexicon-es"] * 3
    assert out["sentiment"].n_unique() == 1
    assert sentiment(pl.Series(["great"]), pl.Series(["en-US"]))["sentiment_method"].item() == "vader"
    assert profanity_count(pl.Series(["quel con"] * 2), pl.Series(["fr", "fr-FR"])).to_list() == [1, 1]
    msgs = pl.DataFrame({"conversation_id": ["a", "b", "c"], "message_index": [0, 0, 0],
                         "role": ["user"] * 3, "content": ["hola"] * 3,
                         "refusal": [None] * 3, "jailbreak": [False] * 3},
                        schema_overrides={"refusal": pl.Boolean})
    convs = pl.DataFrame({"conversation_id": ["a", "b", "c"], "language": ["pt-BR", "Spanish", "unknown"]})
    assert conversation_features(msgs, convs)["lang"].to_list() == ["pt", "es", None]


def test_legacy_thresholds() -> None:
    t = pl.Series(["It is okay I guess"])
    legacy = sentiment(t, pl.Series(["English"]), thresholds="legacy")["sentiment_label"].item()
    default = sentiment(t, pl.Series(["English"]))["sentiment_label"].item()
    assert legacy == "pos" and default == "neu"  # compound 0.2263: pos at ±0.05, neu at +0.35
    with pytest.raises(InvalidParameterError):
        sentiment(t, thresholds="strict")  # type: ignore[arg-type]


def test_vader_dedupes_and_keeps_order() -> None:
    t = pl.Series(["good", None, "bad", "good"])
    out = vader_compound(t)
    assert out[0] == out[3] > 0 and out[2] < 0 and out[1] is None


def test_empty_inputs() -> None:
    empty = pl.Series([], dtype=pl.String)
    assert profanity_count(empty).len() == 0
    assert legacy_profanity_count(empty).len() == 0
    assert sentiment(empty).height == 0
    with pytest.raises(InvalidParameterError):
        profanity_count(pl.Series(["a"]), pl.Series(["en", "fr"]))


def test_windowed_vader_equals_stock_vader_in_linear_time() -> None:
    """The windowed checks give stock VADER's scores, and cost no longer grows with the square
    of the message length (stock VADER lower-cases the whole word list per sentiment word)."""
    import time

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from chatlens.features.affect import _vader

    texts = [
        "no good", "not bad at all", "never so good", "without doubt great", "kind of good",
        "the shit", "at least ok", "I don't like it but it is great 😀", "NOT GOOD :)",
        "It isn't horrible. Never this nice, no, nor happy; without doubt the bomb!!!",
        "good " * 3, "bad no", "", "Sort of ok?? I guess... not very pleased tho :(",
    ]
    stock, fast = SentimentIntensityAnalyzer(), _vader()
    assert [fast.polarity_scores(t) for t in texts] == [stock.polarity_scores(t) for t in texts]
    assert [fast.compound(t) for t in texts] == [stock.polarity_scores(t)["compound"] for t in texts]
    long = "this is not a very good idea, no happy ending. " * 400  # 4,000 words
    t = time.process_time()
    fast.polarity_scores(long)
    windowed = time.process_time() - t
    t = time.process_time()
    stock.polarity_scores(long)
    assert windowed < (time.process_time() - t) / 3


def test_vader_compound_fast_path_equals_stock_on_random_sentences() -> None:
    """The lexicon-words-only compound equals stock VADER on sentences built to hit every rule:
    negations, "no", boosters in caps, "kind of", "least", idioms, "but" with repeated scores."""
    import random

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from chatlens.features.affect import _vader

    vocab = (
        "good bad great horrible nice happy sad love hate ok kind of sort no not never nor or "
        "isn't don't without doubt least at very so this the shit bomb bad ass yeah right kiss "
        "death to die for but BUT GOOD VERY Bad extremely barely kinda really, good! bad?? ... "
        ":) :( lol sux the-end x yes! No. NOT least LEAST none wouldn't hardly HARDLY GREAT! "
        "upper hand sort-of bus stop beating heart"
    ).split()
    rng = random.Random(7)
    texts = [" ".join(rng.choices(vocab, k=rng.randint(0, 16))) for _ in range(5000)]
    stock, fast = SentimentIntensityAnalyzer(), _vader()
    assert [fast.compound(t) for t in texts] == [stock.polarity_scores(t)["compound"] for t in texts]


def test_vader_columns_equal_stock_vader() -> None:
    """The column path (:mod:`chatlens.features._vader_columns`) gives stock VADER's compound on
    random sentences built to hit every rule, and routes the texts it cannot score exactly
    ("but" in any punctuation, multi-word keys split by punctuation, non-ASCII) to the per-text
    scorer."""
    import random

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from chatlens.features._vader_columns import compound_columns, eligible

    vocab = (
        "good bad great horrible nice happy sad love hate ok kind of sort no not never nor or "
        "isn't don't without doubt least at very so this the shit bomb bad ass yeah right kiss "
        "death to die for but BUT GOOD VERY Bad extremely barely kinda really, good! bad?? ... "
        ":) :( lol sux the-end x yes! No. NOT least LEAST none wouldn't hardly HARDLY GREAT! "
        "upper hand sort-of bus stop beating heart (good) _but GOOD, \"no\" NO never! So THIS "
        "at_least kind-of ain't cant kind, of; café 😀 \x1c"
    ).split(" ")
    rng = random.Random(11)
    texts = [" ".join(rng.choices(vocab, k=rng.randint(0, 16))) for _ in range(4000)]
    texts += ["kind, of good", "_but good", "good (but) bad", "nice\x1ckind\x1cof ok", "fine"]
    stock = SentimentIntensityAnalyzer()
    want = [stock.polarity_scores(t)["compound"] for t in texts]
    series = pl.Series(texts)
    assert vader_compound(series).to_list() == want
    ok = eligible(series)
    assert 0.3 < ok.mean() < 0.9  # both paths are exercised
    assert not ok[-5:-1].any() and ok[-1]
    assert compound_columns(series.filter(pl.Series(ok))).tolist() == [
        w for w, e in zip(want, ok, strict=True) if e]
