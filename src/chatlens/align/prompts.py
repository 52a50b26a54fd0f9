"""The alignment prompts (``data/align/prompts.yaml``): rendering and hashing.

Templates have ``{{slot}}`` placeholders only (no logic), so a prompt's text is a pure function of
the template file and the persona; its hash goes on every synthesized row.
"""

from __future__ import annotations

import re
from pathlib import Path

from chatlens import datafiles
from chatlens.align.provenance import config_hash
from chatlens.datafiles.schemas import AlignPrompts, AlignTemplate
from chatlens.errors import InvalidParameterError
from chatlens.llm.delimit import delimiter_tags, neutralise_tags

DEFAULT_PROMPTS = "align/prompts.yaml"
_SLOT = re.compile(r"\{\{(\w+)\}\}")

Messages = list[dict[str, str]]


def load_prompts(path: str | Path | AlignPrompts | None = None) -> AlignPrompts:
    """The prompt file (the bundled HAL prompts by default)."""
    if isinstance(path, AlignPrompts):
        return path
    return datafiles.load(path or DEFAULT_PROMPTS, kind="align-prompts")


def fill(text: str, slots: dict[str, str]) -> str:
    """``text`` with every ``{{slot}}`` replaced; an unknown slot is an error naming it.

    >>> fill("Hi {{name}}!", {"name": "Ann"})
    'Hi Ann!'
    """

    def one(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in slots:
            msg = f"Prompt template uses {{{{{key}}}}}, which is not one of {sorted(slots)}."
            raise InvalidParameterError(msg)
        return str(slots[key])

    return _SLOT.sub(one, text)


def render(template: AlignTemplate, slots: dict[str, str]) -> Messages:
    """The chat messages of ``template`` with ``slots`` filled (system first when present).

    A slot value cannot close the template's tags early (:mod:`chatlens.llm.delimit`): the
    biography is a model's answer, filled between ``<input_data>`` tags of the dialogue and the
    training prompt, and a ``</input_data>`` in it put its own instructions outside the data of
    the prompt DPO then trains on. Values without those tags are filled unchanged (same hashes).
    """
    tags = delimiter_tags((template.system, template.user))
    slots = {k: neutralise_tags(str(v), tags) for k, v in slots.items()}
    msgs: Messages = []
    if template.system.strip():
        msgs.append({"role": "system", "content": fill(template.system, slots)})
    msgs.append({"role": "user", "content": fill(template.user, slots)})
    return msgs


def prompt_hash(messages: Messages) -> str:
    """16-hex hash of a rendered prompt (stored per row: which exact prompt made the dialogue)."""
    return config_hash(messages)
