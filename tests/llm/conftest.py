"""Fixtures for the LLM client tests: a fake OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from chatlens.llm.testing import FakeOpenAIServer, FakeReply

SECRET = "sk-test-DO-NOT-LEAK-4242424242"


@pytest.fixture
def fake_server() -> Iterator[Callable[..., FakeOpenAIServer]]:
    """``fake_server(handler)`` starts a server; all are stopped at teardown."""
    started: list[FakeOpenAIServer] = []

    def start(handler: Callable[[dict, int], FakeReply]) -> FakeOpenAIServer:
        server = FakeOpenAIServer(handler).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def secret_key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    return SECRET
