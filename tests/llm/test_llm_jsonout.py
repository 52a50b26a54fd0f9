"""JSON extraction, schema validation and the bounded re-ask."""

from __future__ import annotations

import pytest

from chatlens.errors import BadLLMResponse, InvalidParameterError
from chatlens.llm import LLMConfig, MockTransport, make_client, run_sync
from chatlens.llm.jsonout import JsonSchema, complete_json, extract_json, json_validator
from chatlens.llm.testing import FakeReply

SCHEMA = {
    "type": "object",
    "required": ["scores"],
    "properties": {
        "scores": {
            "type": "object",
            "required": ["1", "2"],
            "additionalProperties": False,
            "properties": {
                "1": {"type": "integer", "minimum": 1, "maximum": 5},
                "2": {"type": "integer", "minimum": 1, "maximum": 5},
            },
        }
    },
}
GOOD = '{"scores": {"1": 4, "2": 2}}'


@pytest.mark.parametrize("text", [
    GOOD,
    "Sure, here you go:\n" + GOOD + "\nLet me know!",
    "```json\n" + GOOD + "\n```",
    "{not json} then " + GOOD,
])
def test_extract_json_tolerates_prose_and_fences(text):
    assert extract_json(text) == {"scores": {"1": 4, "2": 2}}


@pytest.mark.parametrize("text,reason", [
    ("", "empty"),
    ("I cannot rate this.", "no JSON object"),
    ("[1, 2, 3]", "no JSON object"),
    ('{"scores": {"1": 4}}', "missing key"),
    ('{"scores": {"1": 9, "2": 2}}', "<= 5"),
    ('{"scores": {"1": "four", "2": 2}}', "expected integer"),
    ('{"scores": {"1": true, "2": 2}}', "expected integer"),
    ('{"scores": {"1": 4, "2": 2, "3": 1}}', "unexpected key"),
])
def test_validator_rejects_bad_answers_with_a_reason(text, reason):
    with pytest.raises(BadLLMResponse, match=reason):
        json_validator(SCHEMA)(text)


def test_schema_rejects_unknown_keywords():
    with pytest.raises(InvalidParameterError, match="unsupported keyword"):
        JsonSchema({"type": "object", "patternProperties": {}})
    with pytest.raises(InvalidParameterError, match="unknown type"):
        JsonSchema({"type": "float"})


def _run(client, validate, **kw):
    async def go():
        try:
            return await complete_json(client, [{"role": "user", "content": "rate"}], validate, **kw)
        finally:
            await client.aclose()

    return run_sync(go())


