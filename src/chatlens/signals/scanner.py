"""Multi-pattern scanning: every pattern of a lexicon set in one pass, with per-pattern ids.

Why: the original study ran 17 separate Python regexes per message (~4 MB/s); one big ``re``
alternation is worse still. Hyperscan compiles all patterns into one automaton and reports which
pattern matched where; google-re2's ``Set`` is the portable fallback (which patterns matched, then
one targeted search each for the position); plain ``re`` exists only so tests can cross-check the
fast backends.

Every text is scanned as ``"\\x00\\n" + text + "\\n\\x00"``: a line start is written ``\\n`` in a pattern
(no ``^``/``$`` anchors, which hyperscan cannot embed), and a word boundary always has a character
to consume. Hyperscan scans one UTF-8 buffer per chunk of padded texts (``\\x00`` is consumed by no pattern
but a boundary, and ``.`` never crosses the padding newlines), so one call covers thousands
of messages; match end offsets are mapped back to messages with a binary search.

Two-tier scan (``prefilter=True``, hyperscan only): each pattern whose syntax yields a set of
*necessary literals* (:func:`chatlens.signals.anchors.required_literals`: every match contains one
of them) and which cannot match across the message separator (:func:`~chatlens.signals.anchors.
local`) is run only on the messages where a pure-literal database (hundreds of MB/s) found one of
its literals; the other patterns run on every message as before. The result is identical to the
one-pass scan: a message without any necessary literal of a pattern cannot match it, and a
pattern that cannot span the separator finds the same matches in the message's own padded bytes
as in the joined buffer (offsets are mapped back to the joined buffer and attributed with the same
rule). Tier 2 groups patterns per name (cue) and scans each group's candidates with a vectored
database over zero-copy slices of the joined buffer.

Word boundaries: hyperscan does not support ``\\b`` in Unicode mode, and Unicode mode makes
compilation ~20x slower, so patterns run in UTF-8 mode with ASCII ``\\s``/``\\w`` (the text is
normalised first: case-folded, Unicode spaces turned into ASCII spaces) and a cue with
``boundaries: word`` is wrapped in an explicit non-letter class covering Latin, Greek and
Cyrillic. CJK lexicons use ``boundaries: none`` (no spaces between words to anchor on).

Why one module of ~650 lines: :class:`Scanner` holds the three backends' compile and scan paths
and the padding/offset rules they share (above); read apart, a change to one backend's
offsets could silently diverge from the others', which the cross-check tests exist to prevent.
The compiled-database cache at the end serves only this class.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl

from chatlens import datafiles
from chatlens._cache import cache_root, write_atomic
from chatlens.errors import InvalidParameterError, LexiconParseError
from chatlens.signals.anchors import SPACE_TABLE, local, required_literals

Backend = Literal["auto", "hyperscan", "re2", "re"]
CHUNK_BYTES = 16 << 20


@dataclass(frozen=True)
class Matches:
    """Scan result: one row per (message, pattern) pair that matched, earliest end offset.

    ``message`` indexes the scanned sequence, ``pattern`` indexes the scanner's patterns and
    ``offset`` is the UTF-8 byte offset (within the message) where the first match ended.
    """

    message: np.ndarray
    pattern: np.ndarray
    offset: np.ndarray

    def __len__(self) -> int:
        return len(self.message)


def _available(backend: str) -> bool:
    try:
        if backend == "hyperscan":
            import hyperscan  # noqa: F401
        elif backend == "re2":
            import re2  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(backend: Backend = "auto") -> str:
    """The backend that will actually run: hyperscan, else re2, else (tests only) re."""
    if backend not in ("auto", "hyperscan", "re2", "re"):
        msg = f"The 'backend' parameter must be one of auto, hyperscan, re2, re. Got {backend!r}."
        raise InvalidParameterError(msg)
    if backend != "auto":
        if not _available(backend):
            msg = f"Scanner backend {backend!r} is not installed."
            raise InvalidParameterError(msg)
        return backend
    for name in ("hyperscan", "re2"):
        if _available(name):
            return name
    return "re"


#: A word boundary is one character that is not a letter or digit of the scripts whose words are
#: separated by spaces: Latin incl. accents and Vietnamese (Latin Extended Additional), combining
#: marks (decomposed accents, Turkish dotted i), Greek, Cyrillic, Arabic/Persian letters (not
#: Arabic punctuation or presentation-form spaces), Devanagari (not the danda) and the zero-width
#: (non-)joiners written inside Persian words. Explicit ranges, not Unicode properties: hyperscan
#: compiles them ~20x faster than ``\p{L}`` or UCP mode.
_WORD_RANGES = (
    (0x00C0, 0x024F),
    (0x0300, 0x036F),
    (0x0370, 0x03FF),
    (0x0400, 0x04FF),
    (0x0620, 0x065F),
    (0x0660, 0x0669),
    (0x066E, 0x06D3),
    (0x06D5, 0x06FF),
    (0x0750, 0x077F),
    (0x0900, 0x0963),
    (0x0966, 0x097F),
    (0x1E00, 0x1EFF),
    (0x200C, 0x200D),
    (0xFB50, 0xFDFF),
    (0xFE70, 0xFEFC),
)
_RANGES_X = "".join(f"\\x{{{a:04X}}}-\\x{{{b:04X}}}" for a, b in _WORD_RANGES)
_NONWORD = {
    "hyperscan": f"[^0-9A-Za-z_{_RANGES_X}]",
    "re2": f"[^0-9A-Za-z_{_RANGES_X}]",
    "re": "[^0-9A-Za-z_" + "".join(f"{chr(a)}-{chr(b)}" for a, b in _WORD_RANGES) + "]",
}


def _wrap(pattern: str, boundaries: bool, backend: str) -> str:  # noqa: FBT001
    if not boundaries:
        return f"(?:{pattern})"
    nonword = _NONWORD[backend]
    return f"{nonword}(?:{pattern}){nonword}"


class Scanner:
    """All patterns compiled once; :meth:`scan` reports which matched in each message.

    Parameters
    ----------
    patterns
        ``(regex, boundaries)`` pairs; the pattern id is the position in this sequence.
    names
        A name per pattern used in compile-error messages (e.g. the cue id).
    caseless
        Compile case-insensitively (the legacy profile's ``re.IGNORECASE``). The default
        detectors case-fold the text instead, which also works beyond ASCII.
    backend
        ``auto`` picks hyperscan, else google-re2, else ``re``.
    prefilter
        Two-tier scan (hyperscan, case-sensitive only; ignored otherwise): literal prefilter,
        then each pattern only on the messages that contain one of its necessary literals. Same
        result, faster when most messages contain none.

    Attributes
    ----------
    always, anchored, literals
        With the prefilter: ids of the patterns scanned on every message, ids of the patterns
        scanned only on candidates, and the prefilter's literals (for diagnostics).
    """

    def __init__(
        self,
        patterns: Sequence[tuple[str, bool]],
        *,
        names: Sequence[str] | None = None,
        caseless: bool = False,
        backend: Backend = "auto",
        prefilter: bool = False,
    ) -> None:
        self.backend = resolve_backend(backend)
        self.names = (
            tuple(names) if names is not None else tuple(str(i) for i in range(len(patterns)))
        )
        self.caseless = caseless
        self.raw_patterns = tuple(p for p, _ in patterns)
        self.expressions = tuple(_wrap(p, b, self.backend) for p, b in patterns)
        # Caseless scanners (legacy profile) fold non-ASCII letters in UTF-8 mode, which byte
        # literals would not; they always take the one-pass scan.
        self.prefilter = (
            prefilter and self.backend == "hyperscan" and not caseless and bool(self.expressions)
        )
        if self.prefilter:
            self._compile_tiers()
        else:
            self._compile()

    # -- compilation -------------------------------------------------------------------------
    def _compile(self) -> None:
        if self.backend == "hyperscan":
            import hyperscan as hs

            flags = hs.HS_FLAG_UTF8 | hs.HS_FLAG_ALLOWEMPTY
            if self.caseless:
                flags |= hs.HS_FLAG_CASELESS
            self._db = self._hs_db(
                hs,
                list(self.expressions),
                list(range(len(self.expressions))),
                flags,
                hs.HS_MODE_BLOCK,
            )
        elif self.backend == "re2":
            import re2

            opts = re2.Options()
            opts.case_sensitive = not self.caseless
            self._set = re2.Set.SearchSet(opts)
            self._re2 = []
            for i, expr in enumerate(self.expressions):
                try:
                    added = self._set.Add(expr)
                except Exception as exc:
                    self._raise_bad_pattern(exc, i)
                if added != i:
                    self._raise_bad_pattern("re2 rejected the pattern", i)
                self._re2.append(re2.compile(expr, opts))
            self._set.Compile()
        else:
            flags = re.IGNORECASE if self.caseless else 0
            self._re = [re.compile(e, flags) for e in self.expressions]

    def _compile_tiers(self) -> None:
        """Split patterns into always-scanned and anchored ones; compile the literal database
        (tier 1), one vectored database per name group (tier 2) and one for the rest."""
        import hyperscan as hs

        flags = hs.HS_FLAG_UTF8 | hs.HS_FLAG_ALLOWEMPTY
        literal_id: dict[str, int] = {}
        groups: dict[str, list[int]] = {}
        group_literals: dict[str, set[int]] = {}
        always: list[int] = []
        for i, need in enumerate(_anchor_plan(self.raw_patterns)):
            if need is None:
                always.append(i)
                continue
            name = self.names[i]
            groups.setdefault(name, []).append(i)
            group_literals.setdefault(name, set()).update(
                literal_id.setdefault(lit, len(literal_id)) for lit in sorted(need)
            )
        self.always = tuple(always)
        self.anchored = tuple(i for g in groups.values() for i in g)
        self.literals = tuple(literal_id)
        self._always_db = (
            self._hs_db(hs, [self.expressions[i] for i in always], always, flags, hs.HS_MODE_BLOCK)
            if always
            else None
        )
        # Pure literals, written as byte escapes (no regex meaning, any bytes).
        escaped = ["".join(f"\\x{b:02x}" for b in lit.encode("utf-8")) for lit in self.literals]
        self._literal_db = (
            self._hs_db(hs, escaped, list(range(len(escaped))), 0, hs.HS_MODE_BLOCK)
            if escaped
            else None
        )
        self._groups = []
        pairs_lit, pairs_group = [], []
        for gi, (name, members) in enumerate(groups.items()):
            db = self._hs_db(
                hs, [self.expressions[i] for i in members], members, flags, hs.HS_MODE_VECTORED
            )
            self._groups.append(db)
            for lid in sorted(group_literals[name]):
                pairs_lit.append(lid)
                pairs_group.append(gi)
        # literal id -> groups, as a CSR index (a literal may anchor several groups).
        order = np.lexsort((np.asarray(pairs_group), np.asarray(pairs_lit)))
        self._lit_group = np.asarray(pairs_group, dtype=np.int64)[order]
        counts = np.bincount(np.asarray(pairs_lit, dtype=np.int64), minlength=len(self.literals))
        self._lit_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

    def _hs_db(
        self, hs: object, expressions: list[str], ids: list[int], flags: int, mode: int
    ) -> object:
        cached = _load_cached_db(hs, expressions, ids, flags, mode)
        if cached is not None:
            return cached
        db = hs.Database(mode=mode)  # type: ignore[attr-defined]
        try:
            db.compile(
                expressions=[e.encode("utf-8") for e in expressions],
                ids=list(ids),
                elements=len(expressions),
                flags=[flags] * len(expressions),
            )
        except hs.error as exc:  # type: ignore[attr-defined]
            self._raise_bad_pattern(exc, self._find_bad_hyperscan(hs, flags))
        _store_cached_db(hs, db, expressions, ids, flags, mode)
        return db

    def _find_bad_hyperscan(self, hs: object, flags: int) -> int | None:
        for i, expr in enumerate(self.expressions):
            db = hs.Database(mode=hs.HS_MODE_BLOCK)  # type: ignore[attr-defined]
            try:
                db.compile(expressions=[expr.encode("utf-8")], ids=[0], elements=1, flags=[flags])
            except hs.error:  # type: ignore[attr-defined]
                return i
        return None

    def _raise_bad_pattern(self, exc: object, index: int | None) -> None:
        which = self.names[index] if index is not None else "?"
        expr = self.expressions[index] if index is not None else "?"
        msg = (
            f"Pattern {expr!r} of cue {which!r} cannot be compiled by the {self.backend} "
            f"scanner: expected a supported regular expression, got error: {exc}"
        )
        raise LexiconParseError(msg) from None

    # -- scanning ----------------------------------------------------------------------------
    def scan(self, texts: Sequence[str | None] | pl.Series) -> Matches:
        """Scan every text (a sequence or a polars String Series); null counts as ""."""
        n = len(texts)
        if n == 0 or not self.expressions:
            empty = np.zeros(0, dtype=np.int64)
            return Matches(empty, empty.copy(), empty.copy())
        if self.backend == "hyperscan":
            if isinstance(texts, pl.Series):
                return self._scan_hyperscan_series(texts)
            return self._scan_hyperscan(texts)
        return self._scan_python(texts.to_list() if isinstance(texts, pl.Series) else texts)

    def _scan_hyperscan_series(self, texts: pl.Series) -> Matches:
        """Like :meth:`_scan_hyperscan`, but the padded buffer is built by polars (no per-text
        Python encoding): one ``str.join`` per chunk, byte lengths from ``len_bytes``."""
        texts = texts.fill_null("")
        lengths_all = texts.str.len_bytes().cast(pl.Int64).to_numpy()
        msgs, pats, offs = [], [], []
        n = len(texts)
        start = 0
        csum = np.cumsum(lengths_all + 4)
        while start < n:
            base = csum[start - 1] if start else 0
            stop = int(np.searchsorted(csum, base + CHUNK_BYTES, side="right"))
            stop = max(stop, start + 1)
            lengths = lengths_all[start:stop]
            starts = np.full(len(lengths), 2, dtype=np.int64)
            starts[1:] += np.cumsum(lengths[:-1] + 4)
            joined = texts.slice(start, stop - start).str.join("\n\x00\x00\n")
            buffer = b"\x00\n" + joined.cast(pl.Binary).item() + b"\n\x00"
            self._collect(buffer, starts, lengths, start, msgs, pats, offs)
            start = stop
        return _earliest(msgs, pats, offs)

    def _collect(
        self,
        buffer: bytes,
        starts: np.ndarray,
        lengths: np.ndarray,
        first: int,
        msgs: list,
        pats: list,
        offs: list,
    ) -> None:
        if self.prefilter:
            self._collect_tiered(buffer, starts, lengths, first, msgs, pats, offs)
            return
        pid, to = _run(self._db, buffer)
        _attribute(pid, to, starts, lengths, first, msgs, pats, offs)

    def _collect_tiered(
        self,
        buffer: bytes,
        starts: np.ndarray,
        lengths: np.ndarray,
        first: int,
        msgs: list,
        pats: list,
        offs: list,
    ) -> None:
        if self._always_db is not None:
            pid, to = _run(self._always_db, buffer)
            _attribute(pid, to, starts, lengths, first, msgs, pats, offs)
        lit, region = self._tier1(buffer, starts)
        if len(lit) == 0:
            return
        n_groups = self._lit_ptr[lit + 1] - self._lit_ptr[lit]
        group = self._lit_group[np.repeat(self._lit_ptr[lit], n_groups) + _ramp(n_groups)]
        region = np.repeat(region, n_groups)
        key = np.unique(group * len(starts) + region)
        group, region = key // len(starts), key % len(starts)
        cut = np.flatnonzero(np.diff(group)) + 1
        view = memoryview(buffer)
        for g_regions in np.split(np.stack([group, region]), cut, axis=1):
            gi = int(g_regions[0, 0])
            sel = g_regions[1]
            lo = starts[sel] - 2
            size = lengths[sel] + 4
            pieces = [view[a:b] for a, b in zip(lo.tolist(), (lo + size).tolist(), strict=True)]
            pid, lto = _run(self._groups[gi], pieces)
            if len(pid) == 0:
                continue
            # Logical (vectored) offsets back to offsets in the joined buffer.
            lstart = np.concatenate([[0], np.cumsum(size)[:-1]])
            k = np.searchsorted(lstart, lto - 1, side="right") - 1
            _attribute(pid, lo[k] + (lto - lstart[k]), starts, lengths, first, msgs, pats, offs)

    def _tier1(self, buffer: bytes, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Literal hits of the prefilter: (literal id, index of the message region)."""
        if self._literal_db is None:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty.copy()
        lit, to = _run(self._literal_db, buffer.translate(SPACE_TABLE))
        # Each message owns its padded region [start - 2, start + length + 2); a literal inside
        # a (local) match lies in the region of that match.
        region = np.maximum(np.searchsorted(starts - 2, to - 1, side="right") - 1, 0)
        return lit, region

    def candidates(self, texts: pl.Series) -> np.ndarray:
        """Which texts pass the literal prefilter (contain a literal of some anchored pattern).

        Diagnostics for benchmarks: the patterns without literals (:attr:`always`) still run
        on every text. All ``False`` when the scanner has no prefilter.
        """
        out = np.zeros(len(texts), dtype=bool)
        if not self.prefilter or len(texts) == 0:
            return out
        texts = texts.fill_null("")
        lengths_all = texts.str.len_bytes().cast(pl.Int64).to_numpy()
        csum = np.cumsum(lengths_all + 4)
        start = 0
        while start < len(texts):
            base = csum[start - 1] if start else 0
            stop = max(int(np.searchsorted(csum, base + CHUNK_BYTES, side="right")), start + 1)
            lengths = lengths_all[start:stop]
            starts = np.full(len(lengths), 2, dtype=np.int64)
            starts[1:] += np.cumsum(lengths[:-1] + 4)
            joined = texts.slice(start, stop - start).str.join("\n\x00\x00\n")
            buffer = b"\x00\n" + joined.cast(pl.Binary).item() + b"\n\x00"
            _, region = self._tier1(buffer, starts)
            out[region + start] = True
            start = stop
        return out

    def _scan_hyperscan(self, texts: Sequence[str | None]) -> Matches:
        msgs, pats, offs = [], [], []
        start = 0
        n = len(texts)
        while start < n:
            # Build a chunk of about CHUNK_BYTES.
            stop = start
            size = 0
            while stop < n and (size < CHUNK_BYTES or stop == start):
                size += len(texts[stop] or "") + 2
                stop += 1
            encoded = [(t or "").encode("utf-8") for t in texts[start:stop]]
            lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
            # Layout: "\x00\n" text "\n\x00" "\x00\n" text "\n\x00" ...; starts = first text byte.
            starts = np.full(len(encoded), 2, dtype=np.int64)
            starts[1:] += np.cumsum(lengths[:-1] + 4)
            buffer = b"\x00\n" + b"\n\x00\x00\n".join(encoded) + b"\n\x00"
            self._collect(buffer, starts, lengths, start, msgs, pats, offs)
            start = stop
        return _earliest(msgs, pats, offs)

    def _scan_python(self, texts: Sequence[str | None]) -> Matches:
        msgs: list[int] = []
        pats: list[int] = []
        offs: list[int] = []
        compiled = self._re2 if self.backend == "re2" else self._re
        for i, raw in enumerate(texts):
            text = f"\x00\n{raw or ''}\n\x00"
            if self.backend == "re2":
                candidates = self._set.Match(text) or []
            else:
                candidates = range(len(self.expressions))
            n_bytes = len(text.encode("utf-8")) - 4
            for pid in candidates:
                m = compiled[pid].search(text)
                if m is None:
                    continue
                msgs.append(i)
                pats.append(pid)
                end = len(text[: m.end()].encode("utf-8")) - 2
                offs.append(min(max(end, 0), n_bytes))
        as_arr = [np.asarray(x, dtype=np.int64) for x in (msgs, pats, offs)]
        return _earliest([as_arr[0]], [as_arr[1]], [as_arr[2]])


def _run(db: object, data: bytes | list) -> tuple[np.ndarray, np.ndarray]:
    """Scan ``data`` with a hyperscan database; (pattern id, end offset) of every match."""
    found: list[tuple[int, int]] = []
    append = found.append

    def on_match(pid: int, _from: int, to: int, _flags: int, _ctx: object) -> None:
        append((pid, to))

    db.scan(data, match_event_handler=on_match)  # type: ignore[attr-defined]
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    arr = np.asarray(found, dtype=np.int64)
    return arr[:, 0], arr[:, 1]


def _attribute(
    pid: np.ndarray,
    to: np.ndarray,
    starts: np.ndarray,
    lengths: np.ndarray,
    first: int,
    msgs: list,
    pats: list,
    offs: list,
) -> None:
    """Map match ends in a joined buffer to (message, pattern, offset within the message)."""
    if len(pid) == 0:
        return
    # A match ending at the padding newline after a text belongs to that text.
    msg = np.maximum(np.searchsorted(starts, to - 1, side="right") - 1, 0)
    off = to - starts[msg]
    keep = off <= lengths[msg] + 1
    msgs.append(msg[keep] + first)
    pats.append(pid[keep])
    offs.append(np.clip(off[keep], 0, lengths[msg[keep]]))


def _ramp(counts: np.ndarray) -> np.ndarray:
    """0..c-1 for each count c, concatenated (the position inside each repeated block)."""
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    return np.arange(total, dtype=np.int64) - np.repeat(ends - counts, counts)


def _anchor_plan(raw_patterns: tuple[str, ...]) -> list[frozenset[str] | None]:
    """Each pattern's necessary literals, or ``None`` when it is scanned on every message.

    Why cached: deriving anchors for the bundled refusal lexicons takes ~1 s of pure Python per
    process (every CLI call and every engine worker). The cache key covers the patterns and the
    derivation itself (the source of :mod:`chatlens.signals.anchors` and its word list), so an
    edited lexicon or algorithm never reuses a stale plan; anything unreadable is recomputed.
    """
    path = _plan_cache_path(raw_patterns)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if (
            isinstance(data, list)
            and len(data) == len(raw_patterns)
            and all(
                x is None or (isinstance(x, list) and all(isinstance(y, str) for y in x))
                for x in data
            )
        ):
            return [None if x is None else frozenset(x) for x in data]
    except (OSError, ValueError):
        pass
    plan = [required_literals(raw) if local(raw) else None for raw in raw_patterns]
    write_atomic(path, json.dumps([None if x is None else sorted(x) for x in plan]).encode("utf-8"))
    return plan


def _plan_cache_path(raw_patterns: tuple[str, ...]) -> Path:
    import hashlib

    from chatlens.signals import anchors

    words = datafiles.bundled_bytes(anchors.FUNCTION_WORDS_FILE)
    algorithm = Path(anchors.__file__).read_bytes() + words
    key = json.dumps(list(raw_patterns)).encode("utf-8") + hashlib.sha256(algorithm).digest()
    return cache_root() / "anchors" / f"{hashlib.sha256(key).hexdigest()[:32]}.json"


def _db_cache_path(
    hs: object, expressions: list[str], ids: list[int], flags: int, mode: int
) -> Path:
    """Where a compiled database for exactly these inputs is cached.

    The key covers everything compilation depends on (expressions, ids, flags, mode, the
    hyperscan build and the CPU architecture), so a changed lexicon or library never reuses a
    stale database.
    """
    import hashlib
    import json
    import platform

    version = getattr(hs, "__version__", "") or str(getattr(hs, "HS_VERSION", ""))
    key = json.dumps([expressions, list(ids), flags, mode, version, platform.machine()])
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return cache_root() / "hyperscan" / f"{digest}.hsdb"


def _load_cached_db(
    hs: object, expressions: list[str], ids: list[int], flags: int, mode: int
) -> object | None:
    """A previously compiled database (hyperscan compilation of the refusal lexicons takes
    seconds per process; loading takes milliseconds). Any problem → ``None`` (recompile)."""
    path = _db_cache_path(hs, expressions, ids, flags, mode)
    try:
        db = hs.loadb(path.read_bytes(), mode=mode)  # type: ignore[attr-defined]
        db.scratch = hs.Scratch(db)  # type: ignore[attr-defined]
    except Exception:
        return None
    return db


def _store_cached_db(
    hs: object, db: object, expressions: list[str], ids: list[int], flags: int, mode: int
) -> None:
    """Write the compiled database to the cache (atomically: :func:`chatlens._cache.write_atomic`)."""
    write_atomic(_db_cache_path(hs, expressions, ids, flags, mode), hs.dumpb(db))  # type: ignore[attr-defined]


def _earliest(msgs: list[np.ndarray], pats: list[np.ndarray], offs: list[np.ndarray]) -> Matches:
    if not msgs:
        empty = np.zeros(0, dtype=np.int64)
        return Matches(empty, empty.copy(), empty.copy())
    m = np.concatenate(msgs)
    p = np.concatenate(pats)
    o = np.concatenate(offs)
    if len(m) == 0:
        return Matches(m, p, o)
    order = np.lexsort((o, p, m))
    m, p, o = m[order], p[order], o[order]
    first = np.ones(len(m), dtype=bool)
    first[1:] = (m[1:] != m[:-1]) | (p[1:] != p[:-1])
    return Matches(m[first], p[first], o[first])


@lru_cache(maxsize=32)
def cached_scanner(
    patterns: tuple[tuple[str, bool], ...],
    names: tuple[str, ...],
    caseless: bool,  # noqa: FBT001
    backend: str,
    prefilter: bool = False,  # noqa: FBT001
) -> Scanner:
    """One compiled scanner per distinct pattern set (compilation happens once per process)."""
    return Scanner(
        patterns,
        names=names,
        caseless=caseless,
        backend=backend,  # type: ignore[arg-type]
        prefilter=prefilter,
    )
