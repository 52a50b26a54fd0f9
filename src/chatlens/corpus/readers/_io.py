"""Byte-level input shared by the readers: decompression, line chunks, JSON arrays, UTF-8 repair.

Why here: every format reads the same containers (JSONL, JSON, Parquet, CSV, each maybe .gz/.zst);
streaming and bounded memory are solved once. Decompression uses pyarrow's C++ streams (much faster
than Python's gzip module; handles multi-member gzip and multi-frame zstd).

Documented repair: **invalid UTF-8** bytes are decoded as U+FFFD (the standard replacement
character); each maximal invalid byte sequence replaced counts once in ``repairs["invalid_utf8"]``.
A **lone surrogate escape** in JSON text (JSON lines, JSON files read whole) becomes ``\ufffd``
before parsing, counted in ``repairs["lone_surrogate"]`` (:func:`without_lone_surrogates`); JSON
arrays too large to read whole are streamed without this repair.
"""

from __future__ import annotations

import codecs
import io
import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from typing import IO, Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from chatlens._json import loads_noting_repeats
from chatlens.corpus.readers._jsonstream import stream_items
from chatlens.corpus.readers.base import ResolvedFile
from chatlens.errors import SchemaError, SourceError

BLOCK_BYTES = 8 << 20  # read size for line splitting
CHUNK_BYTES = 64 << 20  # a line chunk is cut at this many bytes (bounded memory) ...
JSON_EAGER_BYTES = 64 << 20  # JSON arrays smaller than this (on disk) are parsed in one go

_counter = threading.local()


def _count_replace(exc: UnicodeError) -> tuple[str, int]:
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    _counter.n = getattr(_counter, "n", 0) + 1
    return ("\ufffd", exc.end)


_ERRORS = "chatlens-count-replace"
codecs.register_error(_ERRORS, _count_replace)


def decode_utf8(data: bytes) -> tuple[str, int]:
    """Decode UTF-8, replacing invalid sequences with U+FFFD; return (text, sequences replaced)."""
    try:
        return data.decode("utf-8"), 0
    except UnicodeDecodeError:
        _counter.n = 0
        text = data.decode("utf-8", errors=_ERRORS)
        return text, _counter.n


UTF8_BOM = b"\xef\xbb\xbf"
#: Byte-order marks of the encodings chatlens does not read (longest first: UTF-32LE starts
#: like UTF-16LE).
_OTHER_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"),
)


def open_binary(file: ResolvedFile) -> IO[bytes]:
    """A binary stream of the file's decompressed bytes, without a leading UTF-8 byte-order mark.

    Why here: a BOM (written by Windows tools and Excel) is not part of the first record, and
    every parser and sniffer reads through this stream; each used to strip it (or not) on its
    own, so a ``.json`` file of JSON lines, a JSON object keeping its records under a key (DICES)
    or any ``.json.gz`` failed detection when it began with one. A UTF-16 or UTF-32 byte-order
    mark is a :class:`SourceError` that says so (its text otherwise read as malformed records).
    """
    try:
        stream = pa.input_stream(str(file.path), compression=file.compression)
    except (OSError, pa.ArrowException) as exc:
        msg = f"Cannot open {file.name}: {exc}"
        raise SourceError(msg) from exc
    try:
        head = read_block(stream, 4, file.name)
    except SourceError:
        stream.close()
        raise
    for mark, encoding in _OTHER_BOMS:
        if head.startswith(mark):
            stream.close()
            msg = (f"{file.name} is {encoding} text (it starts with a {encoding} byte-order mark); "
                   f"expected UTF-8. Convert it first, e.g. iconv -f {encoding} -t UTF-8.")
            raise SourceError(msg)
    return _Prefixed(head.removeprefix(UTF8_BOM), stream)


