"""Mutation fuzzing of the readers: valid files made hostile, and what reading them must give.

Why in the package: the property tests (``tests/corpus/test_reader_properties.py``, driven by
hypothesis) and the benchmark (``benchmarks/fuzz_readers.py``, seeded, ``--n`` mutations per
format) share one set of seed files, one set of mutations and one verdict, so the benchmark's
numbers and the tests' guarantee are about the same thing.

A **seed** is a small valid file of one reader format. A **mutation** is a list of operations
on its bytes (flip, truncate, delete, duplicate a line, insert structure characters, nest a
record thousands deep, insert a multi-megabyte string, re-encode as UTF-16 or Latin-1, break
UTF-8) or on its values (a JSON value replaced by another type; for Parquet, cells and whole
columns of another type, nulls, huge strings, shuffled rows). The **verdict** of reading the
mutated file is one of:

* ``ok`` — read, and rows in = analysed + quarantined, with rows in counted *here*,
  independently of the reader (non-blank JSONL lines, items of the JSON array, Parquet rows);
* ``clean_error`` — a :class:`~chatlens.errors.ChatlensError` with a message (not an
  :class:`~chatlens.errors.AccountingError`, which is a bug);
* ``silent_loss`` — read without error, but the counts do not add up;
* ``crash`` — any other exception (or, in the benchmark, a dead or hung worker process).
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chatlens.errors import AccountingError, ChatlensError

# ---- seeds ------------------------------------------------------------------------------------


def _conv(
    i: int, user: str = "user", bot: str = "assistant", text: str = "content"
) -> list[dict[str, Any]]:
    return [
        {"role": user, text: f"how do I do thing {i}?"},
        {"role": bot, text: "I'm sorry, I can't help."},
        {"role": user, text: "why not??"},
    ]


def _lines(records: list[Any]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def _csv_rows(rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue().encode()


N = 6  # records per seed: small, so one check takes milliseconds

_TREE = {
    "message_id": "m0",
    "role": "prompter",
    "text": "hi",
    "replies": [
        {
            "message_id": "m1",
            "role": "assistant",
            "text": "hello",
            "rank": 0,
            "replies": [{"message_id": "m2", "role": "prompter", "text": "thanks", "replies": []}],
        },
        {"message_id": "m3", "role": "assistant", "text": "no", "rank": 1, "replies": []},
    ],
}


@dataclass(frozen=True)
class Seed:
    """A valid input of one format: its file name, content and read options."""

    name: str
    format: str
    filename: str
    data: bytes = b""
    rows: list[dict[str, Any]] = field(default_factory=list)  # Parquet seeds: the rows
    options: dict[str, Any] = field(default_factory=dict)


CMAP = {"conversation_id": "chat", "role": "speaker", "content": "text"}
_MSG_ROWS = [
    [f"c{i}", r, f"text {i}.{j}"] for i in range(N) for j, r in enumerate(["user", "assistant"])
]

SEEDS: dict[str, Seed] = {
    s.name: s
    for s in (
        Seed(
            "lmsys-jsonl",
            "lmsys",
            "d.jsonl",
            _lines(
                [
                    {
                        "conversation_id": f"c{i}",
                        "model": "vicuna",
                        "language": "English",
                        "conversation": _conv(i),
                        "openai_moderation": [
                            {
                                "flagged": False,
                                "categories": {"hate": False},
                                "category_scores": {"hate": 0.01},
                            }
                        ]
                        * 3,
                        "turn": 2,
                    }
                    for i in range(N)
                ]
            ),
        ),
        Seed(
            "wildchat-jsonl",
            "wildchat",
            "d.jsonl",
            _lines(
                [
                    {
                        "conversation_hash": f"h{i}",
                        "model": "gpt-4",
                        "language": "English",
                        "hashed_ip": "ip",
                        "timestamp": "2023-04-09T00:00:00+00:00",
                        "toxic": False,
                        "turn": 2,
                        "conversation": [
                            dict(m, language="English", toxic=False) for m in _conv(i)
                        ],
                    }
                    for i in range(N)
                ]
            ),
        ),
        Seed(
            "sharegpt-json",
            "sharegpt",
            "d.json",
            json.dumps(
                [
                    {"id": f"s{i}", "conversations": _conv(i, "human", "gpt", "value")}
                    for i in range(N)
                ]
            ).encode(),
        ),
        Seed(
            "sharegpt-jsonl",
            "sharegpt",
            "d.jsonl",
            _lines(
                [
                    {
                        "id": f"s{i}",
                        "conversations": [
                            {"from": m["role"], "value": m["value"]}
                            for m in _conv(i, "human", "gpt", "value")
                        ],
                    }
                    for i in range(N)
                ]
            ),
        ),
        Seed(
            "openai-jsonl",
            "openai",
            "d.jsonl",
            _lines([{"id": f"o{i}", "model": "gpt", "messages": _conv(i)} for i in range(N)]),
        ),
        Seed(
            "arena-jsonl",
            "arena",
            "d.jsonl",
            _lines(
                [
                    {
                        "question_id": f"q{i}",
                        "model_a": "a",
                        "model_b": "b",
                        "winner": "model_a",
                        "conversation_a": _conv(i),
                        "conversation_b": _conv(i),
                    }
                    for i in range(N)
                ]
            ),
        ),
        Seed(
            "hh-jsonl",
            "hh",
            "d.jsonl",
            _lines(
                [
                    {
                        "chosen": f"\n\nHuman: q{i}\n\nAssistant: sure",
                        "rejected": f"\n\nHuman: q{i}\n\nAssistant: no",
                    }
                    for i in range(N)
                ]
            ),
        ),
        Seed(
            "oasst-jsonl",
            "oasst",
            "d.jsonl",
            _lines(
                [
                    {"message_tree_id": f"t{i}", "tree_state": "ready_for_export", "prompt": _TREE}
                    for i in range(N)
                ]
            ),
        ),
        Seed(
            "dices-json",
            "dices",
            "d.json",
            json.dumps(
                {
                    "instances": [
                        {
                            "id": i,
                            "instance": {
                                "user_prompt": f"USER: q{i}\nLAMDA: hi\nUSER: more",
                                "response": "no",
                            },
                            "annotations": {"safety": {"majority_human": "unsafe"}},
                        }
                        for i in range(N)
                    ]
                }
            ).encode(),
        ),
        Seed(
            "table-csv",
            "table",
            "d.csv",
            _csv_rows([["chat", "speaker", "text"], *_MSG_ROWS]),
            options={"column_map": CMAP},
        ),
        Seed(
            "table-jsonl",
            "table",
            "d.jsonl",
            _lines([dict(zip(["chat", "speaker", "text"], r, strict=True)) for r in _MSG_ROWS]),
            options={"column_map": CMAP},
        ),
        Seed(
            "table-conversation-csv",
            "table",
            "d.csv",
            _csv_rows([["id", "messages"], *[[f"c{i}", json.dumps(_conv(i))] for i in range(N)]]),
            options={
                "column_map": {"conversation_id": "id", "messages": "messages"},
                "layout": "conversation",
            },
        ),
        Seed(
            "oasst-csv",
            "oasst",
            "d.csv",
            _csv_rows(
                [
                    ["message_id", "parent_id", "message_tree_id", "role", "text"],
                    *[
                        [
                            f"t{i}m{j}",
                            f"t{i}m{j - 1}" if j else "",
                            f"t{i}",
                            "prompter" if j % 2 == 0 else "assistant",
                            f"text {j}",
                        ]
                        for i in range(N)
                        for j in range(3)
                    ],
                ]
            ),
        ),
        Seed(
            "table-parquet",
            "table",
            "d.parquet",
            rows=[dict(zip(["chat", "speaker", "text"], r, strict=True)) for r in _MSG_ROWS],
            options={"column_map": CMAP},
        ),
    )
}

# ---- mutations --------------------------------------------------------------------------------

Op = Callable[[random.Random, bytes], bytes]
_STRUCTURE = [
    b"{",
    b"}",
    b"[",
    b"]",
    b'"',
    b",",
    b":",
    b"\n",
    b"\r",
    b"\x00",
    b"\xff",
    b"\\",
    b'""',
    b"null",
]


def _pos(rng: random.Random, data: bytes) -> int:
    return rng.randrange(len(data) + 1)


def flip(rng: random.Random, data: bytes) -> bytes:
    if not data:
        return data
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
    return bytes(b)


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: _pos(rng, data)]


def delete(rng: random.Random, data: bytes) -> bytes:
    i = _pos(rng, data)
    return data[:i] + data[i + rng.randint(1, 40) :]


def insert(rng: random.Random, data: bytes) -> bytes:
    i = _pos(rng, data)
    return data[:i] + rng.choice(_STRUCTURE) + data[i:]


def duplicate_line(rng: random.Random, data: bytes) -> bytes:
    lines = data.split(b"\n")
    i = rng.randrange(len(lines))
    lines.insert(i, lines[i])
    return b"\n".join(lines)


def nest(rng: random.Random, data: bytes) -> bytes:
    depth = rng.choice([50, 500, 5_000, 20_000])
    opener, closer = rng.choice([(b'{"a":', b"}"), (b"[", b"]")])
    lines = data.split(b"\n")
    i = rng.randrange(len(lines))
    lines[i] = opener * depth + (lines[i] or b"1") + closer * depth
    return b"\n".join(lines)


def huge_string(rng: random.Random, data: bytes) -> bytes:
    quotes = [m.start() + 1 for m in re.finditer(rb'"', data[:200_000])] or [_pos(rng, data)]
    i = rng.choice(quotes)
    return data[:i] + b"x" * rng.choice([70_000, 1_100_000, 3_000_000]) + data[i:]


def reencode(rng: random.Random, data: bytes) -> bytes:
    text = data.decode("utf-8", errors="replace")
    kind = rng.choice(["utf-16", "latin-1", "bom", "bad-utf8", "controls"])
    if kind == "utf-16":
        return text.encode("utf-16")
    if kind == "latin-1":
        return (text + "é ü ß").encode("latin-1", errors="replace")
    if kind == "bom":
        return b"\xef\xbb\xbf" + data
    if kind == "bad-utf8":
        i = _pos(rng, data)
        return (
            data[:i]
            + rng.choice([b"\xc3", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xff\xfe"])
            + data[i:]
        )
    i = _pos(rng, data)
    return data[:i] + "\x1b[2J\x07\u202e\ud800".encode("utf-8", errors="surrogatepass") + data[i:]


_ODD_VALUES: list[Any] = [
    None,
    0,
    -1.5e308,
    True,
    "",
    "x" * 100_000,
    [],
    {},
    [1, "a", None],
    {"role": 1},
    [[[[["deep"]]]]],
    "\x00\x1b[31m",
    "=cmd|' /C calc'!A0",
    2**70,
]


def json_value(rng: random.Random, data: bytes) -> bytes:
    """Replace one value somewhere inside one JSON record by a value of another type."""
    lines = data.split(b"\n")
    candidates = [i for i, line in enumerate(lines) if line.strip()[:1] in (b"{", b"[")]
    if not candidates:
        return data
    i = rng.choice(candidates)
    try:
        doc = json.loads(lines[i])
    except (ValueError, RecursionError):
        return data
    node, steps = doc, rng.randint(1, 6)
    for _ in range(steps):
        keys = (
            list(node)
            if isinstance(node, dict)
            else list(range(len(node)))
            if isinstance(node, list)
            else []
        )
        if not keys:
            break
        key = rng.choice(keys)
        if rng.random() < 0.4 or not isinstance(node[key], (dict, list)):
            node[key] = rng.choice(_ODD_VALUES)
            break
        node = node[key]
    if isinstance(doc, dict) and rng.random() < 0.2 and doc:
        del doc[rng.choice(list(doc))]
    lines[i] = json.dumps(doc).encode()
    return b"\n".join(lines)


BYTE_OPS: dict[str, Op] = {
    f.__name__: f
    for f in (
        flip,
        truncate,
        delete,
        insert,
        duplicate_line,
        nest,
        huge_string,
        reencode,
        json_value,
    )
}


def mutate_rows(rng: random.Random, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Value-level mutations of a table's rows (for Parquet seeds)."""
    rows = [dict(r) for r in rows]
    for _ in range(rng.randint(1, 3)):
        op = rng.choice(
            ["null", "huge", "retype", "drop_column", "duplicate", "delete", "shuffle", "control"]
        )
        columns = sorted({k for row in rows for k in row})
        if not rows or not columns:
            break
        r, c = rng.randrange(len(rows)), rng.choice(columns)
        if op == "null":
            rows[r][c] = None
        elif op == "huge":
            rows[r][c] = "y" * rng.choice([70_000, 3_000_000])
        elif op == "control":
            rows[r][c] = "\x1b[2J\x00=HYPERLINK()"
        elif op == "retype":  # a whole column of another type: numbers, lists, structs
            kind = rng.choice([0, 1, 2])
            for row in rows:
                value = str(row.get(c))
                row[c] = [len(value)] if kind == 1 else {"v": value} if kind == 2 else len(value)
        elif op == "drop_column":
            for row in rows:
                row.pop(c, None)
        elif op == "duplicate":
            rows.insert(r, dict(rows[r]))
        elif op == "delete":
            del rows[r]
        else:
            rng.shuffle(rows)
    return rows


