"""The transport seam: one async ``send(request) -> response`` protocol behind every backend.

Why a seam: the client (concurrency, retries, caching, JSON validation, accounting) is the same
for a hosted API, a vLLM server, a local transformers model and a unit-test stub, so it is written
once against :class:`Transport`. Transports translate their backend's failures into chatlens
errors and mark the transient ones (429, 5xx, timeouts, dropped connections) with
``retryable = True``; the client's retry policy looks only at that flag.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar, runtime_checkable

from chatlens.errors import LLMError, LLMTimeout, RateLimited
from chatlens.llm.types import ChatRequest, ChatResponse

E = TypeVar("E", bound=LLMError)


@runtime_checkable
class Transport(Protocol):
    """Sends one request and returns one response, or raises an :class:`LLMError`."""

    async def send(self, request: ChatRequest) -> ChatResponse:  # pragma: no cover - protocol
        ...

    async def aclose(self) -> None:  # pragma: no cover - protocol
        ...


def llm_failure(
    cls: type[E],
    msg: str,
    *,
    retryable: bool,
    status: int | None = None,
    retry_after: float | None = None,
) -> E:
    """Build an LLM error carrying what the retry policy needs (``retryable``, ``retry_after``)."""
    err = cls(msg)
    err.retryable = retryable  # type: ignore[attr-defined]
    err.status = status  # type: ignore[attr-defined]
    err.retry_after = retry_after  # type: ignore[attr-defined]
    return err


def rate_limited(msg: str, retry_after: float | None = None) -> RateLimited:
    """A 429: retryable, optionally with the server's Retry-After in seconds."""
    return llm_failure(RateLimited, msg, retryable=True, status=429, retry_after=retry_after)


def timed_out(msg: str) -> LLMTimeout:
    """A request that took longer than the configured timeout: retryable."""
    return llm_failure(LLMTimeout, msg, retryable=True)


def server_error(msg: str, status: int | None = None) -> LLMError:
    """A 5xx or dropped connection: retryable."""
    return llm_failure(LLMError, msg, retryable=True, status=status)


def client_error(msg: str, status: int | None = None) -> LLMError:
    """A 4xx other than 408/409/429 (bad request, auth, unknown model): never retried."""
    return llm_failure(LLMError, msg, retryable=False, status=status)


Handler = Callable[[ChatRequest], "ChatResponse | str | Awaitable[ChatResponse | str]"]


class MockTransport:
    """A transport that answers with ``handler(request)``, for unit tests (no network).

    The handler returns a :class:`ChatResponse` or a plain string (wrapped with zero usage), may
    be sync or async, and may raise the errors built by :func:`rate_limited`, :func:`timed_out`,
    :func:`server_error` to exercise the retry policy.

    Examples
    --------
    >>> import asyncio
    >>> from chatlens.llm.types import ChatRequest
    >>> t = MockTransport(lambda req: '{"ok": true}')
    >>> asyncio.run(t.send(ChatRequest("m", ({"role": "user", "content": "hi"},)))).text
    '{"ok": true}'
    """

    endpoint_id = "mock://"

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[ChatRequest] = []

    async def send(self, request: ChatRequest) -> ChatResponse:
        self.requests.append(request)
        out = self.handler(request)
        if inspect.isawaitable(out):
            out = await out
        if isinstance(out, str):
            return ChatResponse(text=out, model=request.model)
        return out

    async def aclose(self) -> None:
        return None
