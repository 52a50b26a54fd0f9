"""Request and response records passed through transports, the cache and the client.

Plain frozen dataclasses, so a cached response and a fresh one are indistinguishable except for
the ``cached`` flag, and a request hashes the same way in every process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Message = dict[str, str]


@dataclass(frozen=True)
class ChatRequest:
    """One chat-completion request.

    ``sample_index`` tells repeated samples of the same prompt apart (it enters the cache key
    only when sampling, i.e. ``temperature > 0`` or unset; at temperature 0 every sample is the
    same answer).
    """

    model: str
    messages: tuple[Message, ...]
    params: dict[str, Any] = field(default_factory=dict)
    sample_index: int = 0

    def with_messages(self, messages: tuple[Message, ...]) -> ChatRequest:
        """The same request with another conversation (used by the JSON re-ask)."""
        return ChatRequest(self.model, messages, self.params, self.sample_index)


@dataclass(frozen=True)
class ChatResponse:
    """The text of one completion, its token usage, and whether it came from the cache."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str | None = None
    model: str | None = None
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        """What the cache stores (never the request, never a credential)."""
        return {
            "text": self.text,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "finish_reason": self.finish_reason,
            "model": self.model,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, cached: bool = True) -> ChatResponse:
        return cls(
            text=str(data.get("text", "")),
            prompt_tokens=int(data.get("prompt_tokens") or 0),
            completion_tokens=int(data.get("completion_tokens") or 0),
            finish_reason=data.get("finish_reason"),
            model=data.get("model"),
            cached=cached,
        )