class _Prefixed:
    """``stream`` with ``head`` (bytes already read from it) put back in front."""

    def __init__(self, head: bytes, stream: IO[bytes]) -> None:
        self._head = head
        self._raw = stream

    @property
    def closed(self) -> bool:
        return self._raw.closed

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:  # the rest (pyarrow's read() takes no negative size)
            out, self._head = self._head + self._raw.read(), b""
            return out
        if not self._head:
            return self._raw.read(n)
        out, self._head = self._head[:n], self._head[n:]
        return out + self._raw.read(n - len(out)) if len(out) < n else out

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> _Prefixed:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_block(stream: IO[bytes], n: int, name: str) -> bytes:
    """Up to ``n`` bytes of ``stream``; a read error (a truncated or corrupt .gz / .zst file,
    which the decompressor only finds when it gets there) as a :class:`SourceError` naming the
    file, not a bare ``OSError`` traceback from deep inside a parser."""
    try:
        return stream.read(n)
    except (OSError, pa.ArrowException) as exc:
        msg = (f"Cannot read {name}: the data is corrupt or truncated ({exc}); expected a complete "
               "file (for .gz / .zst: a whole compressed stream; download or decompress it again).")
        raise SourceError(msg) from exc


#: Longest record a reader reads whole: a JSON line (longer ones are quarantined as they stream
#: by, never held) and the largest CSV read block (:mod:`._csv`). One number, so every container
#: bounds a record's memory alike; parsing a line costs several times its size (a 600 MB line
#: peaked at 3.2 GB).
MAX_RECORD_BYTES = 512 << 20
#: Bytes of an over-long line kept, for its quarantine row's ``raw`` (the rest is never held).
_LONG_LINE_HEAD = 8 << 10


@dataclass(frozen=True)
class LongLine:
    """A JSON line longer than :data:`MAX_RECORD_BYTES`, skipped as it was read: its 0-based
    line number, its length in bytes and its first bytes."""

    row: int
    nbytes: int
    head: bytes
    limit: int = MAX_RECORD_BYTES

    @property
    def reason(self) -> str:
        cap = f"{self.limit >> 20} MB" if self.limit >= 1 << 20 else f"{self.limit:,} bytes"
        return f"line of {self.nbytes:,} bytes, longer than the {cap} a record may take (not read)"


@dataclass
class LineChunk:
    """Non-blank lines of a JSONL file, their 0-based line numbers, how many bytes of the
    (decompressed) stream had been read when the chunk was cut (for progress), and how many lone
    surrogate escapes :func:`without_lone_surrogates` replaced. ``too_long``: lines of the chunk
    longer than :data:`MAX_RECORD_BYTES`, which are not in ``lines`` (the reader quarantines
    them, so rows in = analysed + quarantined holds)."""

    lines: list[bytes]
    rows: list[int]
    end: int = 0
    lone_surrogates: int = 0
    too_long: list[LongLine] = field(default_factory=list)

    @property
    def rows_read(self) -> list[int]:
        """The line numbers of every record of the chunk, over-long ones included."""
        return [*self.rows, *(t.row for t in self.too_long)]

    @property
    def data(self) -> bytes:
        return b"\n".join(self.lines)


_HIGH = rb"\\u[dD][89abAB][0-9a-fA-F]{2}"
_LOW = rb"\\u[dD][c-fC-F][0-9a-fA-F]{2}"
#: A ``\uD800``-``\uDFFF`` escape that is not half of a pair (an odd run of backslashes
#: before it, so it is an escape and not the text ``\\u…``).
_LONE_SURROGATE = re.compile(
    rb"(?<!\\)((?:\\\\)*)(?:(" + _HIGH + rb")(?!" + _LOW + rb")|(?<!" + _HIGH + rb")(" + _LOW + rb"))"
)
_SURROGATE_HINT = re.compile(rb"\\u[dD][89a-fA-F]")


