"""chatlens.llm: one async client for OpenAI-compatible servers and local transformers models.

Layers, each replaceable::

    LLMConfig ──► LLMClient(transport) ──► CachingClient(client, ResponseCache) ──► complete_json
                  semaphore, retries,       sqlite, sha256 keys,                    extract, validate,
                  usage & cost              resume after a crash                    bounded re-ask

Transports: :class:`OpenAITransport` (any OpenAI-compatible server via the ``openai`` SDK),
:class:`~chatlens.llm.local.TransformersTransport` (a local model directory, extra ``ml``) and
:class:`MockTransport` (tests). Batch helpers: :func:`map_async`, :func:`run_sync`. Labelling
prompts for the log analysis: :func:`chatlens.llm.labels.llm_label`.
"""

from __future__ import annotations

from chatlens.llm.cache import CachingClient, ResponseCache, cache_key
from chatlens.llm.client import LLMClient, build_transport, make_client, map_async, run_sync
from chatlens.llm.config import LLMConfig, redact_url
from chatlens.llm.jsonout import JsonResult, JsonSchema, complete_json, extract_json, json_validator
from chatlens.llm.openai_transport import OpenAITransport
from chatlens.llm.prices import Price, PriceTable, load_prices
from chatlens.llm.transport import (
    MockTransport,
    Transport,
    client_error,
    rate_limited,
    server_error,
    timed_out,
)
from chatlens.llm.types import ChatRequest, ChatResponse
from chatlens.llm.usage import UsageReport

__all__ = [
    "CachingClient",
    "ChatRequest",
    "ChatResponse",
    "JsonResult",
    "JsonSchema",
    "LLMClient",
    "LLMConfig",
    "MockTransport",
    "OpenAITransport",
    "Price",
    "PriceTable",
    "ResponseCache",
    "Transport",
    "UsageReport",
    "build_transport",
    "cache_key",
    "client_error",
    "complete_json",
    "extract_json",
    "json_validator",
    "load_prices",
    "make_client",
    "map_async",
    "rate_limited",
    "redact_url",
    "run_sync",
    "server_error",
    "timed_out",
]