@dataclass(frozen=True)
class Mutation:
    """What was done to a seed: byte operations, and for Parquet seeds the rows written."""

    ops: tuple[str, ...]
    rng_seed: int
    detect: bool = False  # read without format=, through detection


def apply(seed: Seed, mutation: Mutation, directory: Path) -> Path:
    """Write the mutated seed into ``directory`` and return its path."""
    rng = random.Random(mutation.rng_seed)
    path = directory / seed.filename
    if seed.rows:
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows = mutate_rows(rng, seed.rows)
        try:
            table = pa.Table.from_pylist(rows)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            table = pa.Table.from_pylist([{k: json.dumps(v) for k, v in r.items()} for r in rows])
        buf = io.BytesIO()
        pq.write_table(table, buf)
        data = buf.getvalue()
    else:
        data = seed.data
    for name in mutation.ops:
        if seed.rows and name not in ("flip", "truncate"):
            continue  # a Parquet seed's values were mutated above; bytes only break the file
        data = BYTE_OPS[name](rng, data)
    path.write_bytes(data)
    return path


# ---- verdicts ---------------------------------------------------------------------------------


def rows_in(path: Path, seed: Seed) -> int | None:
    """The source records of ``path``, counted without chatlens's readers (None: cannot tell)."""
    data = path.read_bytes()
    if path.suffix == ".jsonl":
        if data.startswith(b"\xef\xbb\xbf"):
            data = data[3:]
        return sum(1 for line in data.split(b"\n") if line.strip())
    if path.suffix == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            return pq.ParquetFile(io.BytesIO(data)).metadata.num_rows
        except (pa.ArrowException, OSError):
            return None
    if path.suffix == ".json":
        try:
            doc = json.loads(data.decode("utf-8", errors="replace").removeprefix("\ufeff"))
        except (ValueError, RecursionError):
            return None
        if seed.format == "dices":
            doc = doc.get("instances") if isinstance(doc, dict) else None
        elif isinstance(doc, dict):
            doc = [doc]
        return len(doc) if isinstance(doc, list) else None
    return None  # CSV: what a "row" of a broken CSV file is, is the parser's call


