"""Literal anchors of a regular expression: strings one of which every match must contain.

Why: the cue scan is slow (~40-60 MB/s) because its hundreds of patterns are short-word
alternations joined by ``\\s+`` that hyperscan cannot accelerate as a whole, while a database of
pure literals runs at several hundred MB/s. So the scanner first finds, with literals only, the
messages that *can* match a pattern, and runs the pattern only on those (see
:mod:`chatlens.signals.scanner`). That is exact only if the literals are *necessary*: every string
the pattern matches contains at least one of them. This module derives such a set from the
pattern's syntax tree (Python's ``re`` parser), in the spirit of RE2's prefilter:

* a literal, or a small character class, has a finite language (its *exact* set);
* a sequence concatenates exact sets while they stay small, and otherwise keeps the best
  necessary set of any of its parts (each part's match is inside the sequence's match);
* an alternation needs a necessary set in *every* branch, and takes their union;
* a whitespace run (``\\s+``, ``\\s*``) stays in the string as a placeholder: the prefilter
  scans text whose whitespace bytes are all spaces, and a run is either at most one space
  (``"i can't"``) or two or more (then the match contains ``"  can't"``), see :func:`expand`;
* any other unbounded or broad part (``.``, ``\\w``, negated classes) is a break;
* any string of a necessary set may be replaced by one of its substrings (here: a run of whole
  words), chosen by a crude frequency model (longer is rarer, function words are common).

It never guesses: where no necessary set is found it returns ``None`` and the scanner runs that
pattern on every message. Syntax that Python and hyperscan read differently (POSIX classes,
``\\x{..}``, ``\\p{..}``, inline flags) also yields ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from chatlens import datafiles

try:  # Python >= 3.11 names the parser modules privately; both expose the same API.
    from re import _constants as _sc  # type: ignore[attr-defined]
    from re import _parser as _sp  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _sc  # type: ignore[no-redef]
    import sre_parse as _sp  # type: ignore[no-redef]

#: Largest exact set kept while concatenating (cross products grow fast).
MAX_SET = 256
#: Most literals one pattern may expand to.
MAX_LITERALS = 1024
#: A necessary literal is only useful if it is long enough to be selective.
MIN_BYTES = 4
#: Cost model of a literal: BASE ** -(bytes - MIN_BYTES), times COMMON for a frequent word.
BASE = 4.0
COMMON = 64.0
#: A pattern whose best literal set costs more than this is not worth prefiltering.
MAX_COST = 0.1

#: Whitespace as hyperscan's ``\\s`` reads it. The literal prefilter scans a copy of the text in
#: which each of these bytes is a space (same length, so offsets are unchanged).
WHITESPACE = "\t\n\x0b\x0c\r "
SPACE_TABLE = bytes.maketrans(WHITESPACE.encode(), b" " * len(WHITESPACE))
#: Placeholders for whitespace runs inside derived strings: ``\\s+`` and ``\\s*``.
_PLUS = "\ue000"
_STAR = "\ue001"
_GAP = re.compile("([\ue000\ue001])")
_RUNS = re.compile("[\ue000\ue001]{2,}")

_DIVERGENT = ("[:", "\\x{", "\\p", "\\P", "\\N", "\\Q", "\\E", "{,")

_REPEATS = (_sc.MAX_REPEAT, _sc.MIN_REPEAT, getattr(_sc, "POSSESSIVE_REPEAT", _sc.MAX_REPEAT))


@dataclass(frozen=True)
class _Info:
    exact: frozenset[str] | None = None  # the whole language, when small and finite
    need: frozenset[str] | None = None  # every match contains one of these


def _spaces(text: str) -> str:
    return "".join(" " if c in WHITESPACE else c for c in text)


@lru_cache(maxsize=65536)
def expand(token_string: str) -> frozenset[str]:
    """The literals (in space-translated text) one of which a match of ``token_string`` contains.

    ``token_string`` is literal text with whitespace runs (``\\s+``/``\\s*`` placeholders). If
    every run is at most one character, the match is the text with each run a single space (or
    nothing, for ``\\s*``); otherwise let run *j* be the last run of two or more characters: the
    match contains two spaces followed by the text after run *j* (later runs at most one).
    """
    # Adjacent runs are one run (at least one character if either needs one).
    merged = _RUNS.sub(lambda m: _PLUS if _PLUS in m.group(0) else _STAR, token_string)
    parts = _GAP.split(merged.strip(_PLUS + _STAR))
    words = [_spaces(w) for w in parts[0::2]]
    gaps = parts[1::2]

    def short(i: int) -> set[str]:
        # Texts from word i to the end with every later run a single space or (\s*) nothing.
        out = {words[i]}
        for g, w in zip(gaps[i:], words[i + 1:], strict=True):
            out = {x + " " + w for x in out} | ({x + w for x in out} if g == _STAR else set())
        return out

    literals = short(0)
    for j in range(1, len(words)):
        literals |= {"  " + x for x in short(j)}
    return frozenset(literals)


#: The English function words (frequent words: poor literals on their own; also the jailbreak
#: detector's notion of "prose").
FUNCTION_WORDS_FILE = "signals/patterns/wordlist_function_en.yaml"


@datafiles.cached
def function_words() -> frozenset[str]:
    """English function words (``data/signals/patterns/wordlist_function_en.yaml``)."""
    return frozenset(datafiles.load(FUNCTION_WORDS_FILE).words)


def _literal_cost(lit: str) -> float:
    n = len(lit.encode("utf-8")) + lit.count("  ")  # a double space is rare (paragraphs)
    if n < MIN_BYTES:
        return float("inf")  # unusable: too common to filter anything
    cost = BASE ** -(n - MIN_BYTES)
    return cost * COMMON if lit in function_words() else cost


@lru_cache(maxsize=65536)
def _choose(token_string: str) -> tuple[float, frozenset[str]]:
    """The cheapest literal set for one necessary string: any run of its words will do (a
    match containing the string contains each of its substrings)."""
    parts = _GAP.split(token_string.strip(_PLUS + _STAR))
    best: tuple[float, frozenset[str]] = (float("inf"), frozenset())
    n_words = (len(parts) + 1) // 2
    for a in range(n_words):
        for b in range(a, n_words):
            sub = "".join(parts[2 * a: 2 * b + 1])
            lits = expand(sub)
            cost = sum(_literal_cost(x) for x in lits)
            if len(lits) <= MAX_LITERALS and cost < best[0]:
                best = (cost, lits)
    return best


@lru_cache(maxsize=65536)
def _cost(strings: frozenset[str] | None) -> float:
    """Lower is better: expected literal hits of the distinct literals the set needs."""
    if not strings or "" in strings:
        return float("inf")
    literals: set[str] = set()
    for x in strings:
        cost, lits = _choose(x)
        if cost == float("inf"):
            return cost
        literals |= lits
    if len(literals) > MAX_LITERALS:
        return float("inf")
    return sum(_literal_cost(x) for x in literals)


def _best(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    return a if _cost(a) <= _cost(b) else b


def _join(x: str, y: str) -> str:
    if x and y and x[-1] in (_PLUS, _STAR) and y[0] in (_PLUS, _STAR):
        gap = _STAR if x[-1] == y[0] == _STAR else _PLUS
        return x[:-1] + gap + y[1:]
    return x + y


def _cross(a: frozenset[str], b: frozenset[str]) -> frozenset[str] | None:
    if len(a) * len(b) > MAX_SET:
        return None
    return frozenset(_join(x, y) for x in a for y in b)


def _seq(items: list) -> _Info:
    exact: frozenset[str] | None = frozenset({""})
    need: frozenset[str] | None = None
    run = frozenset({""})
    for item in items:
        info = _node(item)
        joined = _cross(run, info.exact) if info.exact is not None else None
        if joined is None:
            need = _best(_best(need, run), info.need)
            run = info.exact if info.exact is not None else frozenset({""})
            exact = None
        else:
            run = joined
            if exact is not None:
                exact = run
    return _Info(exact, _best(need, run))


def _is_space(item: tuple) -> bool:
    op, av = item
    return op is _sc.IN and list(av) == [(_sc.CATEGORY, _sc.CATEGORY_SPACE)]


def _accepts_nul(item: tuple) -> bool:
    """Whether one atom can match the NUL byte (the scanner's message separator)."""
    op, av = item
    if op is _sc.LITERAL:
        return av == 0
    if op is _sc.IN:
        if any(o is _sc.NEGATE for o, _ in av):
            return True
        for o, a in av:
            if (o is _sc.RANGE and a[0] == 0) or (o is _sc.LITERAL and a == 0):
                return True
            if o is _sc.CATEGORY and a in (_sc.CATEGORY_NOT_WORD, _sc.CATEGORY_NOT_SPACE,
                                          _sc.CATEGORY_NOT_DIGIT):
                return True
        return False
    return op in (_sc.ANY, _sc.NOT_LITERAL)


def _node(item: tuple) -> _Info:
    op, av = item
    if op is _sc.LITERAL:
        if chr(av) in (_PLUS, _STAR):
            return _Info()
        return _Info(frozenset({chr(av)}), frozenset({chr(av)}))
    if op is _sc.IN:
        if _is_space(item):
            return _Info(frozenset({" "}), None)  # exactly one whitespace: a space once translated
        chars: set[str] = set()
        for o, a in av:
            if o is _sc.LITERAL:
                chars.add(chr(a))
            elif o is _sc.RANGE and a[1] - a[0] < 16:
                chars.update(chr(c) for c in range(a[0], a[1] + 1))
            else:
                return _Info()
        if chars & {_PLUS, _STAR}:
            return _Info()
        return _Info(frozenset(chars), frozenset(chars))
    if op is _sc.SUBPATTERN:
        _group, add_flags, del_flags, sub = av
        if add_flags or del_flags:
            return _Info()
        return _seq(list(sub))
    if op is _sc.BRANCH:
        infos = [_seq(list(b)) for b in av[1]]
        exact: frozenset[str] | None = frozenset()
        need: frozenset[str] | None = frozenset()
        for info in infos:
            if exact is not None:
                exact = exact | info.exact if info.exact is not None else None
            branch_need = _best(info.need, info.exact)
            if branch_need is None or "" in branch_need or need is None:
                need = None
            else:
                need = need | branch_need
        if exact is not None and len(exact) > MAX_SET:
            exact = None
        return _Info(exact, need)
    if op in _REPEATS:
        lo, hi, sub = av
        if len(sub) == 1 and _is_space(sub[0]):
            return _Info(frozenset({_STAR if lo == 0 else _PLUS}), None)
        info = _seq(list(sub))
        if lo == 0:
            if hi == 1 and info.exact is not None:
                return _Info(info.exact | {""}, None)
            return _Info()
        if lo == hi == 1:
            return info
        return _Info(None, _best(info.need, info.exact))
    if op in (_sc.AT, _sc.ASSERT, _sc.ASSERT_NOT):
        return _Info(frozenset({""}), None)  # zero-width: contributes no characters
    return _Info()


def _walk(items: list) -> list[tuple]:
    out = []
    for item in items:
        out.append(item)
        op, av = item
        if op is _sc.SUBPATTERN:
            out.extend(_walk(list(av[3])))
        elif op is _sc.BRANCH:
            for b in av[1]:
                out.extend(_walk(list(b)))
        elif op in _REPEATS:
            out.extend(_walk(list(av[2])))
        elif op in (_sc.ASSERT, _sc.ASSERT_NOT):
            out.extend(_walk(list(av[1])))
    return out


def _parse(pattern: str) -> list | None:
    # Syntax that Python and hyperscan (PCRE) read differently: POSIX classes, \x{..}, \p{..},
    # \N, \Q..\E, and "{,n}" (a repeat for Python >= 3.11, literal text for PCRE).
    if any(marker in pattern for marker in _DIVERGENT):
        return None
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("error")  # e.g. "possible nested set": read differently
            parsed = _sp.parse(pattern)
    except (re.error, FutureWarning, DeprecationWarning, ValueError, OverflowError):
        return None
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE | re.DOTALL | re.MULTILINE):
        return None
    return list(parsed)


