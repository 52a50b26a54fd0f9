"""The async LLM client: one transport, a concurrency limit, the retry policy, accounting.

Async only (no sync twin): judging thousands of dialogues is I/O-bound and the semaphore is the
natural way to bound in-flight requests. Public batch functions (``judge``, ``llm_label``) wrap
their coroutines with :func:`run_sync`, so callers never deal with event loops.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

from chatlens._progress import progress_bar
from chatlens.errors import LLMError
from chatlens.llm.cache import CachingClient, ResponseCache
from chatlens.llm.config import LLMConfig
from chatlens.llm.prices import PriceTable, load_prices
from chatlens.llm.retry import retrying
from chatlens.llm.transport import Transport
from chatlens.llm.types import ChatRequest, ChatResponse, Message
from chatlens.llm.usage import UsageMeter

T = TypeVar("T")
R = TypeVar("R")


class LLMClient:
    """Sends requests through ``transport`` with at most ``config.concurrency`` in flight.

    Parameters
    ----------
    transport
        Any :class:`~chatlens.llm.transport.Transport`.
    config
        The :class:`~chatlens.llm.config.LLMConfig` (retries, backoff, concurrency, parameters).
    prices
        Price table for cost accounting; the bundled one by default.
    """

    def __init__(
        self, transport: Transport, config: LLMConfig, *, prices: PriceTable | None = None
    ) -> None:
        self.transport = transport
        self.config = config
        self.endpoint_id: str = getattr(transport, "endpoint_id", None) or config.endpoint_id
        prices = prices if prices is not None else load_prices(config.prices_path)
        price_name = (
            self.endpoint_id if config.resolved_backend == "transformers" else config.model
        )
        self.usage = UsageMeter(config.model, prices.lookup(price_name))
        self._sem: asyncio.Semaphore | None = None
        self._sem_loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return f"LLMClient(endpoint={self.endpoint_id!r}, model={self.config.model!r})"

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._sem is None or self._sem_loop is not loop:
            self._sem = asyncio.Semaphore(self.config.concurrency)
            self._sem_loop = loop
        return self._sem

    def request(
        self, messages: Sequence[Message], *, sample_index: int = 0, **params: Any
    ) -> ChatRequest:
        """A request for ``messages`` with the configured model and sampling parameters."""
        merged = {**self.config.sampling_params(), **params}
        merged = {k: v for k, v in merged.items() if v is not None}
        return ChatRequest(
            model=self.config.model,
            messages=tuple({"role": m["role"], "content": m["content"]} for m in messages),
            params=merged,
            sample_index=sample_index,
        )

    async def complete(self, request: ChatRequest) -> ChatResponse:
        """Send ``request``, retrying transient failures; raises :class:`LLMError` when it gives up."""

        def on_retry(_state: Any) -> None:
            self.usage.retries += 1

        sem = self._semaphore()
        try:
            async for attempt in retrying(self.config, on_retry):
                with attempt:
                    async with sem:
                        response = await self.transport.send(request)
        except LLMError as exc:
            self.usage.failures += 1
            if getattr(exc, "retryable", False) and self.config.max_retries > 0:
                msg = f"{exc} Gave up after {self.config.max_retries} retries."
                final = type(exc)(msg)
                final.retryable = True  # type: ignore[attr-defined]
                raise final from None
            raise
        self.usage.add_response(response.prompt_tokens, response.completion_tokens)
        return response

    async def aclose(self) -> None:
        await self.transport.aclose()


def build_transport(config: LLMConfig) -> Transport:
    """The transport ``config`` asks for (OpenAI-compatible server or local transformers model)."""
    if config.resolved_backend == "transformers":
        from chatlens.llm.local import TransformersTransport

        return TransformersTransport(config.model, max_new_tokens=config.max_tokens or 256)
    from chatlens.llm.openai_transport import OpenAITransport

    return OpenAITransport(
        base_url=config.server_url, api_key=config.api_key(), timeout_s=config.timeout_s
    )


def make_client(
    config: LLMConfig, *, transport: Transport | None = None
) -> LLMClient | CachingClient:
    """A ready client: the configured transport, wrapped in the cache when ``cache_dir`` is set.

    Examples
    --------
    >>> from chatlens.llm.transport import MockTransport
    >>> client = make_client(LLMConfig(model="m"), transport=MockTransport(lambda r: "hi"))
    >>> asyncio.run(client.complete(client.request([{"role": "user", "content": "x"}]))).text
    'hi'
    """
    inner = LLMClient(transport if transport is not None else build_transport(config), config)
    if config.cache_dir is None:
        return inner
    return CachingClient(inner, ResponseCache(config.cache_dir))


def run_sync(coro: Awaitable[T]) -> T:
    """Run a coroutine to completion from sync code, also inside a running loop (notebooks)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)  # type: ignore[arg-type]
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)  # type: ignore[arg-type]
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="chatlens-llm")
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


async def map_async(
    fn: Callable[[T], Awaitable[R]],
    items: Iterable[T],
    *,
    description: str,
    total: int | None = None,
    window: int = 256,
) -> list[R]:
    """``[await fn(x) for x in items]`` run concurrently, in order, with a progress bar.

    At most ``window`` coroutines exist at once (the client's semaphore bounds the requests in
    flight), so memory stays bounded on long inputs.
    """
    items = list(items)
    results: list[Any] = [None] * len(items)
    with progress_bar(description=description, total=total or len(items)) as advance:
        pending: set[asyncio.Task[None]] = set()

        async def run_one(i: int, item: T) -> None:
            results[i] = await fn(item)
            advance(1)

        try:
            for i, item in enumerate(items):
                pending.add(asyncio.ensure_future(run_one(i, item)))
                if len(pending) >= window:
                    done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    for task in done:
                        task.result()
            if pending:
                done, _ = await asyncio.wait(pending)
                for task in done:
                    task.result()
        finally:
            for task in pending:
                task.cancel()
    return results