def without_lone_surrogates(chunk: LineChunk) -> LineChunk:
    """``chunk`` with every lone surrogate escape (``"\ud800"`` not followed by a low half, or a
    low half alone) replaced by ``\ufffd``, counted in ``lone_surrogates``.

    Why: such an escape is valid JSON but no character. pyarrow's parser (the fast path) made it
    a NUL byte, Python's (the per-record path) a string that cannot be encoded, which then
    quarantined the conversation; repairing the bytes first gives both paths the same text, by
    the same rule as invalid UTF-8 (U+FFFD, counted). Lines are searched only when the chunk
    has a surrogate escape at all (emoji written as ``\ud83d\ude00`` pairs are kept).
    """
    if not _SURROGATE_HINT.search(chunk.data):
        return chunk
    lines, count = [], 0
    for line in chunk.lines:
        fixed, n = _LONE_SURROGATE.subn(rb"\1\\ufffd", line) if _SURROGATE_HINT.search(line) else (line, 0)
        lines.append(fixed)
        count += n
    return replace(chunk, lines=lines, lone_surrogates=chunk.lone_surrogates + count) if count else chunk


def iter_line_chunks(
    file: ResolvedFile, max_lines: int, max_line_bytes: int | None = None
) -> Iterator[LineChunk]:
    """Yield chunks of at most ``max_lines`` non-blank lines (or ~CHUNK_BYTES), in file order.

    Blank lines are skipped (they are not records). Row numbers are physical 0-based line numbers
    so a quarantined row can be found in the file. A line up to ``max_line_bytes`` (default:
    :data:`MAX_RECORD_BYTES`) long is kept whole; a longer one (blank or not) is not held: its bytes are dropped as they stream by and
    it comes out in :attr:`LineChunk.too_long`. Why: one 200 MB line (a 204 KB ``.jsonl.gz``)
    was read whole and parsed, 1.8 GB at the peak; 600 MB, 3.2 GB.
    """
    limit = MAX_RECORD_BYTES if max_line_bytes is None else max_line_bytes
    stream = open_binary(file)
    try:
        lines: list[bytes] = []
        rows: list[int] = []
        too_long: list[LongLine] = []
        size = 0
        lineno = 0
        pieces: list[bytes] = []  # the unfinished last line, while not longer than max_line_bytes
        held = 0  # the unfinished line's length in bytes (counted on when its pieces are dropped)
        head = b""  # its first bytes
        end = 0
        while True:
            block = read_block(stream, BLOCK_BYTES, file.name)
            if not block:
                break
            end += len(block)
            cut = block.find(b"\n")
            if cut < 0:
                pieces, held, head = _hold(pieces, held, head, block, limit)
                continue
            pieces, held, head = _hold(pieces, held, head, block[:cut], limit)
            first = LongLine(lineno, held, head, limit) if held > limit else b"".join(pieces)
            parts = block[cut + 1 :].split(b"\n")
            last = parts.pop()
            for line in (first, *parts):
                if isinstance(line, bytes) and len(line) > limit:
                    line = LongLine(lineno, len(line), line[:_LONG_LINE_HEAD], limit)
                if isinstance(line, LongLine):
                    too_long.append(line)
                elif line.strip():
                    if line.endswith(b"\r"):
                        line = line[:-1]
                    lines.append(line)
                    rows.append(lineno)
                    size += len(line)
                lineno += 1
                if len(lines) + len(too_long) >= max_lines or size >= CHUNK_BYTES:
                    yield LineChunk(lines, rows, end - len(last), too_long=too_long)
                    lines, rows, too_long, size = [], [], [], 0
            pieces, held, head = _hold([], 0, b"", last, limit)
        if held > limit:
            too_long.append(LongLine(lineno, held, head, limit))
        elif held and (tail := b"".join(pieces)).strip():
            lines.append(tail.rstrip(b"\r"))
            rows.append(lineno)
        if lines or too_long:
            yield LineChunk(lines, rows, end, too_long=too_long)
    finally:
        stream.close()


