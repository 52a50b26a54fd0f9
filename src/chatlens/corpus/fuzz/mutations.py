"""The mutations of the reader fuzzer: byte operations on a file and value operations on rows.

Each operation takes a seeded :class:`random.Random` and returns new bytes (or rows), so a case
is reproduced from its operation names and seed alone.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from typing import Any

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
