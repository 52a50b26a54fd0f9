"""The discovery prompts and default parameters, loaded from data files.

Why data files: the prompts are the study's method (what the model is asked, in which words), so
they are versioned and hashed into every run's manifest like a lexicon is; a user changes them by
passing their own YAML file with the same keys, not by editing code. Placeholders are
``{{name}}``, declared by the file and filled in one pass, so braces inside a dialogue are never
expanded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chatlens import datafiles
from chatlens.datafiles.schemas import DiscoveryDefaults, DiscoveryPrompt
from chatlens.datafiles.schemas.instrument import DOUBLE_BRACE
from chatlens.errors import DataFileError, InvalidParameterError
from chatlens.llm.cache import canonical_json
from chatlens.llm.delimit import delimiter_tags, neutralise_tags
from chatlens.llm.jsonout import JsonSchema

__all__ = ["Prompt", "load_defaults", "load_prompt", "prompt_from_file"]

#: Bundled prompts by step name.
BUNDLED_PROMPTS = {
    "characteristics": "instrument/characteristics.yaml",
    "condense": "instrument/condense.yaml",
}

#: What the code of each step reads from the answer and fills into the prompt. The answer's keys
#: are paths through the schema ("[]" = every element of an array) that the prompt's ``output``
#: must require with that type: a user's prompt that left one optional passed the check and the
#: step then raised KeyError on the first answer without it, after the requests were paid for.
STEP_CONTRACTS: dict[str, dict[str, Any]] = {
    "characteristics": {
        "placeholders": ("property", "a", "b"),
        "answer": {
            ("verdict",): "string",
            ("characteristics",): "array",
            ("characteristics", "[]"): "string",
        },
    },
    "condense": {
        "placeholders": ("property", "n_items", "n_themes", "n_clusters", "clusters"),
        "answer": {
            ("themes",): "array",
            ("themes", "[]"): "object",
            ("themes", "[]", "title"): "string",
            ("themes", "[]", "items"): "array",
            ("themes", "[]", "items", "[]"): "object",
            ("themes", "[]", "items", "[]", "statement"): "string",
        },
    },
}


def _check_contract(step: str, prompt: Prompt) -> None:
    """Refuse a prompt whose answer schema lets through an answer the step cannot read, or that
    declares a placeholder the step does not fill (:data:`STEP_CONTRACTS`)."""
    contract = STEP_CONTRACTS[step]
    unknown = sorted(set(prompt.placeholders) - set(contract["placeholders"]))
    if unknown:
        raise DataFileError(
            prompt.path, "placeholders",
            f"placeholders the {step} step fills ({list(contract['placeholders'])})", unknown,
        )
    for path, kind in contract["answer"].items():
        node: Any = prompt.output
        for depth, part in enumerate(path):
            where = "output." + ".".join(path[: depth + 1])
            if part == "[]":
                node = node.get("items")
            else:
                props = node.get("properties") or {}
                if part not in (node.get("required") or []) or part not in props:
                    parent = "output." + ".".join(path[:depth]) if depth else "output"
                    raise DataFileError(
                        prompt.path, f"{parent}.required",
                        f"{part!r} required and described under properties (the {step} step "
                        "reads it from every answer)",
                        node.get("required"),
                    )
                node = props[part]
            if not isinstance(node, dict) or (depth == len(path) - 1 and node.get("type") != kind):
                raise DataFileError(
                    prompt.path, where, f"a schema of type {kind!r} (the {step} step reads it)",
                    node.get("type") if isinstance(node, dict) else node,
                )


@dataclass(frozen=True)
class Prompt:
    """A discovery prompt: message templates, declared placeholders and the answer's JSON schema."""

    name: str
    version: str
    placeholders: tuple[str, ...]
    messages: tuple[tuple[str, str], ...]
    output: dict[str, Any]
    path: str

    @property
    def sha256(self) -> str:
        """Hash of what the model sees and what is accepted (enters the step's cache key)."""
        body = canonical_json({"messages": self.messages, "output": self.output})
        return hashlib.sha256(body.encode("utf-8")).hexdigest()

    def render(self, values: dict[str, str]) -> list[dict[str, str]]:
        """Chat messages with every placeholder filled in one pass (a value cannot close the
        template's tags early: :mod:`chatlens.llm.delimit`).

        Examples
        --------
        >>> p = load_prompt("characteristics")
        >>> msgs = p.render({"property": "is human", "a": "W: {{b}}", "b": "W: hi"})
        >>> "W: {{b}}" in msgs[1]["content"], msgs[1]["content"].count("W: hi")
        (True, 1)
        """
        missing = sorted(set(self.placeholders) - set(values))
        if missing:
            msg = f"prompt {self.name!r} needs values for {missing}; got {sorted(values)}."
            raise InvalidParameterError(msg)
        tags = delimiter_tags(text for _, text in self.messages)
        safe = {k: neutralise_tags(str(v), tags) for k, v in values.items()}
        return [
            {"role": role, "content": DOUBLE_BRACE.sub(lambda m: safe[m.group(1)], text)}
            for role, text in self.messages
        ]


def prompt_from_file(doc: DiscoveryPrompt, where: str) -> Prompt:
    """The :class:`Prompt` of a schema-checked file; its ``output`` must be a supported schema."""
    try:
        JsonSchema(doc.output)
    except InvalidParameterError as exc:
        raise DataFileError(where, "output", "a supported JSON schema", str(exc)) from None
    return Prompt(
        doc.name,
        str(doc.version),
        tuple(doc.placeholders),
        tuple((m.role, m.content) for m in doc.messages),
        doc.output,
        where,
    )


def load_prompt(step: str, path: str | Path | None = None) -> Prompt:
    """The bundled prompt of ``step`` (``characteristics`` or ``condense``), or a user YAML file."""
    if path is None and step not in BUNDLED_PROMPTS:
        msg = f"Unknown discovery prompt {step!r}; expected one of {sorted(BUNDLED_PROMPTS)}."
        raise InvalidParameterError(msg)
    source = Path(path) if path is not None else BUNDLED_PROMPTS[step]
    doc, record = datafiles.load_with_record(source, kind="discovery-prompt")
    prompt = prompt_from_file(doc, record.file)
    if step in STEP_CONTRACTS:
        _check_contract(step, prompt)
    return prompt


def load_defaults() -> DiscoveryDefaults:
    """The bundled defaults (``instrument/defaults.yaml``)."""
    return datafiles.load("instrument/defaults.yaml")