def _hold(
    pieces: list[bytes], held: int, head: bytes, more: bytes, limit: int
) -> tuple[list[bytes], int, bytes]:
    """The unfinished line with ``more`` of it: its pieces (none once longer than ``limit``),
    its length and its first bytes."""
    if not more:
        return pieces, held, head
    if len(head) < _LONG_LINE_HEAD:
        head += more[: _LONG_LINE_HEAD - len(head)]
    held += len(more)
    if held > limit:
        return [], held, head
    pieces.append(more)
    return pieces, held, head


#: Deepest bracket nesting a chunk may have to go to the fast (C++) JSON parsers; deeper chunks
#: go record by record through Python's parser, which fails cleanly (pyarrow's reader segfaults
#: on a line nested ~20,000 deep: issue 11 item 1).
MAX_FAST_DEPTH = 100


def nesting_depth(data: bytes) -> int:
    """An upper bound of the bracket nesting of any line of ``data`` (brackets inside strings
    count too, which can only overstate it, sending a chunk to the safe path, never the other
    way). Works on the bracket and newline positions only, so it costs little next to parsing."""
    import numpy as np

    b = np.frombuffer(data, dtype=np.uint8)
    opens = (b == ord("{")) | (b == ord("["))
    at = np.flatnonzero(opens | (b == ord("}")) | (b == ord("]")) | (b == ord("\n")))
    if len(at) == 0:
        return 0
    kind = b[at]
    newline = kind == ord("\n")
    depth = np.cumsum(np.where(opens[at], 1, np.where(newline, 0, -1)).astype(np.int64))
    # per line: a line that closes more than it opens must not hide a deep next line
    line = np.cumsum(newline) - newline
    base = np.concatenate([[0], depth[newline]])[line]
    return int((depth - base).max())


def check_depth(data: bytes) -> None:
    """Raise ``ValueError`` for a chunk nested deeper than :data:`MAX_FAST_DEPTH`."""
    if nesting_depth(data) > MAX_FAST_DEPTH:
        msg = f"chunk nested deeper than {MAX_FAST_DEPTH} levels"
        raise ValueError(msg)


def read_json_lines(data: bytes, lines: list[bytes] | None = None) -> pl.DataFrame:
    """Parse a chunk of JSON lines into a frame, fast: pyarrow's multi-threaded JSON reader
    (about 2.5x polars on nested records), falling back to polars when pyarrow guesses a temporal
    type (it turns timestamp-looking *text* into timestamps) or refuses the chunk. Raises on a
    chunk neither parser accepts (a malformed line, invalid UTF-8); callers then go per line."""
    import pyarrow.json as pajson

    if not utf8_valid(data):
        msg = "chunk holds invalid UTF-8"
        raise ValueError(msg)
    check_depth(data)
    # pyarrow's reader crashes the process on a top-level non-object line (seen: ``null``), so it
    # only gets chunks whose every line is an object
    objects = lines is not None and all(line.lstrip()[:1] == b"{" for line in lines)
    if not objects:
        msg = "a line is not a JSON object"  # quarantined record by record
        raise ValueError(msg)
    try:
        table = pajson.read_json(
            io.BytesIO(data),
            read_options=pajson.ReadOptions(block_size=min(len(data) + 1, 2**31 - 1)),
        )
        if _hostile_schema(table.schema):
            # keys megabytes long turned polars' conversion into minutes and gigabytes (found by
            # benchmarks/fuzz_readers.py): such chunks go record by record
            msg = f"a key longer than {MAX_KEY_CHARS:,} characters"
            raise ValueError(msg)
        if not any(_temporal(f.type) for f in table.schema):
            out = pl.from_arrow(table)
            assert isinstance(out, pl.DataFrame)
            return out
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError) as exc:
        if "specified twice" in str(exc):
            # a key given twice in one object: polars would keep the first value, Python's
            # parser keeps the last; record by record the last is kept and counted
            msg = f"a key appears twice in one object: {exc}"
            raise ValueError(msg) from None
        if "changed from" in str(exc):
            # a key holds values of different types (a number here, text there): polars would
            # turn them all into text silently; record by record they are counted repairs
            msg = f"mixed types in one key: {exc}"
            raise ValueError(msg) from None
    return pl.read_ndjson(data, infer_schema_length=None)