def test_reask_recovers_from_one_bad_answer(fake_server):
    server = fake_server(lambda body, n: FakeReply(content="I think 4 and 2." if n == 0 else GOOD))
    client = make_client(LLMConfig(model="m", base_url=server.base_url, max_reasks=2))
    result = _run(client, json_validator(SCHEMA))
    assert result.ok and result.value == {"scores": {"1": 4, "2": 2}} and result.n_reasks == 1
    assert server.n_requests == 2
    second = server.bodies[1]["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    assert second[1]["content"] == "I think 4 and 2."
    assert "no JSON object" in second[2]["content"]
    assert client.usage.reasks == 1


def test_reask_gives_up_cleanly_after_n(fake_server):
    server = fake_server(lambda body, n: FakeReply(content='{"scores": {"1": 7, "2": 2}}'))
    client = make_client(LLMConfig(model="m", base_url=server.base_url, max_reasks=3))
    result = _run(client, json_validator(SCHEMA))
    assert not result.ok and result.value is None
    assert result.error.startswith("invalid answer after 3 re-ask(s)") and "<= 5" in result.error
    assert result.raw == '{"scores": {"1": 7, "2": 2}}'
    assert server.n_requests == 4


def test_zero_reasks_means_one_request(fake_server):
    server = fake_server(lambda body, n: FakeReply(content="garbage"))
    client = make_client(LLMConfig(model="m", base_url=server.base_url, max_reasks=0))
    assert not _run(client, json_validator(SCHEMA)).ok
    assert server.n_requests == 1


def test_failed_request_becomes_a_result_not_an_exception():
    from chatlens.llm.transport import server_error

    def handler(req):
        raise server_error("down", 502)

    client = make_client(LLMConfig(model="m", max_retries=1, backoff_initial_s=0.001),
                         transport=MockTransport(handler))
    result = _run(client, json_validator(SCHEMA))
    assert result.failed_request and result.error.startswith("request failed")


@pytest.mark.parametrize("text", [
    '{"scores": {"1": 4, "2": 2}, "scores": {"1": 1, "2": 1}}',
    '{"scores": {"1": 4, "1": 1, "2": 2}}',
    'Here: ```json\n{"scores": {"1": 4, "2": 2, "2": 5}}\n```',
    'prose {"scores": {"1": 4, "2": 2, "1": 5}} more prose',
])
def test_a_key_repeated_inside_one_object_is_a_bad_answer_not_last_value_wins(text):
    """json.loads kept the last of two values silently: '{"verdict": "A", ..., "verdict": "B"}'
    validated as "B". A repeated key (at any depth) is now a reason the re-ask sends back."""
    with pytest.raises(BadLLMResponse, match="duplicate key"):
        json_validator(SCHEMA)(text)
    with pytest.raises(BadLLMResponse, match="duplicate key"):
        extract_json(text)


def test_json_nested_too_deeply_is_a_bad_answer_not_a_recursion_error():
    """A 40,000-character answer of nested brackets (under MAX_ANSWER_CHARS) raised RecursionError
    out of the validator: complete_json let it through, the whole batch stopped, and since the
    answer was cached every rerun stopped on it again. It is an invalid answer now."""
    deep = '{"scores": ' + "[" * 20000 + "]" * 20000 + "}"
    for text in (deep, "prose " + deep, '{"a": ' + "[" * 20000):
        with pytest.raises(BadLLMResponse, match="nested too deeply"):
            extract_json(text)
    client = make_client(LLMConfig(model="m", max_reasks=1), transport=MockTransport(lambda r: deep))
    result = _run(client, json_validator(SCHEMA))
    assert not result.ok and "nested too deeply" in result.error and result.n_reasks == 1


def test_a_gigantic_value_makes_a_short_reason():
    """The reason quoted the offending value whole: a 150,000-character verdict gave a reason of
    150,045 characters, sent back in the re-ask (after the answer itself) and stored with the
    excluded item. Values and keys are cut to a preview now."""
    schema = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"verdict": {"type": "string", "enum": ["A", "B"]}},
    }
    for text in (
        '{"verdict": "' + "A" * 150_000 + '"}',
        '{"verdict": "A", "' + "k" * 150_000 + '": 1}',
        '{"verdict": ["' + "A" * 150_000 + '"]}',
    ):
        with pytest.raises(BadLLMResponse) as info:
            json_validator(schema)(text)
        assert len(str(info.value)) < 200
    with pytest.raises(BadLLMResponse, match=r"expected one of \['A', 'B'\], got 'C'"):
        json_validator(schema)('{"verdict": "C"}')


def test_string_length_bounds():
    schema = {"type": "object", "properties": {"s": {"type": "string", "minLength": 2, "maxLength": 5}}}
    assert json_validator(schema)('{"s": "abc"}') == {"s": "abc"}
    with pytest.raises(BadLLMResponse, match=r"\$.s: expected at most 5 characters, got 6"):
        json_validator(schema)('{"s": "abcdef"}')
    with pytest.raises(BadLLMResponse, match="at least 2 characters"):
        json_validator(schema)('{"s": "a"}')


def test_nan_is_not_a_number_in_an_answer():
    """json.loads reads NaN (not JSON), and NaN passed {"type": "number", "minimum": 0,
    "maximum": 1} since every comparison with it is false: {"p": NaN} was a valid answer."""
    schema = {"type": "object", "properties": {"p": {"type": "number", "minimum": 0, "maximum": 1}}}
    for text in ('{"p": NaN}', '{"p": Infinity}'):
        with pytest.raises(BadLLMResponse, match=r"\$.p: expected number"):
            json_validator(schema)(text)
    assert json_validator(schema)('{"p": 0.5}') == {"p": 0.5}
