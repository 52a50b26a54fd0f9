"""One value object that configures every LLM call: endpoint, model, timeouts, retries, limits.

Why one object: the client, the cache key, the retry policy and the run summary all read the same
settings, so they can never disagree, and a run records exactly what it used. The object never
holds a secret: it stores the *name* of the environment variable that holds the API key
(``api_key_env``), and the key is read only when a transport is built. ``describe()`` is what goes
into summaries and manifests; it redacts credentials embedded in the base URL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from chatlens.errors import InvalidParameterError

Backend = Literal["auto", "openai", "transformers"]

#: Environment variables read when an option is not given.
ENV_BASE_URL = "CHATLENS_BASE_URL"
ENV_MODEL = "CHATLENS_MODEL"
ENV_API_KEY = "OPENAI_API_KEY"
#: Read by the ``openai`` SDK itself when no base URL is given: chatlens reads it the same way,
#: so the endpoint it records (and hashes into cache keys) is the one the requests go to.
ENV_OPENAI_BASE_URL = "OPENAI_BASE_URL"


def redact_url(url: str | None) -> str | None:
    """``url`` without user:password, query string and fragment (they may carry credentials).

    Examples
    --------
    >>> redact_url("https://user:sk-123@host:8000/v1?api_key=x")
    'https://host:8000/v1'
    >>> redact_url("http://[::1]:8000/v1/")
    'http://[::1]:8000/v1'
    """
    if url is None:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address keeps its brackets ("http://::1:8000/v1" names no host)
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def _url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a server's base URL (a port that is not a number or out of range,
    an unclosed IPv6 bracket), or None. The reason never quotes the URL: it may hold a key."""
    try:
        urlsplit(url).port  # noqa: B018 - parsing the port is the check
    except ValueError as exc:
        return str(exc)
    return None