def loads_counting_duplicates(text: str) -> tuple[Any, int]:
    """``json.loads(text)`` and the number of keys given twice in an object.

    Every path keeps the last value (a chunk with a repeat leaves the fast path, see
    :func:`read_json_lines`), and the values dropped are counted in ``repairs["duplicate_key"]``
    rather than lost unnoticed (:func:`chatlens._json.loads_noting_repeats`).
    """
    doc, repeated = loads_noting_repeats(text)
    return doc, len(repeated)


def utf8_valid(data: bytes) -> bool:
    """Whether ``data`` is valid UTF-8 (Arrow's SIMD validator over a zero-copy view)."""
    import numpy as np

    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    view = pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        view.cast(pa.large_string())
    except pa.ArrowInvalid:
        return False
    return True


#: Longest key (column or struct field name) the fast JSON path accepts.
MAX_KEY_CHARS = 1_000


def _hostile_schema(schema: pa.Schema | pa.DataType) -> bool:
    """Whether any (nested) field name is longer than :data:`MAX_KEY_CHARS`."""
    fields = (
        list(schema)
        if isinstance(schema, pa.Schema)
        else (
            [schema.field(i) for i in range(schema.num_fields)]
            if pa.types.is_struct(schema)
            else []
        )
    )
    if isinstance(schema, pa.DataType) and (
        pa.types.is_list(schema) or pa.types.is_large_list(schema)
    ):
        return _hostile_schema(schema.value_type)
    return any(len(f.name) > MAX_KEY_CHARS or _hostile_schema(f.type) for f in fields)


def _temporal(t: pa.DataType) -> bool:
    if pa.types.is_temporal(t):
        return True
    if pa.types.is_struct(t):
        return any(_temporal(t.field(i).type) for i in range(t.num_fields))
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _temporal(t.value_type)
    return False


def repairs_since(now: Mapping[str, int], before: Mapping[str, int]) -> dict[str, int]:
    """The repairs counted in ``now`` beyond ``before`` (cumulative counts → one batch's)."""
    return {k: v - before.get(k, 0) for k, v in now.items() if v - before.get(k, 0)}


def peek_bytes(file: ResolvedFile, n: int = 1 << 16) -> bytes:
    """The first ``n`` decompressed bytes (for container and format sniffing)."""
    stream = open_binary(file)
    try:
        return stream.read(n)
    except (OSError, pa.ArrowException) as exc:
        msg = f"Cannot read {file.name}: {exc}"
        raise SourceError(msg) from exc
    finally:
        stream.close()


#: Decompressed bytes :func:`object_line_after_first` reads at most (a one-line JSON document
#: larger than this is taken for JSON without reading it all).
LINE_SCAN_BYTES = 64 << 20


def object_line_after_first(
    file: ResolvedFile, whole: bytes | None = None, limit: int = LINE_SCAN_BYTES
) -> bool:
    """Whether a line after the first starts with ``{`` (not indented) and is a JSON object on
    its own: the mark of JSON lines, whatever the first line holds.

    Why: a ``.json`` file holding one object per line was told from a JSON document by its first
    line alone, so a malformed first line, or one longer than the bytes sniffed, made the whole
    file one broken document. In a JSON document, lines after the first that start with ``{``
    at column 0 hardly occur (nested objects are indented, or on the first line). Reads
    ``limit`` decompressed bytes at most, in blocks; ``whole``: the file's bytes when the caller
    has them all already (a folder of 20,000 small files is not opened twice).
    """
    stream = open_binary(file) if whole is None else io.BytesIO(whole)
    try:
        data, read, eof = b"", 0, False
        while True:
            at = data.find(b"\n{")
            end = data.find(b"\n", at + 1) if at >= 0 else -1
            if at >= 0 and (end >= 0 or eof):
                if _json_object(data[at + 1 : end if end >= 0 else None]):
                    return True
                data = data[at + 1 :]
                continue
            if eof or read >= limit:
                return False
            if at < 0:
                data = data[-1:]  # a line break at the end may come before a "{"
            block = read_block(stream, BLOCK_BYTES, file.name)
            read += len(block)
            eof = not block
            data += block
    finally:
        stream.close()


