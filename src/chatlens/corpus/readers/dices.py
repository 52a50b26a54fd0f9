"""DICES (adversarial human↔LaMDA conversations with safety ratings), JUDGE-BENCH JSON layout.

File: ``{"instances": [{"id", "instance": {"user_prompt", "response"}, "annotations": {...}}]}``.
``user_prompt`` holds the context turns, one per line, prefixed ``USER:`` / ``LAMDA:`` (350-item
files) or ``A:`` / ``B:`` with literal ``\\n`` separators (990-item file). Rules (documented):

* literal ``\\n`` sequences are line breaks when the prompt has no real newline;
* a line starting ``USER:`` / ``A:`` opens a user message, ``LAMDA:`` / ``B:`` an assistant message
  (verified on the shipped files: every context starts with ``A``/``USER`` and ends with a user
  turn, and ``response`` answers it); a line without a prefix continues the previous message;
  text before the first prefix is prepended to the first message;
* ``response`` is the final assistant message.

Roles are emitted already as ``user`` / ``assistant`` because the raw ``A``/``B`` letters carry no
meaning outside this format. ``extra`` keeps the item id and the majority / gold safety labels
(upstream meaning: ``"Yes"`` = the final response is unsafe).

Conversation ids are the item ids namespaced by the DICES set the context's prefixes identify:
``350:<id>`` (``USER:`` / ``LAMDA:``, DICES-350) and ``990:<id>`` (``A:`` / ``B:``, DICES-990). Why:
each set numbers its items from 0, so ``dices_990.json`` and ``dices_350_*.json`` share 350 ids for
different conversations, and reading the folder quarantined 350 real conversations as duplicates.
The crowd-sourced and expert 350-item files hold the same conversations under the same ids, so
those stay duplicates (the second copy is quarantined as one). A context without a prefix keeps
its bare id.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from chatlens.corpus.readers._frames import as_text, content_text, type_name
from chatlens.corpus.readers._pipeline import Ctx, RecordFormat, scan_records
from chatlens.corpus.readers.base import ReaderBatch, ReaderOptions, ResolvedFile, Sample

NAME = "dices"
_PREFIX = re.compile(r"^(USER|LAMDA|A|B):\s?")
_ROLE = {"USER": "user", "A": "user", "LAMDA": "assistant", "B": "assistant"}
#: The DICES set a context's opening prefix identifies (the upstream names DICES-350 / DICES-990).
_SET = {"USER": "350", "LAMDA": "350", "A": "990", "B": "990"}


def split_context(text: str) -> list[dict[str, str]]:
    """Context turns of a DICES ``user_prompt`` as ``[{role, content}]``."""
    if "\n" not in text and "\\n" in text:
        text = text.replace("\\n", "\n")
    messages: list[dict[str, str]] = []
    leading: list[str] = []
    for line in text.split("\n"):
        m = _PREFIX.match(line)
        if m:
            messages.append({"role": _ROLE[m.group(1)], "content": line[m.end() :]})
        elif messages:
            messages[-1]["content"] += "\n" + line
        elif line.strip():
            leading.append(line)
    for msg in messages:
        msg["content"] = msg["content"].rstrip("\n")
    if leading and messages:
        messages[0]["content"] = "\n".join(leading) + "\n" + messages[0]["content"]
    elif leading:
        messages.append({"role": "user", "content": "\n".join(leading)})
    return messages


def namespaced_id(item_id: str | None, prompt: str) -> str | None:
    """``item_id`` prefixed with the DICES set of ``prompt``'s first role prefix (module docstring)."""
    m = _PREFIX.match(prompt.lstrip())
    if item_id is None or m is None:
        return item_id
    return f"{_SET[m.group(1)]}:{item_id}"


def _normalize(record: Any, ctx: Ctx) -> dict[str, Any] | str:
    if not isinstance(record, dict):
        return f"expected an instance object, got {type_name(record)}"
    inst = record.get("instance")
    if not isinstance(inst, dict):
        return f"'instance' must be an object with user_prompt/response, got {type_name(inst)}"
    prompt, response = inst.get("user_prompt"), inst.get("response")
    if prompt is not None and not isinstance(prompt, str):
        return f"'instance.user_prompt' must be text, got {type_name(prompt)}"
    ann = record.get("annotations")
    safety = ann.get("safety") if isinstance(ann, dict) else None
    labels = (
        {k: v for k, v in safety.items() if k in ("majority_human", "safety_gold")}
        if isinstance(safety, dict)
        else {}
    )
    return {
        "conversation_id": namespaced_id(as_text(record.get("id")), prompt or ""),
        "item_id": as_text(record.get("id")),
        "prompt": prompt or "",
        "response": content_text(response, ctx.repairs),
        "labels": labels,
    }


def _expand(record: dict[str, Any], row: int, ctx: Ctx) -> list[dict[str, Any]]:
    messages = split_context(record["prompt"])
    if record["response"] is not None:
        messages.append({"role": "assistant", "content": record["response"]})
    extra = {"item_id": record["item_id"], **record["labels"]}
    return [
        {
            "conversation_id": record["conversation_id"],
            "source": NAME,
            "model": "LaMDA",
            "extra": json.dumps(extra, ensure_ascii=False, separators=(",", ":")),
            "messages": messages,
        }
    ]


FORMAT = RecordFormat(name=NAME, normalize=_normalize, expand=_expand, json_prefix="instances.item", id_key="id")


def scan_dices(file: ResolvedFile, *, batch_size: int, options: ReaderOptions) -> Iterator[ReaderBatch]:
    """Stream a DICES JSON file as nested conversations (one per instance)."""
    return scan_records(FORMAT, file, batch_size=batch_size, options=options)


def sniff(sample: Sample) -> float:
    """DICES: a JSON object with ``instances`` whose items hold ``instance.user_prompt``."""
    if "instances" in sample.top_level:
        for r in sample.dict_records():
            inst = r.get("instance")
            if isinstance(inst, dict) and "user_prompt" in inst:
                return 0.95
        return 0.3
    cols = set(sample.columns)
    if "instance" in cols:
        for r in sample.dict_records():
            inst = r.get("instance")
            if isinstance(inst, dict) and "user_prompt" in inst and "response" in inst:
                return 0.9
    return 0.0