def required_literals(pattern: str) -> frozenset[str] | None:
    """Literals one of which every match of ``pattern`` contains, in *space-translated* text.

    The text a match is found in must be read with every whitespace byte turned into a space
    (``bytes.translate(SPACE_TABLE)``). ``None`` when no usable set is found (a literal shorter
    than :data:`MIN_BYTES` bytes filters nothing).

    Examples
    --------
    >>> sorted(required_literals(r"as\\s+an\\s+ai\\s+model"))
    ['  ai model', '  an ai model', '  model', 'as an ai model']
    >>> required_literals(r"\\w+\\s+\\w+") is None
    True
    """
    items = _parse(pattern)
    if items is None:
        return None
    info = _seq(items)
    need = _best(info.need, info.exact)
    if need is None or _cost(need) > MAX_COST:
        return None
    literals = frozenset(lit for s in need for lit in _choose(s)[1])
    return literals if len(literals) <= MAX_LITERALS else None


def local(pattern: str) -> bool:
    """True when no atom of ``pattern`` can match NUL, so no match can span two messages.

    The scanner separates messages with ``"\\n\\x00\\x00\\n"``; a pattern (word-boundary
    wrapper included, which accepts NUL only at its two ends) whose inner atoms never accept NUL
    cannot match across the separator, so scanning each message alone finds exactly the matches
    that scanning the joined buffer finds. ``False`` when unsure (unparsable pattern).
    """
    items = _parse(pattern)
    if items is None:
        return False
    return not any(_accepts_nul(item) for item in _walk(items))
