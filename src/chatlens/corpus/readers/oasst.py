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
linearised by the same rules. ``records_in`` then counts paths, ``source_records`` messages.
Quarantined, each with its row and a reason: a row without ``message_id`` or repeating an earlier
row's (the first is kept), and every message no root leads to: one whose parent is not in the
file, one that is its own parent, the messages of a parent cycle, and their descendants (the
reason names the ancestor that cuts them off). Every row read is then below a root or
quarantined (checked). ``deleted`` / ``synthetic`` given as text (a CSV's ``True``) count as
flags.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import polars as pl

from chatlens.corpus.readers._frames import as_bool, as_text, content_text, type_name
from chatlens.corpus.readers._pipeline import Ctx, RecordFormat, scan_records
from chatlens.corpus.readers.base import (
    ReaderBatch,
    ReaderOptions,
    ResolvedFile,
    Sample,
    make_batch,
)
from chatlens.errors import AccountingError

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
        elif as_bool(r.get("deleted")) is True:  # a CSV table holds the text "True"
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
    if as_bool(root.get("deleted")) is True:
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
            "synthetic": any(as_bool(m.get("synthetic")) is True for m in path),
            "paths": mode,
        }
        models = {m.get("model_name") for m in path if as_bool(m.get("synthetic")) is True and m.get("model_name")}
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
    rows_read: list[int] = []
    for raw, q, rep, n in _raw_frames(file, 100_000, wanted):
        frames.append(raw)
        quarantine.extend(q)
        repairs.update(rep)
        n_rows += n
        rows_read.extend([*raw.get_column("_row").to_list(), *(x["row"] for x in q)])
    rows = pl.concat(frames, how="diagonal_relaxed").to_dicts() if frames else []
    by_id, parents = _messages_by_id(rows, file, quarantine)
    roots = _link_replies(by_id, parents)
    reached = _reached(roots)
    for mid, reason in _unreached(by_id, parents, reached).items():
        quarantine.append(_flat_q(file, by_id[mid], reason))
    _check_flat_rows(file, rows_read, reached, quarantine)
    ctx = Ctx.of(file, options, repairs)
    nested_rows: list[dict[str, Any]] = []
    for root in roots:
        record = {"message_tree_id": root.get("message_tree_id"), "tree_state": root.get("tree_state"), "prompt": root}
        for out in _expand(record, root["_row"], ctx):
            out["_row"], out["_file"] = root["_row"], file.name
            nested_rows.append(out)
    yield from _flat_batches(nested_rows, quarantine, ctx, batch_size, n_rows)


def _flat_q(file: ResolvedFile, message: dict[str, Any], reason: str) -> dict[str, Any]:
    """A quarantine row for one message row of a flat table (its source columns as raw)."""
    raw = {k: v for k, v in message.items() if k != "replies"}
    return {"file": file.name, "row": message["_row"], "conversation_id": as_text(message.get("message_tree_id")),
            "reason": reason, "raw": json.dumps(raw, default=str)[:2000]}


def _messages_by_id(
    rows: list[dict[str, Any]], file: ResolvedFile, quarantine: list[dict[str, Any]]
) -> tuple[dict[str, dict[str, Any]], dict[str, str | None]]:
    """Message rows by ``message_id`` (in file order) and each one's parent id (``None``: a root).

    A row without an id, or repeating an earlier row's id, is quarantined: keyed by id, it would
    otherwise replace the earlier message without a trace (the first one is kept).
    """
    by_id: dict[str, dict[str, Any]] = {}
    parents: dict[str, str | None] = {}
    for r in rows:
        r = {k: v for k, v in r.items() if not k.startswith("__")}
        r["replies"] = []
        mid = _flat_key(r.get("message_id"))
        if mid is None:
            quarantine.append(_flat_q(file, r, "message has no message_id"))
        elif mid in by_id:
            reason = (f"message_id '{mid}' repeats the message of row {by_id[mid]['_row']}; message ids "
                      "must be unique (the first is kept)")
            quarantine.append(_flat_q(file, r, reason))
        else:
            by_id[mid] = r
            parents[mid] = _flat_key(r.get("parent_id"))
    return by_id, parents


def _flat_key(value: Any) -> str | None:
    """A message or parent id as text; missing or empty (a CSV's empty cell) is ``None``."""
    return None if value is None or value == "" else str(value)


def _link_replies(by_id: dict[str, dict[str, Any]], parents: dict[str, str | None]) -> list[dict[str, Any]]:
    """Attach every message to its parent's ``replies`` (siblings in file order); the roots."""
    roots = []
    for mid, message in by_id.items():
        parent = parents[mid]
        if parent is None:
            roots.append(message)
        elif parent in by_id and parent != mid:
            by_id[parent]["replies"].append(message)
    return roots


def _reached(roots: list[dict[str, Any]]) -> set[str]:
    """Ids of the messages below the roots (deleted ones too: they are skipped and counted)."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        message = stack.pop()
        mid = str(message["message_id"])
        if mid not in seen:
            seen.add(mid)
            stack.extend(message["replies"])
    return seen


def _unreached(
    by_id: dict[str, dict[str, Any]], parents: dict[str, str | None], reached: set[str]
) -> dict[str, str]:
    """Why each message no root leads to is unreachable, in file order.

    Why every one: a message whose parent is missing, a message that is its own parent and the
    messages of a parent cycle have no root, and neither have their descendants; dropping them
    would lose rows silently. Each walk up the parents stops at a message already explained.
    """
    cause: dict[str, str] = {}
    origin: dict[str, str] = {}  # message -> the ancestor whose problem cuts it off
    for start in by_id:
        if start in reached or start in cause:
            continue
        chain: list[str] = []
        where: dict[str, int] = {}
        node = start
        while node not in cause:
            if node in where:  # a cycle: chain[where[node]:]
                loop = chain[where[node]:]
                for m in loop:
                    cause[m] = (f"message '{m}' is its own parent" if len(loop) == 1 else
                                f"message '{m}' is in a parent cycle ({' -> '.join([*loop, loop[0]])})"
                                ) + ": no root message leads to it"
                    origin[m] = m
                chain = chain[: where[node]]
                break
            parent = parents[node]
            if parent not in by_id:
                cause[node] = f"parent message '{parent}' of message '{node}' is not in the file"
                origin[node] = node
                break
            where[node] = len(chain)
            chain.append(node)
            node = parent
        for m in reversed(chain):
            if m in cause:
                continue
            up = parents[m]
            assert up is not None and up in origin
            origin[m] = origin[up]
            cause[m] = (f"message '{m}' descends from message '{origin[m]}', which no root message leads "
                        f"to ({cause[origin[m]]})")
    return {m: cause[m] for m in by_id if m in cause}


def _check_flat_rows(
    file: ResolvedFile, rows_read: list[int], reached: set[str], quarantine: list[dict[str, Any]]
) -> None:
    """Every row read is a message below a root or a quarantine row, and no row is both.

    Why: in a message table paths share messages, so the batch contract's count (conversations +
    quarantine rows = records) cannot show a lost row; this set check can.
    """
    quarantined = [q["row"] for q in quarantine]
    placed = len(reached) + len(quarantined)
    if placed != len(rows_read) or len(set(quarantined)) != len(quarantined):
        msg = (f"{file.name}: rows in do not add up: {len(rows_read):,} message rows read, {len(reached):,} "
               f"below a root message + {len(quarantined):,} quarantined. This is a chatlens bug; please "
               "report it with the file.")
        raise AccountingError(msg)


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