def _json_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(decode_utf8(line)[0]), dict)
    except (ValueError, RecursionError):
        return False


def _without_frames(exc: BaseException) -> BaseException:
    """``exc`` with the tracebacks of it and its causes dropped (the messages stay). Why: a stored
    error's frames hold the object that stored it (see :meth:`RepairingStream.check`)."""
    seen: set[int] = set()
    err: BaseException | None = exc
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        err.__traceback__ = None
        err = err.__cause__ or err.__context__
    return exc


class RepairingStream:
    """A binary stream's bytes with invalid UTF-8 replaced by U+FFFD, each repair counted.

    Why: the parsers that read whole streams (ijson for large JSON arrays, pyarrow's CSV reader)
    must see valid UTF-8; repairing before them keeps one repair rule for every container.
    Valid blocks pass through untouched (Arrow's SIMD check); only others are decoded and
    re-encoded. A character split across blocks is carried over by the incremental decoder.

    A read error (a truncated or corrupt .gz / .zst) ends the stream and is kept in ``error``;
    the caller raises it with :meth:`check`. Why not raise in ``read``: pyarrow's CSV reader
    calls ``read`` from C++, and an exception thrown there sometimes aborted the whole process
    ("terminate called without an active exception") instead of reaching Python.
    """

    def __init__(self, raw: IO[bytes], name: str) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors=_ERRORS)
        self._raw = raw
        self.name = name
        self.repairs = 0
        self.closed = False
        self.error: SourceError | None = None

    def check(self) -> None:
        """Raise the read error that ended the stream early, if any.

        The raised error's traceback must not keep the stream alive (``del self``; the stored
        error has no traceback either): a CSV reader waits for Arrow's I/O thread to let go of the
        stream (:func:`chatlens.corpus.readers._csv._await_release`), which it can only see once
        nothing in Python holds it.
        """
        error = self.error
        del self
        if error is not None:
            raise error

    def read(self, n: int = -1) -> bytes:
        if n == 0:  # ijson probes the stream type with read(0)
            return b""
        while True:
            if self.error is not None:
                return b""
            try:
                block = read_block(self._raw, n if n and n > 0 else BLOCK_BYTES, self.name)
            except SourceError as exc:
                self.error = _without_frames(exc)
                block = b""
            if block and not self._decoder.getstate()[0] and utf8_valid(block):
                return block
            _counter.n = 0
            text = self._decoder.decode(block, final=not block)
            self.repairs += getattr(_counter, "n", 0)
            if text or not block:  # an empty result mid-stream is a split character: read on
                return text.encode("utf-8")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        self.closed = True
        self._raw.close()


def _eager_json(file: ResolvedFile) -> tuple[Any, dict[str, int]] | None:
    """The whole (small) document and its repairs (invalid UTF-8, lone surrogate escapes, as in
    JSON lines); ``None`` when it is nested too deep for the recursive stdlib parser (the
    streaming parser then reads it record by record, and the deep record is quarantined instead
    of failing the run: issue 11 item 1)."""
    stream = open_binary(file)
    try:
        whole = without_lone_surrogates(LineChunk([stream.read()], [0]))
    finally:
        stream.close()
    text, bad = decode_utf8(whole.lines[0])
    try:
        doc, repeats = loads_counting_duplicates(text)
        return doc, {"invalid_utf8": bad, "lone_surrogate": whole.lone_surrogates, "duplicate_key": repeats}
    except json.JSONDecodeError as exc:
        msg = f"{file.name} is not valid JSON: {exc}"
        raise SchemaError(msg) from exc
    except RecursionError:
        return None


