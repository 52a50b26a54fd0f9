"""Anthropic HH-RLHF transcripts: ``{chosen: str, rejected: str}`` per record.

Each of ``chosen`` / ``rejected`` is one conversation, id ``<file>:<row>:chosen`` /
``…:rejected``, ``<file>`` being the file's path relative to the source root (HH has no ids, so the
id is derived from provenance and is stable for a given file; the HH-RLHF subsets
``harmless-base/train.jsonl.gz`` and ``helpful-base/train.jsonl.gz`` share a file name);
``extra`` keeps ``pair_id`` and ``side``. Raw roles are ``Human`` / ``Assistant``.

Splitting rules (documented):

* Turns are split **only** on the separators ``"\\n\\nHuman: "`` and ``"\\n\\nAssistant: "`` (also
  accepted without the blank line at the very start of a transcript, and without the trailing
  space at its very end, where a final turn is missing). ``Human:`` inside a message is content.
* A missing final turn (transcript ending in ``"\\n\\nAssistant:"``) yields an empty final message;
  the canonicaliser applies the empty-content rule to it.
* Text before the first separator is not dropped: it is prepended to the first message and counted
  in ``repairs["hh_leading_text"]``. A transcript without any separator becomes one message with
  role ``Human`` and is counted in ``repairs["hh_no_separator"]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from chatlens.corpus.readers._frames import content_text, keys_present, type_name
from chatlens.corpus.readers._pipeline import Ctx, RecordFormat, scan_records
from chatlens.corpus.readers.base import ReaderBatch, ReaderOptions, ResolvedFile, Sample

NAME = "hh"
SIDES = ("chosen", "rejected")
_SEP = re.compile(r"(?:\n\n|\A)(Human|Assistant):(?: |\Z)")


def split_transcript(text: str, ctx: Ctx | None = None) -> list[dict[str, str]]:
    """Split one HH transcript into ``[{role, content}]`` by the documented rules."""
    matches = list(_SEP.finditer(text))
    if not matches:
        if ctx is not None and text.strip():
            ctx.repairs["hh_no_separator"] += 1
        return [{"role": "Human", "content": text}] if text.strip() else []
    messages = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        messages.append({"role": m.group(1), "content": text[m.end() : end]})
    leading = text[: matches[0].start()]
    if leading.strip():
        messages[0]["content"] = leading.strip() + "\n\n" + messages[0]["content"]
        if ctx is not None:
            ctx.repairs["hh_leading_text"] += 1
    return messages


def _normalize(record: Any, ctx: Ctx) -> dict[str, Any] | str:
    if not isinstance(record, dict):
        return f"expected a JSON object per record, got {type_name(record)}"
    missing = [s for s in SIDES if s not in record]
    if len(missing) == 2:
        return f"missing keys 'chosen' and 'rejected'; {keys_present(record)}"
    out = {}
    for side in SIDES:
        value = record.get(side)
        if value is not None and not isinstance(value, str):
            return f"'{side}' must be a transcript string, got {type_name(value)}"
        out[side] = value
    return out


def _expand(record: dict[str, Any], row: int, ctx: Ctx) -> list[dict[str, Any]]:
    pair_id = f"{ctx.id_name}:{row}"
    rows = []
    for side in SIDES:
        text = content_text(record.get(side), ctx.repairs) or ""
        rows.append(
            {
                "conversation_id": f"{pair_id}:{side}",
                "source": NAME,
                "extra": f'{{"pair_id":"{_esc(pair_id)}","side":"{side}"}}',
                "messages": split_transcript(text, ctx),
            }
        )
    return rows


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


FORMAT = RecordFormat(name=NAME, normalize=_normalize, expand=_expand)


def scan_hh(file: ResolvedFile, *, batch_size: int, options: ReaderOptions) -> Iterator[ReaderBatch]:
    """Stream HH-RLHF pairs; each pair yields its chosen and rejected conversations."""
    return scan_records(FORMAT, file, batch_size=batch_size, options=options)


def sniff(sample: Sample) -> float:
    """HH: ``chosen``/``rejected`` strings holding ``Human:``/``Assistant:`` transcripts."""
    if not {"chosen", "rejected"} <= set(sample.columns):
        return 0.0
    for r in sample.dict_records():
        value = r.get("chosen")
        if isinstance(value, str) and ("Human:" in value or "Assistant:" in value):
            return 0.95
    return 0.4
