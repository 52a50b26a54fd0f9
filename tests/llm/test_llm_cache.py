"""The persistent cache: reruns are free, samples stay distinct, no credential is stored."""

from __future__ import annotations

import sqlite3

from chatlens.llm import LLMConfig, MockTransport, make_client, run_sync
from chatlens.llm.cache import CachingClient, ResponseCache, cache_key
from chatlens.llm.client import map_async
from chatlens.llm.testing import FakeReply
from chatlens.llm.types import ChatRequest


async def _ask_all(client, prompts, sample_index=0):
    async def one(p):
        return (await client.complete(client.request(
            [{"role": "user", "content": p}], sample_index=sample_index))).text

    try:
        return await map_async(one, prompts, description="t")
    finally:
        await client.aclose()


def test_rerun_costs_nothing(fake_server, secret_key, tmp_path):
    server = fake_server(lambda body, n: FakeReply(content="ans:" + body["messages"][0]["content"]))
    config = LLMConfig(model="gpt-4o-mini", base_url=server.base_url, cache_dir=tmp_path / "c",
                       backoff_initial_s=0.01)
    first = make_client(config)
    assert isinstance(first, CachingClient)
    out1 = run_sync(_ask_all(first, ["a", "b", "c"]))
    assert server.n_requests == 3
    second = make_client(config)
    out2 = run_sync(_ask_all(second, ["a", "b", "c", "d"]))
    assert out1 == out2[:3] and out2[3] == "ans:d"
    assert server.n_requests == 4  # only "d" was sent
    rep = second.usage.report()
    assert (rep.cache_hits, rep.requests) == (3, 1)
    assert rep.cost_usd == (100 * 0.15 + 20 * 0.60) / 1e6  # cache hits are free
    # the key appears nowhere in the cache file (nor the WAL)
    for f in (tmp_path / "c").iterdir():
        assert secret_key.encode() not in f.read_bytes()


def test_failed_requests_are_not_cached(tmp_path):
    calls = {"n": 0}

    def handler(req):
        calls["n"] += 1
        from chatlens.llm.transport import server_error
        raise server_error("down", 503)

    config = LLMConfig(model="m", cache_dir=tmp_path, max_retries=0)
    client = make_client(config, transport=MockTransport(handler))
    try:
        run_sync(_ask_all(client, ["x"]))
    except Exception:
        pass
    assert len(ResponseCache(tmp_path)) == 0


def test_samples_are_distinct_only_when_sampling(tmp_path):
    answers = iter(range(100))
    transport = MockTransport(lambda req: f"s{next(answers)}")
    hot = LLMConfig(model="m", temperature=0.7, cache_dir=tmp_path / "hot")
    a = run_sync(_ask_all(make_client(hot, transport=transport), ["p"], sample_index=0))
    b = run_sync(_ask_all(make_client(hot, transport=transport), ["p"], sample_index=1))
    assert a != b
    cold = LLMConfig(model="m", temperature=0.0, cache_dir=tmp_path / "cold")
    c = run_sync(_ask_all(make_client(cold, transport=transport), ["p"], sample_index=0))
    d = run_sync(_ask_all(make_client(cold, transport=transport), ["p"], sample_index=1))
    assert c == d


def test_cache_key_ignores_credentials_and_covers_params():
    req = ChatRequest("m", ({"role": "user", "content": "hi"},), {"temperature": 0})
    cfg1 = LLMConfig(model="m", base_url="https://user:sk-aaa@host/v1?key=1")
    cfg2 = LLMConfig(model="m", base_url="https://host/v1")
    assert cfg1.endpoint_id == cfg2.endpoint_id == "https://host/v1"
    assert cache_key(cfg1.endpoint_id, req) == cache_key(cfg2.endpoint_id, req)
    other = ChatRequest("m", req.messages, {"temperature": 0, "max_tokens": 5})
    assert cache_key("e", req) != cache_key("e", other)
    assert cache_key("e", req) != cache_key("e2", req)
    assert len(cache_key("e", req)) == 64


def test_cache_survives_reopen_and_is_plain_sqlite(tmp_path):
    from chatlens.llm.types import ChatResponse

    store = ResponseCache(tmp_path / "x.sqlite")
    store.put("k", ChatResponse(text="t", prompt_tokens=3, completion_tokens=4, model="m"))
    store.close()
    again = ResponseCache(tmp_path / "x.sqlite")
    hit = again.get("k")
    assert hit is not None and hit.cached and hit.text == "t" and hit.completion_tokens == 4
    rows = sqlite3.connect(tmp_path / "x.sqlite").execute("SELECT key FROM responses").fetchall()
    assert rows == [("k",)]


def test_identical_requests_in_flight_are_sent_once(fake_server, tmp_path):
    server = fake_server(lambda body, n: FakeReply(content="same", delay_s=0.1))
    config = LLMConfig(model="m", base_url=server.base_url, cache_dir=tmp_path, concurrency=4)
    client = make_client(config)
    assert run_sync(_ask_all(client, ["dup", "dup", "dup", "other"])) == ["same"] * 4
    assert server.n_requests == 2 and client.usage.cache_hits == 2
