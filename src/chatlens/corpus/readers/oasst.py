"""OpenAssistant message trees (OASST export tree format, ``*_tree.jsonl``).

Record: ``{message_tree_id, tree_state, prompt: message}``, each message ``{message_id, text,
role: prompter|assistant, lang, rank, deleted, synthetic, model_name, replies: [message…]}``.

Linearisation (``options.oasst_paths``):

* ``"all"`` (default): every root-to-leaf path is one conversation, id
  ``<message_tree_id>:<leaf message_id>``, in depth-first order of the replies as stored.
* ``"best"``: one path per tree, taking at each branch the reply with the lowest ``rank``
  (0 = best); replies without a rank come after ranked ones, ties keep stored order.

Documented rule for deleted messages: a message with ``deleted: true`` is skipped **with its whole
subtree** (replies to a deleted message lose their context); the number skipped is counted in
``repairs["oasst_deleted_skipped"]``. A path's leaf is a message with no non-deleted replies.
Raw roles are ``prompter`` / ``assistant``. ``extra`` keeps the tree id, tree state, the leaf id,
the path's message ids, sibling ranks along the path and whether any message on it is synthetic.

The flat oasst1/oasst2 message table (one row per message with ``message_id``, ``parent_id``,
``message_tree_id``, ``role``, ``text``; e.g. ``OpenAssistant/oasst1`` Parquet) is read too: each
file is loaded whole (those tables hold ~100k messages), trees are rebuilt from ``parent_id`` and
linearised by the same rules. ``records_in`` then counts paths, ``source_records`` messages; a
message whose parent is not in the file is quarantined (reason names the missing parent).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import polars as pl

from chatlens.corpus.readers._frames import as_text, content_text, type_name
from chatlens.corpus.readers._pipeline import Ctx, RecordFormat, scan_records
from chatlens.corpus.readers.base import (
    ReaderBatch,
    ReaderOptions,
    ResolvedFile,
    Sample,
    make_batch,
)

NAME = "oasst"
MAX_DEPTH = 10_000  # guards against pathological nesting (iterative walk, no recursion)


def _normalize(record: Any, ctx: Ctx) -> dict[str, Any] | str:
    if not isinstance(record, dict):
        return f"expected a JSON object per tree, got {type_name(record)}"
    prompt = record.get("prompt")
    if not isinstance(prompt, dict):
        return f"'prompt' must be the root message object, got {type_name(prompt)}"
    return record


def _live_replies(msg: dict[str, Any], ctx: Ctx) -> list[dict[str, Any]]:
    replies = msg.get("replies")
    if not isinstance(replies, list):
        return []
    live = []
    for r in replies:
        if not isinstance(r, dict):
            ctx.repairs["oasst_bad_reply_skipped"] += 1
        elif r.get("deleted") is True:
            ctx.repairs["oasst_deleted_skipped"] += _subtree_size(r)
        else:
            live.append(r)
    return live


def _subtree_size(msg: dict[str, Any]) -> int:
    n, stack = 0, [msg]
    while stack:
        m = stack.pop()
        n += 1
        stack.extend(r for r in (m.get("replies") or []) if isinstance(r, dict))
    return n


def _rank_key(item: tuple[int, dict[str, Any]]) -> tuple[int, float, int]:
    i, m = item
    rank = m.get("rank")
    return (0, float(rank), i) if isinstance(rank, (int, float)) and not isinstance(rank, bool) else (1, 0.0, i)


def tree_paths(root: dict[str, Any], ctx: Ctx, mode: str = "all") -> list[list[dict[str, Any]]]:
    """Root-to-leaf paths of one tree (all of them, or the best-ranked one)."""
    if root.get("deleted") is True:
        ctx.repairs["oasst_deleted_skipped"] += _subtree_size(root)
        return []
    if mode == "best":
        path = [root]
        while len(path) < MAX_DEPTH:
            live = _live_replies(path[-1], ctx)
            if not live:
                break
            path.append(min(enumerate(live), key=_rank_key)[1])
        return [path]
    paths: list[list[dict[str, Any]]] = []
    stack: list[list[dict[str, Any]]] = [[root]]
    while stack:
        path = stack.pop()
        live = _live_replies(path[-1], ctx) if len(path) < MAX_DEPTH else []
        if not live:
            paths.append(path)
        else:
            stack.extend([*path, r] for r in reversed(live))
    return paths


def _expand(record: dict[str, Any], row: int, ctx: Ctx) -> list[dict[str, Any]]:
    tree_id = as_text(record.get("message_tree_id")) or as_text(record["prompt"].get("message_id")) or str(row)
    mode = ctx.options.oasst_paths
    rows = []
    for path in tree_paths(record["prompt"], ctx, mode):
        leaf = as_text(path[-1].get("message_id"))
        extra = {
            "message_tree_id": tree_id,
            "tree_state": record.get("tree_state"),
            "leaf_message_id": leaf,
            "message_ids": [as_text(m.get("message_id")) for m in path],
            "ranks": [m.get("rank") for m in path],
            "synthetic": any(m.get("synthetic") is True for m in path),
            "paths": mode,
        }
        models = {m.get("model_name") for m in path if m.get("synthetic") is True and m.get("model_name")}
        rows.append(
            {
                "conversation_id": f"{tree_id}:{leaf}",
                "source": NAME,
                "model": ",".join(sorted(models)) if models else None,
                "language": as_text(path[0].get("lang")),
                "extra": json.dumps(extra, ensure_ascii=False, separators=(",", ":"), default=str),
                "messages": [
                    {"role": as_text(m.get("role")), "content": content_text(m.get("text"), ctx.repairs),
                     "language": as_text(m.get("lang"))}
                    for m in path
                ],
            }
        )
    if not rows:  # the whole tree was deleted: quarantined as "no messages", not dropped
        rows.append({"conversation_id": tree_id, "source": NAME, "messages": []})
    return rows


FORMAT = RecordFormat(name=NAME, normalize=_normalize, expand=_expand, id_key="message_tree_id")


FLAT_COLUMNS = ("message_id", "parent_id", "message_tree_id", "role", "text")
_FLAT_OPTIONAL = ("lang", "rank", "deleted", "synthetic", "model_name", "tree_state", "created_date")


def scan_oasst(file: ResolvedFile, *, batch_size: int, options: ReaderOptions) -> Iterator[ReaderBatch]:
    """Stream OASST trees; each tree yields one conversation per root-to-leaf path (or the best)."""
    from chatlens.corpus.readers._table_rows import file_columns

    if file.container in ("parquet", "csv") or set(FLAT_COLUMNS) <= set(file_columns(file)):
        return _scan_flat(file, batch_size, options)
    return scan_records(FORMAT, file, batch_size=batch_size, options=options)


def _scan_flat(file: ResolvedFile, batch_size: int, options: ReaderOptions) -> Iterator[ReaderBatch]:
    from chatlens.corpus.readers._table_rows import _raw_frames, check_columns

    present = check_columns(file, FLAT_COLUMNS, why=f"that an OASST message table needs ({list(FLAT_COLUMNS)})")
    wanted = [c for c in (*FLAT_COLUMNS, *_FLAT_OPTIONAL) if c in present]
    frames, quarantine, repairs, n_rows = [], [], Counter(), 0
    for raw, q, rep, n in _raw_frames(file, 100_000, wanted):
        frames.append(raw)
        quarantine.extend(q)
        repairs.update(rep)
        n_rows += n
    rows = pl.concat(frames, how="diagonal_relaxed").to_dicts() if frames else []
    by_id: dict[str, dict[str, Any]] = {}
    for r in rows:
        r = {k: v for k, v in r.items() if not k.startswith("__")}
        r["replies"] = []
        by_id[str(r["message_id"])] = r
    roots: list[dict[str, Any]] = []
    for r in by_id.values():
        parent = r.get("parent_id")
        if parent is None or parent == "":
            roots.append(r)
        elif str(parent) in by_id:
            by_id[str(parent)]["replies"].append(r)
        else:
            reason = f"parent message '{parent}' of message '{r['message_id']}' is not in the file"
            quarantine.append({"file": file.name, "row": r["_row"], "conversation_id": r.get("message_tree_id"),
                               "reason": reason, "raw": json.dumps(r, default=str)[:2000]})
    for r in by_id.values():  # siblings in file order ("best" then picks by rank)
        r["replies"].sort(key=lambda m: m["_row"])
    ctx = Ctx.of(file, options, repairs)
    nested_rows: list[dict[str, Any]] = []
    for root in roots:
        record = {"message_tree_id": root.get("message_tree_id"), "tree_state": root.get("tree_state"), "prompt": root}
        for out in _expand(record, root["_row"], ctx):
            out["_row"], out["_file"] = root["_row"], file.name
            nested_rows.append(out)
    yield from _flat_batches(nested_rows, quarantine, ctx, batch_size, n_rows)


def _flat_batches(
    rows: list[dict[str, Any]], quarantine: list[dict[str, Any]], ctx: Ctx, batch_size: int, n_rows: int
) -> Iterator[ReaderBatch]:
    from chatlens.corpus.readers._pipeline import _finish
    from chatlens.corpus.schema import NESTED_SCHEMA

    raws: dict[int, Any] = {q["row"]: q["raw"] for q in quarantine}
    if not rows:
        yield make_batch(pl.DataFrame(schema=NESTED_SCHEMA), quarantine, dict(ctx.repairs), source_records=n_rows)
        return
    for i, start in enumerate(range(0, len(rows), batch_size)):
        part = pl.DataFrame(rows[start : start + batch_size], schema=NESTED_SCHEMA, strict=False)
        first = i == 0
        batch_ctx = ctx if first else ctx.fresh()
        yield _finish(part, quarantine if first else [], batch_ctx, raws.get, n_rows if first else 0)


def sniff(sample: Sample) -> float:
    """OASST trees: ``message_tree_id`` with a ``prompt`` message object."""
    cols = set(sample.columns)
    if "prompt" in cols and ("message_tree_id" in cols or "tree_state" in cols):
        return 0.97
    if set(FLAT_COLUMNS) <= cols:
        return 0.9
    return 0.0
