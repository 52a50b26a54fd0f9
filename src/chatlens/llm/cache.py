"""A persistent response cache (sqlite) and the client wrapper that uses it.

Why: an LLM judge over thousands of dialogues costs money and hours. With every completed answer
committed to disk as it arrives, a rerun costs nothing and a killed job resumes where it stopped.

Key = sha256 of the canonical JSON of (endpoint without credentials, model, messages, sampling
parameters, and the sample index when sampling: ``temperature > 0`` or not sent). The API key is
never part of the key or of the stored value. Failed requests are not cached, so a rerun retries them; invalid answers
*are* cached (they are answers), so a rerun reproduces the same re-ask path at no cost.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import sqlite3
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from chatlens.errors import InvalidParameterError
from chatlens.llm.types import ChatRequest, ChatResponse

log = logging.getLogger("chatlens.llm.cache")

CACHE_FILENAME = "llm_cache.sqlite"


def canonical_json(obj: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def cache_key(endpoint_id: str, request: ChatRequest) -> str:
    """The sha256 hex key of one request (see module docstring for what enters it).

    Examples
    --------
    >>> r = ChatRequest("m", ({"role": "user", "content": "hi"},), {"temperature": 0})
    >>> cache_key("http://h/v1", r) == cache_key("http://h/v1", r.with_messages(r.messages))
    True
    """
    payload: dict[str, Any] = {
        "endpoint": endpoint_id,
        "model": request.model,
        "messages": [dict(m) for m in request.messages],
        "params": request.params,
    }
    temperature = request.params.get("temperature")
    if temperature is None or float(temperature) > 0:  # sampling (an unsent value may sample)
        payload["sample"] = request.sample_index
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


class ResponseCache:
    """An sqlite file of ``key -> response JSON``; each put is committed at once (crash-safe).

    Parameters
    ----------
    path
        A directory (the file ``llm_cache.sqlite`` is created inside) or a ``.sqlite`` file.
    """

    def __init__(self, path: str | Path) -> None:
        path = Path(path)
        if path.suffix not in (".sqlite", ".db"):
            path.mkdir(parents=True, exist_ok=True)
            path = path / CACHE_FILENAME
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        try:
            # check_same_thread=False: run_sync may drive the client from a worker thread; access
            # is still serial (one event loop at a time).
            self._db = sqlite3.connect(
                str(path), timeout=30, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS responses ("
                " key TEXT PRIMARY KEY, model TEXT, created REAL, response TEXT NOT NULL)"
            )
        except sqlite3.DatabaseError as exc:
            msg = f"The LLM cache {path} cannot be opened as an sqlite database ({exc})."
            raise InvalidParameterError(msg) from None

    def get(self, key: str) -> ChatResponse | None:
        row = self._db.execute("SELECT response FROM responses WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        return ChatResponse.from_json(json.loads(row[0]), cached=True)

    def put(self, key: str, response: ChatResponse) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO responses (key, model, created, response) VALUES (?, ?, ?, ?)",
            (key, response.model, time.time(), canonical_json(response.to_json())),
        )

    def __len__(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        self._db.close()


class CachingClient:
    """Wraps a client: answers from the cache when it can, else asks ``inner`` and stores.

    Same interface as :class:`~chatlens.llm.client.LLMClient` (``complete``, ``request``,
    ``usage``, ``config``, ``aclose``), so everything built on a client works with or without it.
    """

    def __init__(self, inner: Any, store: ResponseCache) -> None:
        self.inner = inner
        self.store = store
        self._inflight: dict[str, asyncio.Future[ChatResponse]] = {}

    @property
    def config(self) -> Any:
        return self.inner.config

    @property
    def usage(self) -> Any:
        return self.inner.usage

    @property
    def endpoint_id(self) -> str:
        return self.inner.endpoint_id

    def request(self, messages: Any, **kwargs: Any) -> ChatRequest:
        return self.inner.request(messages, **kwargs)

    async def complete(self, request: ChatRequest) -> ChatResponse:
        key = cache_key(self.inner.endpoint_id, request)
        hit = self.store.get(key)
        if hit is not None:
            self.inner.usage.cache_hits += 1
            log.debug("cache hit %s", key[:12])
            return hit
        pending = self._inflight.get(key)
        if pending is not None:  # the same request is already on its way: share its answer
            response = await asyncio.shield(pending)
            self.inner.usage.cache_hits += 1
            return response
        log.debug("cache miss %s", key[:12])
        future: asyncio.Future[ChatResponse] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            response = await self.inner.complete(request)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: no "never retrieved" warning without waiters
            raise
        finally:
            del self._inflight[key]
        response = self._without_secrets(response)
        self.store.put(key, response)
        future.set_result(response)
        return response

    def _without_secrets(self, response: ChatResponse) -> ChatResponse:
        """The answer with the API key and key-shaped tokens masked, before it is stored.

        Why here too: the cache file outlives the run and is shared; whatever client ``inner``
        is, an answer echoing the key must not be written to disk (the rerun then reads the same
        masked text the first run used).
        """
        from chatlens.llm.openai_transport import mask_secrets

        config = self.inner.config
        key = config.api_key() if hasattr(config, "api_key") else None
        masked = mask_secrets(response.text, key)
        return response if masked == response.text else replace(response, text=masked)

    async def aclose(self) -> None:
        await self.inner.aclose()
        self.store.close()
