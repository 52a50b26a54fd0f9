"""The async client against a local fake OpenAI-compatible server: retries, limits, cost, keys."""

from __future__ import annotations

import asyncio
import time

import pytest

from chatlens.errors import LLMError, LLMTimeout, RateLimited
from chatlens.llm import LLMConfig, make_client, run_sync
from chatlens.llm.client import LLMClient, map_async
from chatlens.llm.openai_transport import OpenAITransport
from chatlens.llm.prices import load_prices
from chatlens.llm.testing import FakeReply

MSG = [{"role": "user", "content": "hello"}]


def config_for(server, **kw) -> LLMConfig:
    base = {
        "model": "gpt-4o-mini",
        "base_url": server.base_url,
        "timeout_s": 2.0,
        "max_retries": 3,
        "backoff_initial_s": 0.01,
        "backoff_max_s": 0.5,
    }
    base.update(kw)
    return LLMConfig(**base)


async def _complete_n(client, n: int) -> list[str]:
    async def one(i: int) -> str:
        resp = await client.complete(client.request([{"role": "user", "content": f"q{i}"}]))
        return resp.text

    try:
        return await map_async(one, range(n), description="t")
    finally:
        await client.aclose()


def test_answers_and_cost_accounting_sums(fake_server, secret_key):
    server = fake_server(lambda body, n: FakeReply(content=f"a{n}", prompt_tokens=1000,
                                                   completion_tokens=200))
    client = make_client(config_for(server))
    texts = run_sync(_complete_n(client, 5))
    assert sorted(texts) == [f"a{i}" for i in range(5)]
    report = client.usage.report()
    assert (report.requests, report.prompt_tokens, report.completion_tokens) == (5, 5000, 1000)
    price = load_prices().lookup("gpt-4o-mini")
    assert report.cost_usd == pytest.approx((5000 * price.input + 1000 * price.output) / 1e6)
    assert report.cost_usd == pytest.approx(5 * (1000 * 0.15 + 200 * 0.60) / 1e6)
    # the key was sent to the server as a bearer token
    assert all(h == f"Bearer {secret_key}" for h in server.auth_headers)


def test_unknown_model_has_unknown_cost(fake_server):
    server = fake_server(lambda body, n: FakeReply(content="x"))
    client = make_client(config_for(server, model="my-local-llama"))
    run_sync(_complete_n(client, 2))
    assert client.usage.report().cost_usd is None


def test_429_with_retry_after_then_ok(fake_server):
    times: list[float] = []

    def handler(body, n):
        times.append(time.monotonic())
        if n == 0:
            return FakeReply(status=429, content="slow down", headers={"retry-after-ms": "300"})
        return FakeReply(content="fine")

    server = fake_server(handler)
    client = make_client(config_for(server, backoff_initial_s=0.001))
    assert run_sync(_complete_n(client, 1)) == ["fine"]
    assert server.n_requests == 2
    assert client.usage.retries == 1
    assert times[1] - times[0] >= 0.29  # Retry-After honoured (longer than the backoff)


def test_persistent_429_gives_up_with_rate_limited(fake_server):
    server = fake_server(lambda body, n: FakeReply(status=429, content="no"))
    client = make_client(config_for(server, max_retries=2))
    with pytest.raises(RateLimited, match="Gave up after 2 retries"):
        run_sync(_complete_n(client, 1))
    assert server.n_requests == 3
    assert client.usage.failures == 1


def test_500s_are_retried_then_succeed(fake_server):
    server = fake_server(lambda body, n: FakeReply(status=500, content="boom") if n < 2
                         else FakeReply(content="ok"))
    client = make_client(config_for(server))
    assert run_sync(_complete_n(client, 1)) == ["ok"]
    assert server.n_requests == 3
    assert client.usage.retries == 2


def test_400_is_not_retried(fake_server):
    server = fake_server(lambda body, n: FakeReply(status=400, content="bad request"))
    client = make_client(config_for(server))
    with pytest.raises(LLMError, match="HTTP 400"):
        run_sync(_complete_n(client, 1))
    assert server.n_requests == 1


def test_stall_times_out_and_is_retried(fake_server):
    server = fake_server(lambda body, n: FakeReply(content="late", delay_s=1.5) if n == 0
                         else FakeReply(content="on time"))
    client = make_client(config_for(server, timeout_s=0.3))
    t0 = time.monotonic()
    assert run_sync(_complete_n(client, 1)) == ["on time"]
    assert time.monotonic() - t0 < 1.4
    assert server.n_requests == 2


def test_stall_forever_raises_timeout(fake_server):
    server = fake_server(lambda body, n: FakeReply(content="late", delay_s=1.5))
    client = make_client(config_for(server, timeout_s=0.2, max_retries=1))
    with pytest.raises(LLMTimeout, match="timed out"):
        run_sync(_complete_n(client, 1))
    assert server.n_requests == 2


