"""The fast paths of the refusal detector give exactly the output of the reference paths.

* the two-tier (prefiltered) cue scan vs the one-pass scan (``prefilter=False``);
* :func:`prepare_series` (each normalisation stage only on the rows it can change) vs the
  :func:`prepare` expression applied to every row.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chatlens.signals import scanner as scanner_mod
from chatlens.signals.refusal import detect_refusal, refusal_cue_set
from chatlens.signals.scanner import resolve_backend
from chatlens.signals.text import normalise, normalise_series, prepare, prepare_series

pytestmark = pytest.mark.skipif(
    resolve_backend("auto") != "hyperscan",
    reason="the prefilter exists for the hyperscan backend only",
)

TRICKY = [
    "I'm sorry, but I can't help with that.",
    "I\n\ncan't   help with\tthat.",  # whitespace runs inside a cue
    "I  cannot\x0bassist with this request, as  an   AI language\r\nmodel.",
    "As an AI, I don't have access to real-time data.",
    "Sure! Here is the code:\n```\nprint('I cannot help')\n```\nI cannot   help further.",
    '"I can\'t help you," she said. Then she helped.',
    "I'm sorry to hear that. Here are some tips:\n1. Sleep\n2. Eat",
    "no\x00\x00i can't\x00help",  # NUL inside a message (the scanner's separator byte)
    "  \n\n   ",
    "",
    None,
    "作为一个AI语言模型，我无法回答这个问题。",
    "Lo siento, pero no puedo ayudar con eso.",
    "Извините, но я не могу помочь с этим.",
    "申し訳ありませんが、そのリクエストにはお応えできません。",
    "죄송하지만 그 요청은 도와드릴 수 없습니다.",
    "Es tut mir leid, aber ich kann dabei nicht helfen.",
    "Je suis désolé, mais je ne peux pas vous aider.",
    "Mi dispiace, ma non posso aiutarti con questo.",
    "Desculpe, mas não posso ajudar com isso.",
    "I\u2019m sorry \u2014 I can\u2019t\u00a0help. \u201cQuoted\u201d \u00abtext\u00bb \u300cq\u300d",
    "\u2014 No puedo ayudarte, dijo ella.\n\u2015 Vale.",
    "**I cannot** help with __that__ ~~~\ncode ~~~ `inline` İSTANBUL \u2003 \u3000 end",
    '"I cannot help with that."',
]


def _same(texts: pl.Series) -> None:
    reference = texts.to_frame("t").select(prepare(pl.col("t")))["t"]
    assert prepare_series(texts).equals(reference)
    normalised = texts.to_frame("t").select(normalise(pl.col("t")))["t"]
    assert normalise_series(texts).equals(normalised)
    fast = detect_refusal(texts)
    ref = detect_refusal(texts, prefilter=False)
    assert fast.equals(ref)
    prepared = prepare_series(texts)
    a = refusal_cue_set(prefilter=True).hits(prepared)
    b = refusal_cue_set(prefilter=False).hits(prepared)
    for x, y in zip((a.message, a.cue, a.offset), (b.message, b.cue, b.offset), strict=True):
        assert np.array_equal(x, y)
    # The list path builds its buffer differently; same hits.
    c = refusal_cue_set(prefilter=True).hits(prepared.to_list())
    assert np.array_equal(c.message, b.message) and np.array_equal(c.offset, b.offset)


def test_tricky_texts_identical():
    assert refusal_cue_set(prefilter=True).scanner.prefilter
    _same(pl.Series("t", TRICKY * 3, dtype=pl.String))


def test_identical_across_chunks(monkeypatch):
    monkeypatch.setattr(scanner_mod, "CHUNK_BYTES", 300)
    _same(pl.Series("t", TRICKY * 5, dtype=pl.String))


WORDS = st.sampled_from(
    [
        "i",
        "we",
        "can't",
        "cannot",
        "help",
        "assist",
        "with",
        "that",
        "sorry",
        "but",
        "as",
        "an",
        "ai",
        "language",
        "model",
        "don't",
        "have",
        "access",
        "to",
        "real-time",
        "sure",
        "here",
        "is",
        "it's",
        "not",
        "appropriate",
        "important",
        "note",
        "unable",
        "provide",
        "information",
        "no",
        "puedo",
        "ayudar",
        "ich",
        "kann",
        "nicht",
        "我无法",
        "できません",
        "**",
        "`",
        '"',
        "```",
        "~~~",
        "__",
        "\u2019",
        "\u201c",
        "\u201d",
        "\u2014",
        "\u00a0",
        "\u3000",
        "\u02bc",
        "\u00ab",
        "\u2003",
        "İ",
        "CAN'T",
        "Sorry",
    ]
)
SEPS = st.sampled_from([" ", "  ", "\n", "\n\n", "\t", ", ", ". ", "", " \x00 "])


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.lists(st.tuples(WORDS, SEPS), max_size=30), min_size=1, max_size=12))
def test_random_cue_soup_identical(messages):
    texts = ["".join(w + s for w, s in m) for m in messages]
    _same(pl.Series("t", texts, dtype=pl.String))


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_synthetic_corpus_identical(tmp_path, seed):
    from chatlens._progress import set_quiet
    from chatlens.synth import synth

    set_quiet(True)
    res = synth(3000, seed=seed, out=tmp_path / "synth.parquet")
    texts = (
        pl.read_parquet(res.path, columns=["conversation"])
        .explode("conversation")
        .unnest("conversation")
        .filter(pl.col("role") == "assistant")["content"]
    )
    assert len(texts) > 4000
    _same(texts)


@pytest.mark.realdata
@pytest.mark.slow
def test_labelled_sets_identical(shared_data):
    from chatlens.validate.datasets import load_all

    sets = load_all(shared_data)
    assert sets
    for s in sets:  # refusal detector on every text of every set (prompts too: more coverage)
        _same(s.texts)


def test_messages_failing_the_prefilter_only_match_unanchored_patterns():
    texts = pl.Series("t", TRICKY + ["The capital of France is Paris.", "2 + 2 = 4"])
    prepared = prepare_series(texts)
    scanner = refusal_cue_set(prefilter=True).scanner
    passed = scanner.candidates(prepared)
    assert passed[0] and not passed[-1]
    matches = scanner.scan(prepared)
    failed = ~passed[matches.message]
    assert set(matches.pattern[failed].tolist()) <= set(scanner.always)
    assert not refusal_cue_set(prefilter=False).scanner.candidates(prepared).any()


def test_every_typographic_character_has_a_listed_lead():
    import re

    from chatlens.signals import text

    for cls in (text._APOSTROPHES, text._QUOTES, text._SPACES):
        chars = [chr(c) for c in range(0x80, 0x3100) if re.fullmatch(cls, chr(c))]
        assert chars
        for ch in chars:
            assert ch.encode("utf-8").startswith(text._TYPOGRAPHIC_LEADS), hex(ord(ch))