def iter_json_items(file: ResolvedFile, prefix: str) -> Iterator[tuple[Any, dict[str, int]]]:
    """Yield (item, repairs so far by kind) for the JSON array at ``prefix`` (ijson syntax:
    ``item``, ``instances.item``).

    Small files are parsed in one go with :mod:`json`; large ones (and small ones too deep for
    :mod:`json`) are streamed (:mod:`._jsonstream`) so memory stays bounded, also in the nesting
    depth; a record nested too deep comes out as :class:`~._jsonstream.TooDeep`, to be
    quarantined. Raises :class:`SchemaError` if the file is not valid JSON.
    """
    eager = (
        _eager_json(file) if file.compression is None and file.size <= JSON_EAGER_BYTES else None
    )
    if eager is not None:
        doc, repairs = eager
        items = [doc] if prefix == "item" and isinstance(doc, dict) else doc
        for part in prefix.split(".")[:-1] if prefix != "item" else []:
            items = items.get(part) if isinstance(items, dict) else None
        if not isinstance(items, list):
            where = "the top level" if prefix == "item" else f"key '{prefix.rsplit('.', 1)[0]}'"
            msg = f"{file.name}: expected a JSON array at {where}; got {type(items).__name__}."
            raise SchemaError(msg)
        for item in items:
            yield item, repairs
        return
    import ijson

    head = peek_bytes(file, 4096).lstrip()
    if prefix == "item" and head[:1] == b"{":
        prefix = ""  # one top-level object: it is the single record
    stream = open_binary(file)
    wrapped = RepairingStream(stream, file.name)
    count = 0
    try:
        for item in stream_items(wrapped, prefix):
            wrapped.check()
            count += 1
            yield item, {"invalid_utf8": wrapped.repairs}
    except ijson.JSONError as exc:
        wrapped.check()  # the data ended early because it could not be read, not bad JSON
        msg = f"{file.name} is not valid JSON (streaming parse stopped): {exc}"
        raise SchemaError(msg) from exc
    finally:
        stream.close()
    wrapped.check()
    if count == 0 and not re.match(rb"\[\s*\]", head):
        where = "the top level" if prefix in ("item", "") else f"key '{prefix.rsplit('.', 1)[0]}'"
        msg = f"{file.name}: expected a JSON array of records at {where}; found none."
        raise SchemaError(msg)


def json_object_keys(file: ResolvedFile) -> tuple[list[str], str | None]:
    """Top-level keys of a JSON object file and the key of its record array.

    Why here: detection samples the records under that key, and the reader must read the same
    records (see ``_pipeline._records_prefix``). Small files are inspected whole (the longest
    array of objects is the record array); large ones are streamed up to the first key holding
    an array of objects.
    """
    import ijson

    if file.compression is None and file.size <= JSON_EAGER_BYTES:
        try:
            doc = json.loads(decode_utf8(file.path.read_bytes().removeprefix(UTF8_BOM))[0])
        except (ValueError, RecursionError):
            return [], None
        if not isinstance(doc, dict):
            return [], None
        lists = [
            (len(v), k) for k, v in doc.items() if isinstance(v, list) and v and isinstance(v[0], dict)
        ]
        return list(doc), (max(lists)[1] if lists else None)

    keys: list[str] = []
    stream = RepairingStream(open_binary(file), file.name)
    try:
        parser = ijson.parse(stream)
        current = None
        for prefix, event, value in parser:
            if prefix == "" and event == "map_key":
                keys.append(value)
                current = value
            elif current is not None and prefix == f"{current}.item" and event == "start_map":
                return keys, current
            if len(keys) > 1000:
                break
    except ijson.JSONError:
        stream.check()
    finally:
        stream.close()
    stream.check()
    return keys, None