@dataclass(frozen=True, repr=False)
class LLMConfig:
    """Settings for one LLM client.

    Parameters
    ----------
    model
        Model name on the server, or a local model directory for the ``transformers`` backend.
    base_url
        OpenAI-compatible endpoint (``http://localhost:8000/v1`` for vLLM, ``…:11434/v1`` for
        Ollama). ``None`` means the SDK default: ``$OPENAI_BASE_URL`` if set, else api.openai.com
        (:attr:`server_url`).
    api_key_env
        Name of the environment variable holding the key. The key itself never enters this
        object, the cache, logs or outputs.
    backend
        ``openai`` (any OpenAI-compatible server), ``transformers`` (a local model directory) or
        ``auto``: ``transformers`` when ``model`` is an existing directory and no ``base_url`` is
        set, else ``openai``.
    timeout_s
        Per-request timeout. A request that takes longer counts as a transient failure.
    max_retries
        Retries after the first attempt on 429, 5xx, timeouts and connection errors. Retries are
        done by chatlens with tenacity (exponential backoff plus random jitter, honouring
        ``Retry-After``); the SDK's own retry is switched off so there is exactly one policy.
    backoff_initial_s, backoff_max_s
        Backoff for retry *n* is ``min(backoff_max_s, backoff_initial_s * 2**n + U(0, initial))``;
        a server's ``Retry-After`` is used when larger, capped at ``backoff_max_s``.
    concurrency
        Maximum requests in flight at once (an asyncio semaphore).
    max_reasks
        How often an answer that fails JSON validation is sent back with the reason before the
        item is recorded as invalid.
    temperature, max_tokens, params
        Sampling parameters sent with every request (``params`` for extra ones, e.g.
        ``{"top_p": 1}``, ``{"response_format": {"type": "json_object"}}`` or, for reasoning
        models that reject ``max_tokens``/``temperature``, ``{"max_tokens": None,
        "temperature": None, "max_completion_tokens": 8000}``). A ``None`` value means "do not
        send" (the server's default); an unsent temperature counts as sampling for the cache.
    cache_dir
        Directory of the persistent response cache; ``None`` disables caching.
    prices_path
        A user price table overriding/adding to the bundled one.
    """

    model: str
    base_url: str | None = None
    api_key_env: str = ENV_API_KEY
    backend: Backend = "auto"
    timeout_s: float = 60.0
    max_retries: int = 5
    backoff_initial_s: float = 1.0
    backoff_max_s: float = 60.0
    concurrency: int = 8
    max_reasks: int = 2
    temperature: float | None = 0.0
    max_tokens: int | None = 1024
    params: dict[str, Any] = field(default_factory=dict)
    cache_dir: Path | None = None
    prices_path: Path | None = None

    def __post_init__(self) -> None:
        checks: list[tuple[str, bool, str]] = [
            ("model", bool(self.model), "a non-empty string"),
            ("timeout_s", self.timeout_s > 0, "> 0"),
            ("max_retries", self.max_retries >= 0, ">= 0"),
            ("backoff_initial_s", self.backoff_initial_s >= 0, ">= 0"),
            ("backoff_max_s", self.backoff_max_s >= 0, ">= 0"),
            ("concurrency", self.concurrency >= 1, ">= 1"),
            ("max_reasks", self.max_reasks >= 0, ">= 0"),
            ("temperature", self.temperature is None or self.temperature >= 0, ">= 0 or None"),
            ("backend", self.backend in ("auto", "openai", "transformers"),
             "one of auto, openai, transformers"),
        ]
        for name, ok, expected in checks:
            if not ok:
                msg = f"The {name!r} parameter of LLMConfig must be {expected}. Got {getattr(self, name)!r} instead."
                raise InvalidParameterError(msg)
        # a typo in the port ('http://localhost:80OO/v1') was a ValueError traceback from the
        # first request on; the message names the problem, not the URL (it may carry a key)
        problem = None if self.base_url is None else _url_problem(self.base_url)
        if problem is not None:
            msg = (f"The 'base_url' parameter of LLMConfig is not a usable URL: {problem}. "
                   "Expected a URL such as http://localhost:8000/v1.")
            raise InvalidParameterError(msg)

    def __repr__(self) -> str:
        # base_url may embed credentials (https://user:key@host): show the redacted form only.
        return f"LLMConfig({self.describe()!r})"

    @classmethod
    def from_env(
        cls,
        *,
        model: str | None = None,
        base_url: str | None = None,
        **kwargs: Any,
    ) -> LLMConfig:
        """Fill ``model`` and ``base_url`` from options, else ``CHATLENS_MODEL`` / ``CHATLENS_BASE_URL``."""
        model = model or os.environ.get(ENV_MODEL)
        base_url = base_url or os.environ.get(ENV_BASE_URL) or None
        if not model:
            msg = f"No model given: pass --model or set the {ENV_MODEL} environment variable."
            raise InvalidParameterError(msg)
        return cls(model=model, base_url=base_url, **kwargs)

    @property
    def resolved_backend(self) -> Literal["openai", "transformers"]:
        """The backend ``auto`` resolves to."""
        if self.backend != "auto":
            return self.backend
        if self.base_url is None and Path(self.model).is_dir():
            return "transformers"
        return "openai"

    @property
    def server_url(self) -> str | None:
        """The base URL requests go to: ``base_url``, else ``$OPENAI_BASE_URL``, which the
        ``openai`` SDK reads when given none (``None``: api.openai.com).

        Why here: with ``OPENAI_BASE_URL`` pointing at a local server the requests went there
        while every record said ``openai-default``, and the cache keyed that server's answers as
        api.openai.com's (a later run against the real API got the local model's answers).
        """
        return self.base_url or os.environ.get(ENV_OPENAI_BASE_URL) or None

    @property
    def endpoint_id(self) -> str:
        """A credential-free name of the endpoint, part of every cache key."""
        if self.resolved_backend == "transformers":
            return f"transformers://{Path(self.model).resolve()}"
        return redact_url(self.server_url) or "openai-default"

    def sampling_params(self) -> dict[str, Any]:
        """The parameters sent with every request (and hashed into the cache key)."""
        out: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        out.update(self.params)
        return {k: v for k, v in out.items() if v is not None}

    def api_key(self) -> str | None:
        """Read the key from the environment, at the moment a transport needs it."""
        return os.environ.get(self.api_key_env) or None

    def with_(self, **changes: Any) -> LLMConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def describe(self) -> dict[str, Any]:
        """A JSON-safe, credential-free record of the configuration (for summaries/manifests)."""
        return {
            "model": self.model,
            "backend": self.resolved_backend,
            "endpoint": self.endpoint_id,
            "api_key_env": self.api_key_env,
            "timeout_s": self.timeout_s,
            "max_retries": self.max_retries,
            "backoff_initial_s": self.backoff_initial_s,
            "backoff_max_s": self.backoff_max_s,
            "concurrency": self.concurrency,
            "max_reasks": self.max_reasks,
            "params": self.sampling_params(),
            "cache_dir": str(self.cache_dir) if self.cache_dir else None,
        }
