"""The embedders: TF-IDF in the core, and a sentence-transformers model loaded from a directory."""

from __future__ import annotations

import numpy as np
import pytest

from chatlens.errors import InvalidParameterError
from chatlens.instrument.embed import TfidfEmbedder, make_embedder

TEXTS = [
    "Uses slang like lol.",
    "Uses slang such as lol and idk.",
    "Gives long formal answers.",
    "Answers in a long, formal way.",
    "Shares personal details.",
]


def test_tfidf_puts_paraphrases_together_and_is_deterministic():
    x = TfidfEmbedder()(TEXTS)
    assert x.dtype == np.float32 and np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-5)
    sim = x @ x.T
    assert sim[0, 1] > sim[0, 2] and sim[2, 3] > sim[2, 0]
    assert TfidfEmbedder()(TEXTS).tobytes() == x.tobytes()


def test_unknown_embedder_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidParameterError, match="'tfidf', 'minilm' or a sentence-transformers"):
        make_embedder(str(tmp_path / "nope"))


def test_sentence_transformers_directory_loads_offline(tmp_path):
    """A tiny BERT built from a config inside the test, saved as a sentence-transformers model."""
    st = pytest.importorskip("sentence_transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    words = sorted({w.strip(".,").lower() for t in TEXTS for w in t.split()})
    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *words])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )
    bert_dir = tmp_path / "bert"
    fast.save_pretrained(bert_dir)
    BertModel(
        BertConfig(
            vocab_size=len(vocab),
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=64,
        )
    ).save_pretrained(bert_dir)
    try:
        from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Pooling, Transformer

    word = Transformer(str(bert_dir), max_seq_length=32)
    dim = getattr(word, "get_embedding_dimension", None) or word.get_word_embedding_dimension
    model = st.SentenceTransformer(modules=[word, Pooling(dim())])
    model.save(str(tmp_path / "st"))
    x = make_embedder(str(tmp_path / "st"))(TEXTS)
    assert x.shape == (len(TEXTS), 16) and np.allclose(np.linalg.norm(x, axis=1), 1, atol=1e-5)


def test_tfidf_keeps_a_statement_of_stop_words_a_zero_vector():
    """'It is what it is.' has no TF-IDF term: its SVD row was rounding noise (~1e-16) that
    normalising turned into an arbitrary unit vector (2 of 10 such rows on these 80 statements),
    free to join any cluster. It stays zero now, and a text of stop words only gives zeros
    instead of sklearn's 'empty vocabulary' ValueError."""
    texts = []
    for i in range(30):
        texts += (
            ["Uses slang like lol.", "Writes in lowercase.", "Has typos."]
            if i % 3
            else ["It is what it is.", "Uses slang like lol."]
        )
    x = TfidfEmbedder()(texts)
    empty = np.array([t == "It is what it is." for t in texts])
    assert empty.sum() == 10 and not x[empty].any()
    assert np.allclose(np.linalg.norm(x[~empty], axis=1), 1, atol=1e-5)
    assert not TfidfEmbedder()(["It is.", "It is what it is."]).any()