@cache
def use_parquet_pool() -> str:
    """Make jemalloc pyarrow's default memory pool (once per process); the pool's name.

    Why: Parquet batches are decoded into pyarrow's default pool, and its usual default
    (mimalloc) takes fresh pages from the kernel for every batch a reader keeps alive; on Linux
    with transparent huge pages that cost several times the decoding itself in system time
    (1M LMSYS-shaped conversations: ``partitions.read`` 20 s of 2-worker time, mostly kernel
    time; with jemalloc, which reuses its pages, about a fifth, and a lower peak RSS).
    ``ParquetFile`` takes no pool argument, hence the process-wide default. A pool the user
    chose (``ARROW_DEFAULT_MEMORY_POOL``) is kept, as is the default where pyarrow was built
    without jemalloc (Windows).
    """
    if not os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        try:
            pa.set_memory_pool(pa.jemalloc_memory_pool())
        except NotImplementedError:
            pass
    return pa.default_memory_pool().backend_name


def open_parquet(file: ResolvedFile) -> pq.ParquetFile:
    """A Parquet file opened for streaming reads into :func:`use_parquet_pool`'s pool
    (raises :class:`SourceError`)."""
    use_parquet_pool()
    try:
        # buffered column reads instead of pre-buffering whole row groups: measured ~15% lower
        # peak RSS on LMSYS-shaped files at the same speed
        return pq.ParquetFile(str(file.path), pre_buffer=False, buffer_size=4 << 20)
    except (OSError, pa.ArrowException) as exc:
        msg = f"Cannot read {file.name} as Parquet: {exc}"
        raise SourceError(msg) from exc


def iter_parquet_batches(
    file: ResolvedFile, batch_size: int, columns: list[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """Record batches of a Parquet file (only ``columns`` that exist, when given)."""
    pf = open_parquet(file)
    if columns is not None:
        names = set(pf.schema_arrow.names)
        columns = [c for c in columns if c in names]
    try:
        start = 0
        for rb in pf.iter_batches(batch_size=batch_size, columns=columns):
            check_strings(rb, file, start)
            start += rb.num_rows
            yield rb
    except (OSError, pa.ArrowException) as exc:
        msg = f"Cannot read {file.name} as Parquet (corrupt?): {exc}"
        raise SourceError(msg) from exc


def check_strings(rb: pa.RecordBatch, file: ResolvedFile, first_row: int) -> None:
    """:class:`SourceError` if a text value of a Parquet batch is not valid UTF-8.

    Why: Parquet readers do not validate text, and polars panics (a ``PanicException``, not an
    error) when such a value reaches Python (found by ``benchmarks/fuzz_readers.py`` with one
    flipped bit). Each string leaf is re-validated per value (Arrow's SIMD check, about 2 GB/s).
    """
    for name, column in zip(rb.schema.names, rb.columns, strict=True):
        for leaf in _string_leaves(column):
            binary = pa.large_binary() if pa.types.is_large_string(leaf.type) else pa.binary()
            try:
                leaf.view(binary).cast(leaf.type)
            except pa.ArrowInvalid:
                msg = (
                    f"Cannot read {file.name} as Parquet: column '{name}' holds text that is not "
                    f"valid UTF-8 in rows {first_row}-{first_row + rb.num_rows - 1} (a corrupt "
                    "file?); expected UTF-8 text."
                )
                raise SourceError(msg) from None


def _string_leaves(arr: pa.Array) -> Iterator[pa.Array]:
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        yield arr
    elif pa.types.is_list(t) or pa.types.is_large_list(t):
        yield from _string_leaves(arr.flatten())
    elif pa.types.is_struct(t):
        for child in arr.flatten():
            yield from _string_leaves(child)


def parquet_columns(file: ResolvedFile) -> list[str]:
    try:
        return list(pq.ParquetFile(str(file.path)).schema_arrow.names)
    except (OSError, pa.ArrowException) as exc:
        msg = f"Cannot read {file.name} as Parquet: {exc}"
        raise SourceError(msg) from exc
