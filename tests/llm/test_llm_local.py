"""The local transformers backend on a tiny randomly initialised GPT-2 built in the test."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from chatlens.errors import LLMError
from chatlens.llm import LLMConfig, make_client, run_sync
from chatlens.llm.jsonout import complete_json, json_validator
from chatlens.llm.local import TransformersTransport
from chatlens.llm.testing import build_tiny_causal_lm

SCHEMA = {"type": "object", "required": ["likert_evaluation"],
          "properties": {"likert_evaluation": {"type": "object"}}}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny-gpt2"))


def _ask(client, content, **kw):
    async def go():
        try:
            return await complete_json(client, [{"role": "user", "content": content}],
                                       json_validator(SCHEMA), **kw)
        finally:
            await client.aclose()

    return run_sync(go())


def test_garbage_answers_are_recorded_as_invalid(tiny_model, tmp_path):
    config = LLMConfig(model=str(tiny_model), max_tokens=16, max_reasks=1, cache_dir=tmp_path)
    assert config.resolved_backend == "transformers"
    client = make_client(config)
    # a prompt far longer than the model's 128 positions is truncated, not a crash
    result = _ask(client, "rate W hello " * 200)
    assert not result.ok and result.error.startswith("invalid answer after 1 re-ask")
    assert isinstance(result.raw, str)
    usage = client.usage.report()
    assert usage.requests == 2 and usage.completion_tokens > 0 and usage.cost_usd == 0.0
    # deterministic (greedy) and cached: a rerun sends nothing
    again = make_client(config)
    assert _ask(again, "rate W hello " * 200).raw == result.raw
    assert again.usage.report().requests == 0


def test_sampling_uses_the_sample_index(tiny_model):
    client = make_client(LLMConfig(model=str(tiny_model), max_tokens=12, temperature=1.5,
                                   max_reasks=0))
    a = _ask(client, "hello", sample_index=0).raw
    b = _ask(make_client(client.config), "hello", sample_index=0).raw
    assert a == b  # seeded by the sample index


def test_not_a_model_directory(tmp_path):
    transport = TransformersTransport(tmp_path)
    client = make_client(LLMConfig(model=str(tmp_path)), transport=transport)
    with pytest.raises(LLMError, match="Cannot load"):
        run_sync(client.complete(client.request([{"role": "user", "content": "x"}])))
