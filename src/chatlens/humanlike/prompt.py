"""Rendering an instrument into judge prompts: statements, anchors, answer format, placeholders.

Why apart from the instrument's data: the prompt is the one part of an instrument a judge sees, so
it is rendered in one place from the same items that parse and score the answer. Placeholders are
filled in one pass, so braces in a dialogue are never expanded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from chatlens.llm.delimit import delimiter_tags, neutralise_tags

if TYPE_CHECKING:
    from chatlens.humanlike.instrument_types import Instrument, Item

__all__ = [
    "PLACEHOLDERS",
    "PLACEHOLDER_RE",
    "anchors_block",
    "clean_dialogue",
    "output_example",
    "output_schema",
    "render_prompt",
    "statements_block",
]


#: Placeholders a prompt template may use; anything else in ``{lower_case}`` form is an error.
PLACEHOLDERS: frozenset[str] = frozenset(
    {"dialogue", "speaker", "other", "speaker_label", "n_items", "anchors", "statements",
     "output_example"}
)
PLACEHOLDER_RE = re.compile(r"\{([a-z_]+)\}")

_NEWLINES = re.compile(r"\n+")
_SPACES = re.compile(r"[ \t]+")


def clean_dialogue(text: str) -> str:
    """Normalise a transcript the way the HAL judges saw it.

    ``---`` rules are removed, runs of newlines collapse to one and runs of spaces/tabs are
    squeezed (hal.md section 1.2), so prompt tokens are not wasted on layout. (HAL collapsed
    newlines before removing rules, which could leave a blank line; here rules go first.)
    """
    text = text.replace("\r\n", "\n").replace("---", "")
    return _SPACES.sub(" ", _NEWLINES.sub("\n", text)).strip()


def statements_block(inst: Instrument) -> str:
    """The numbered statement list as it appears in the prompt (with group headings)."""
    if not inst.groups:
        return "\n".join(f"{i.key}. {i.statement}" for i in inst.items)
    blocks = []
    for g in inst.groups:
        lines = [f"{i.key}. {i.statement}" for i in inst.items if i.group == g.key]
        if lines:
            title = f"{g.key}: {g.title}" if g.title else g.key
            blocks.append("\n".join([f"**{title}**", *lines]))
    return "\n\n".join(blocks)


def anchors_block(inst: Instrument) -> str:
    """The scale anchors as a bullet list, highest first."""
    return "\n".join(f"- Score {v}: {t}" for v, t in sorted(inst.scale.anchors, reverse=True))


def output_example(inst: Instrument) -> str:
    """A one-line example of the expected JSON answer."""
    slot = f"INT({inst.scale.min}-{inst.scale.max})"

    def flat(items: Sequence[Item]) -> str:
        return "{" + ", ".join(f'"{i.key}": {slot}' for i in items) + "}"

    if inst.output_grouped and inst.groups:
        inner = "{" + ", ".join(
            f'"{g.key}": {flat([i for i in inst.items if i.group == g.key])}'
            for g in inst.groups
            if any(i.group == g.key for i in inst.items)
        ) + "}"
    else:
        inner = flat(inst.items)
    return f'{{"{inst.output_root_key}": {inner}}}' if inst.output_root_key else inner


def render_prompt(inst: Instrument, dialogue: str, speaker: str | None = None) -> list[dict[str, str]]:
    """Chat messages asking the judge to rate ``speaker``'s turns in ``dialogue``.

    ``speaker`` is the transcript label of the rated party (``"W"``, ``"P"``, ...); it selects
    the role wording. Placeholders are filled in one pass, so braces or placeholder-like text
    inside the dialogue are never expanded.
    """
    text = clean_dialogue(dialogue) if inst.clean else dialogue
    # the dialogue cannot close the template's <dialogue> tag early (chatlens.llm.delimit)
    text = neutralise_tags(text, delimiter_tags(content for _, content in inst.messages))
    wording = inst.role(speaker)
    label = speaker if speaker is not None else (inst.default_role or "")
    values = {
        "dialogue": text,
        "speaker": wording.speaker,
        "other": wording.other,
        "speaker_label": label,
        "n_items": str(len(inst.items)),
        "anchors": anchors_block(inst),
        "statements": statements_block(inst),
        "output_example": output_example(inst),
    }
    return [
        {"role": role, "content": PLACEHOLDER_RE.sub(lambda m: values[m.group(1)], content)}
        for role, content in inst.messages
    ]


def output_schema(inst: Instrument) -> dict[str, Any]:
    """JSON Schema of a valid answer (ratings object, or ``{"error": "..."}``)."""
    rating = {"type": "integer", "minimum": inst.scale.min, "maximum": inst.scale.max}

    def obj(items: Sequence[Item]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {i.key: rating for i in items},
            "required": [i.key for i in items],
        }

    if inst.output_grouped and inst.groups:
        used = [g for g in inst.groups if any(i.group == g.key for i in inst.items)]
        body: dict[str, Any] = {
            "type": "object",
            "properties": {
                g.key: obj([i for i in inst.items if i.group == g.key]) for g in used
            },
            "required": [g.key for g in used],
        }
    else:
        body = obj(inst.items)
    ratings = (
        {"type": "object", "properties": {inst.output_root_key: body},
         "required": [inst.output_root_key]}
        if inst.output_root_key
        else body
    )
    error = {"type": "object", "properties": {"error": {"type": "string"}},
             "required": ["error"]}
    return {"anyOf": [ratings, error]}