def test_concurrency_limit_is_respected(fake_server):
    server = fake_server(lambda body, n: FakeReply(content="x", delay_s=0.08))
    client = make_client(config_for(server, concurrency=3))
    run_sync(_complete_n(client, 12))
    assert server.max_in_flight == 3
    server2 = fake_server(lambda body, n: FakeReply(content="x", delay_s=0.05))
    client = make_client(config_for(server2, concurrency=1))
    run_sync(_complete_n(client, 4))
    assert server2.max_in_flight == 1


def test_connection_refused_is_an_llm_error():
    config = LLMConfig(model="m", base_url="http://127.0.0.1:9/v1", max_retries=1,
                       backoff_initial_s=0.001, timeout_s=1)
    client = make_client(config)
    with pytest.raises(LLMError, match="Could not connect"):
        run_sync(_complete_n(client, 1))


def test_transport_repr_and_errors_hide_the_key(fake_server, secret_key):
    server = fake_server(lambda body, n: FakeReply(status=401, content="invalid key"))
    transport = OpenAITransport(base_url=server.base_url, api_key=secret_key, timeout_s=1)
    assert secret_key not in repr(transport)
    client = LLMClient(transport, config_for(server))
    with pytest.raises(LLMError) as info:
        run_sync(_complete_n(client, 1))
    assert secret_key not in str(info.value)
    assert secret_key not in repr(client)


def test_run_sync_inside_a_running_loop(fake_server):
    server = fake_server(lambda body, n: FakeReply(content="inner"))

    async def outer() -> list[str]:
        return run_sync(_complete_n(make_client(config_for(server)), 1))

    assert asyncio.run(outer()) == ["inner"]


def test_extra_params_go_to_the_server(fake_server):
    server = fake_server(lambda body, n: FakeReply(content="x"))
    client = make_client(config_for(server, params={"top_p": 0.5, "top_k": 7}, max_tokens=33))
    run_sync(_complete_n(client, 1))
    body = server.bodies[0]
    assert body["top_p"] == 0.5 and body["top_k"] == 7 and body["max_tokens"] == 33
    assert body["temperature"] == 0.0


def test_a_200_with_a_non_json_body_is_an_llm_error_not_a_traceback(fake_server):
    server = fake_server(lambda body, n: FakeReply(raw_body=b"<html>gateway says hi</html>"))
    client = make_client(config_for(server))
    with pytest.raises(LLMError, match="not a JSON chat completion"):
        run_sync(_complete_n(client, 1))
    assert server.n_requests == 1  # a misconfigured server is not retried


def test_an_echoed_key_is_masked_in_error_messages(fake_server, secret_key):
    server = fake_server(lambda body, n: FakeReply(status=401, content=f"invalid key {secret_key}; "
                                                   f"also hf_abcdefghijkl and Bearer xyz"))
    client = make_client(config_for(server))
    with pytest.raises(LLMError) as info:
        run_sync(_complete_n(client, 1))
    text = str(info.value)
    assert secret_key not in text and "hf_abcdefghijkl" not in text and "Bearer xyz" not in text
    assert "***" in text and "HTTP 401" in text


def test_a_200_with_invalid_json_declared_as_json(fake_server):
    server = fake_server(lambda body, n: FakeReply(raw_body=b"{not json",
                                                   raw_content_type="application/json"))
    client = make_client(config_for(server))
    with pytest.raises(LLMError, match="not a JSON chat completion"):
        run_sync(_complete_n(client, 1))


def test_masking_leaves_ordinary_answer_text_alone():
    """mask_secrets rewrote model output: '(?i:bearer)\\s+\\S+' turned 'Acts as the bearer of bad
    news.' into 'Acts as the *** bad news.' (and 'forbearer said' into 'for***'), and a placeholder
    key such as OPENAI_API_KEY=A turned the answer '{"verdict": "A"}' into '{"verdict": "***"}'.
    Headers and real keys are still masked."""
    from chatlens.llm.openai_transport import mask_secrets

    for text in ("Acts as the bearer of bad news.", "Is a forbearer, said the user."):
        assert mask_secrets(text) == text
    assert mask_secrets('{"verdict": "A"}', "A") == '{"verdict": "A"}'
    assert mask_secrets("key sk-secret-xyz here", "sk-secret-xyz") == "key *** here"
    for echoed in ("Authorization: Bearer xyz", "authorization: bearer abcdef1234567890"):
        assert "***" in mask_secrets(echoed) and "xyz" not in mask_secrets(echoed)
        assert "abcdef" not in mask_secrets(echoed)


def test_a_key_echoed_across_the_error_preview_limit_leaks_no_part_of_it(
    fake_server, monkeypatch
):
    # the server's message was cut to 300 characters before the key was masked: a key starting
    # 270 characters into the message left its first 12 in the error (not key-shaped, so kept)
    key = "deadbeefcafe0123456789abcdefabcd"  # an Azure-style hex key
    monkeypatch.setenv("OPENAI_API_KEY", key)
    message = "x" * 270 + key + " is not a valid key"
    server = fake_server(lambda body, n: FakeReply(status=401, content=message))
    client = make_client(config_for(server))
    with pytest.raises(LLMError) as info:
        run_sync(_complete_n(client, 1))
    text = str(info.value)
    assert "HTTP 401" in text and "x" * 270 in text and "deadbe" not in text
