"""Schemas of the LLM layer's files: price tables and prompts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from chatlens.datafiles._check import Check, Invalid
from chatlens.datafiles.schemas._base import (
    DataFile,
    NonNegative,
    Source,
    Version,
)


@dataclass(frozen=True, kw_only=True)
class ModelPrice:
    input: NonNegative
    output: NonNegative


@dataclass(frozen=True, kw_only=True)
class _UserFile(DataFile):
    """A file users write too (a price override, a prompt): name, version and source optional."""

    name: str | None = None
    version: Version = ""
    source: Source = ""


@dataclass(frozen=True, kw_only=True)
class PriceList(_UserFile):
    """``llm/prices.yaml`` or a user's override file."""

    currency: str = "USD"
    unit: Literal["per_1m_tokens"] = "per_1m_tokens"
    models: dict[str, ModelPrice]


@dataclass(frozen=True, kw_only=True)
class PromptMessage:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True, kw_only=True)
class LabelPromptFile(_UserFile):
    """``llm/<task>.yaml`` or a user prompt: messages with ``{{text}}`` and an output schema."""

    messages: tuple[PromptMessage, ...] = ()
    output: dict[str, Any]

    def __post_init__(self) -> None:
        if not any("{{text}}" in m.content for m in self.messages):
            raise Invalid(key="messages", expected="a message containing the {{text}} placeholder",
                          got=[m.content[:40] for m in self.messages])
        if self.output.get("type") != "object" or not self.output.get("properties"):
            raise Invalid(key="output", expected="an object schema with properties", got=self.output)


@dataclass(frozen=True, kw_only=True)
class ReaskPrompt(DataFile):
    """``llm/reask.yaml``: the re-ask message, ``{{reason}}`` filled in."""

    template: Annotated[str, Check("text containing {{reason}}", lambda t: "{{reason}}" in t)]
