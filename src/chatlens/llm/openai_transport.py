"""Transport for any OpenAI-compatible chat-completions server, through the ``openai`` SDK.

Works with OpenAI, vLLM, Ollama, llama.cpp's server and LM Studio: all expose
``POST {base_url}/chat/completions``. The SDK's own retry is switched off (``max_retries=0``):
chatlens retries in one place (:mod:`chatlens.llm.retry`), so the policy is the same for every
backend and visible in tests. SDK errors are translated into chatlens errors whose messages
never include the key (the SDK never puts it in messages; we also never format headers).
"""

from __future__ import annotations

import asyncio
import inspect
import re
from dataclasses import replace
from typing import Any

from chatlens.errors import LLMError
from chatlens.llm.config import redact_url
from chatlens.llm.transport import client_error, rate_limited, server_error, timed_out
from chatlens.llm.types import ChatRequest, ChatResponse

#: Placeholder sent when no key is set: local servers (vLLM, Ollama) accept any value.
NO_KEY = "chatlens-no-key"


#: Key-shaped tokens: OpenAI-style ``sk-…``, Hugging Face ``hf_…``, bearer tokens: after the
#: header's ``Bearer`` anything; after a lowercase ``bearer`` (the English word: "the bearer of
#: bad news", "forbearer") only a token-like run of 12+ characters with a digit.
_KEYLIKE = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{8,}|hf_[A-Za-z0-9]{8,})"
    r"|\b(?:Bearer|BEARER)\s+\S+"
    r"|\bbearer\s+(?=[A-Za-z._~+/=-]*\d)[A-Za-z0-9._~+/=-]{12,}"
)
#: Shortest configured key that is masked as such: a placeholder key for a local server ("x",
#: "A", "1") would otherwise turn every occurrence of that text in every answer into ``***``.
MIN_KEY_CHARS = 8


def _not_a_completion(where: str, got: str) -> str:
    return (f"The server {where} answered with a body that is not a JSON chat completion "
            f"(got {got}); expected an OpenAI-compatible server at this URL.")


def mask_secrets(text: str, key: str | None = None) -> str:
    """``text`` with ``key`` and key-shaped tokens replaced by ``***`` (error messages are stored
    in ``hl_error`` and printed; a server that echoes the request's key must not leak it).

    A ``key`` shorter than :data:`MIN_KEY_CHARS` is a placeholder, not a credential, and is not
    replaced: with ``OPENAI_API_KEY=A`` the answer ``{"verdict": "A"}`` became
    ``{"verdict": "***"}`` (an invalid answer, and a cached one).
    """
    if key and len(key) >= MIN_KEY_CHARS:
        text = text.replace(key, "***")
    return _KEYLIKE.sub("***", text)


def _retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds), if present."""
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            return max(0.0, float(value) * scale)
        except ValueError:
            continue
    return None


class OpenAITransport:
    """Sends chat completions with ``openai.AsyncOpenAI``.

    Parameters
    ----------
    base_url
        The server's base URL (``…/v1``); ``None`` for the SDK default.
    api_key
        The key, or ``None`` for servers that need none. Kept in a private attribute and passed
        only to the SDK; it is not part of ``repr`` or of any record.
    timeout_s
        Per-request timeout in seconds.
    """

    def __init__(self, *, base_url: str | None, api_key: str | None, timeout_s: float) -> None:
        self.base_url = base_url
        self.endpoint_id = redact_url(base_url) or "openai-default"
        self.timeout_s = timeout_s
        self.__api_key = api_key
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._create_params: set[str] | None = None

    def __repr__(self) -> str:
        return f"OpenAITransport(endpoint={self.endpoint_id!r}, timeout_s={self.timeout_s})"

    def _sdk(self) -> Any:
        """The SDK client, rebuilt when called from another event loop (its pool is loop-bound)."""
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            import openai

            self._client = openai.AsyncOpenAI(
                api_key=self.__api_key or NO_KEY,
                base_url=self.base_url,
                timeout=self.timeout_s,
                max_retries=0,
            )
            self._loop = loop
            if self._create_params is None:
                sig = inspect.signature(type(self._client.chat.completions).create)
                self._create_params = set(sig.parameters) - {"self", "messages", "model"}
        return self._client

    def _split_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Known SDK parameters as keywords, server-specific ones (e.g. vLLM's) in extra_body."""
        known = self._create_params or set()
        kwargs = {k: v for k, v in params.items() if k in known}
        extra = {k: v for k, v in params.items() if k not in known}
        if extra:
            kwargs["extra_body"] = extra
        return kwargs

    async def send(self, request: ChatRequest) -> ChatResponse:
        import openai

        client = self._sdk()
        where = f"{self.endpoint_id} (model {request.model!r})"
        try:
            completion = await client.chat.completions.create(
                model=request.model,
                messages=[dict(m) for m in request.messages],
                **self._split_params(request.params),
            )
        except openai.APITimeoutError:
            msg = f"The LLM request to {where} timed out after {self.timeout_s:g} s."
            raise timed_out(msg) from None
        except openai.APIConnectionError as exc:
            msg = f"Could not connect to {where}: {type(exc).__name__}."
            raise server_error(msg) from None
        except openai.RateLimitError as exc:
            msg = f"The server {where} answered 429 (rate limited)."
            wait = _retry_after(getattr(exc.response, "headers", None))
            raise rate_limited(msg, wait) from None
        except openai.APIStatusError as exc:
            status = exc.status_code
            # masked before it is cut: a key across the cut would leave its start unmasked
            msg = f"The server {where} answered HTTP {status}: {self._mask(str(exc.message))[:300]}"
            if status >= 500 or status in (408, 409):
                raise server_error(msg, status) from None
            raise client_error(msg, status) from None
        except openai.OpenAIError as exc:
            msg = f"The LLM request to {where} failed: {type(exc).__name__}: {self._mask(str(exc))[:300]}"
            raise LLMError(msg) from None
        except ValueError as exc:  # a 200 whose body is not JSON (json.JSONDecodeError)
            raise client_error(_not_a_completion(where, type(exc).__name__)) from None
        if isinstance(completion, (str, bytes)) or not hasattr(completion, "choices"):
            # the SDK hands back a non-JSON body (say, an HTML error page) as a plain string
            raise client_error(_not_a_completion(where, type(completion).__name__))
        response = _to_response(completion, request)
        # a server (or a proxy) may echo the request's Authorization header in a normal answer;
        # the answer is stored (cache, hl_raw) and printed, so it must not carry the key
        return replace(response, text=self._mask(response.text))

    def _mask(self, text: str) -> str:
        """``text`` without the API key or anything shaped like a key (servers echo them)."""
        return mask_secrets(text, self.__api_key)

    async def aclose(self) -> None:
        if self._client is not None:
            try:
                await self._client.close()
            except RuntimeError:  # the loop that owned the pool is gone
                pass
            self._client = None


def _to_response(completion: Any, request: ChatRequest) -> ChatResponse:
    choices = getattr(completion, "choices", None) or []
    if not choices:
        return ChatResponse(text="", finish_reason="no_choices", model=request.model)
    choice = choices[0]
    message = getattr(choice, "message", None)
    text = getattr(message, "content", None) or ""
    usage = getattr(completion, "usage", None)
    return ChatResponse(
        text=text,
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        finish_reason=getattr(choice, "finish_reason", None),
        model=getattr(completion, "model", None) or request.model,
    )