@dataclass(frozen=True)
class Verdict:
    outcome: str  # ok | clean_error | silent_loss | crash
    detail: str = ""


def check(path: Path, seed: Seed, *, detect: bool = False) -> Verdict:
    """Read ``path`` as ``seed``'s format (or by detection) and judge the outcome."""
    from chatlens.corpus.api import read

    options = dict(seed.options)
    if not detect:
        options["format"] = seed.format
    try:
        corpus = read(path, **options)
    except AccountingError as exc:
        return Verdict("silent_loss", f"AccountingError: {exc}"[:500])
    except ChatlensError as exc:
        if not str(exc).strip():
            return Verdict("crash", f"{type(exc).__name__} without a message")
        return Verdict("clean_error", f"{type(exc).__name__}: {str(exc)[:300]}")
    except Exception as exc:  # noqa: BLE001 - the verdict is that it escaped
        return Verdict("crash", f"{type(exc).__name__}: {str(exc)[:500]}")
    s = corpus.summary
    problems = []
    if s.records_in != s.conversations + s.quarantined:
        problems.append(
            f"rows in {s.records_in} != {s.conversations} analysed + {s.quarantined} quarantined"
        )
    if corpus.conversations.height != s.conversations or corpus.quarantine.height != s.quarantined:
        problems.append("the tables disagree with the summary")
    expected = rows_in(path, seed) if not detect or s.format == seed.format else None
    if expected is not None and s.source_records != expected:
        problems.append(f"{expected} source records in the file, {s.source_records} read")
    if problems:
        return Verdict("silent_loss", "; ".join(problems))
    return Verdict("ok")


__all__ = [
    "BYTE_OPS",
    "SEEDS",
    "Mutation",
    "Seed",
    "Verdict",
    "apply",
    "check",
    "mutate_rows",
    "rows_in",
]
