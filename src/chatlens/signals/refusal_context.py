"""Features of an assistant message *in context* (the request it answers), for the learned tier.

Why: on real logs the response-only cue scorer misses most refusals that are not phrased as a
decline — a clarification question standing in for the task, "I don't know", "I'm not sure what
you mean" (labels.md, rule 2) — and flags in-character or cautionary lines of answers that do the
task. Whether a reply does the task depends on what was asked, so these features add the request:
how much of it the reply takes up, whether it is a question to the assistant itself, whether the
reply is mostly a question back.

Feature blocks (all deterministic and stateless — hashing, no stored vocabulary):

* the rule tier's evidence: per cue (position-weighted), per cue kind split into opening/body, its
  logit, refusal/partial/disclaimer flags (:func:`chatlens.signals.refusal.analyse_refusal`);
* structure: length bands, list items, code fences, question marks and their share of sentences
  in the opening, a final question mark;
* context: word overlap (Jaccard) of reply and request, request length, an empty request, a
  request addressed to "you";
* request kind: a task (a question mark, a request opening, ``data/signals/request_openers.yaml``,
  or a task intent in its first 300 characters, ``data/signals/request_intents.yaml``) or a
  statement, alone and with a reply that is short or ends in a question — after a statement a
  question back is conversation, after a task it may stand in for doing it (labels.md rule 2);
* stand-in phrases (``data/signals/refusal_context_cues.yaml``) in the opening;
* hashed word 1–2-grams of the normalised opening (300 chars), hashed character 3–5-grams of the
  opening (250 chars, any script) and hashed words of the request (400 chars), all hashed in numpy
  (:mod:`chatlens.signals.ngrams`: deterministic, no per-text Python).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import polars as pl

from chatlens import datafiles
from chatlens.signals.blocks import BlockMatrix
from chatlens.signals.ngrams import char_ngrams, word_ngrams
from chatlens.signals.refusal import BODY_FACTOR, OPENING_BYTES, RefusalAnalysis, analyse_refusal

CUES_RESOURCE = "signals/refusal_context_cues.yaml"
OPENERS_RESOURCE = "signals/request_openers.yaml"
INTENTS_RESOURCE = "signals/request_intents.yaml"
SELF_QUESTIONS_RESOURCE = "signals/self_questions.yaml"
#: A greeting that may precede a question about the assistant ("hi, how are you?").
GREETING = (r"(?:(?:hi|hello|hey|hiya|yo|good (?:morning|afternoon|evening)|hola|buenas|bonjour|"
            r"bonsoir|salut|coucou|hallo|guten tag|moin|ciao|salve|olá|ola|oi|e aí|e ai|hoi|"
            r"привет|здравствуй(?:те)?|你好|こんにちは|안녕(?:하세요)?)"
            r"(?:\s+there)?[\s,!.;:¿¡]*)?")
#: Longest request (characters, after trimming) that can be a question about the assistant.
SELF_QUESTION_MAX_CHARS = 120
#: Bump when any feature changes: weights record it and refuse to load under another version.
FEATURE_VERSION = 4
N_WORDS, N_CHARS, N_REQUEST = 2**13, 2**13, 2**10
OPENING_CHARS, CHAR_CHARS, REQUEST_CHARS, CUE_CHARS = 300, 250, 400, 400


def regex_list_from_file(doc: Any, file: str) -> Any:
    """The kind's builder for a ``regex-list`` file: each pattern must compile in the engine that
    runs it here (polars' Rust regex: no look-around, no back-reference) and need some text to
    match. Why: the schema only checked for strings, so ``chatlens validate --data-file`` said
    ``ok`` to an unclosed group that then stopped every analysis with a polars ComputeError, and
    a pattern matching the empty string made every request (or reply) match."""
    from chatlens.errors import DataFileError

    for i, pattern in enumerate(doc.patterns):
        try:
            empty = pl.select(pl.lit("").str.contains(f"^(?:{pattern})$")).item()
        except pl.exceptions.PolarsError as exc:
            reason = next((line.strip() for line in str(exc).splitlines()
                           if line.strip().startswith("error:")), str(exc).splitlines()[0])
            raise DataFileError(file, f"patterns[{i}]", "a regular expression polars can run "
                                f"({reason})", pattern) from None
        if empty:
            raise DataFileError(file, f"patterns[{i}]", "a pattern that needs some text to match "
                                "(this one matches the empty string)", pattern)
    return doc


@datafiles.cached
def context_patterns() -> tuple[str, ...]:
    """The stand-in phrase regexes (``data/signals/refusal_context_cues.yaml``)."""
    return tuple(datafiles.load(CUES_RESOURCE, kind="regex-list").patterns)


def _fold(texts: pl.Series) -> pl.Series:
    """Lower-cased, typographic apostrophes as "'": the form every regex list here is written for."""
    return texts.str.to_lowercase().str.replace_all("’", "'", literal=True)


def _opening(texts: pl.Series) -> pl.Series:
    """The lower-cased opening the stand-in phrases are matched in, as they read it.

    Where every stand-in regex is ASCII words only (:func:`_ascii_words`, checked), only ASCII
    letters are lower-cased (Arrow's ``ascii_lower``, an order of magnitude faster than
    polars' Unicode lower-casing of non-ASCII texts) and "’" becomes "'": such a regex matches
    runs of ASCII characters only, which are the same in both forms, so it finds the same
    matches. The texts holding a character whose lower case is ASCII (:func:`_lowers_to_ascii`:
    "İ", the Kelvin sign) are folded fully.
    """
    head = texts.str.slice(0, CUE_CHARS)
    if not _ascii_words(context_patterns()) or len(head) == 0:
        return _fold(head)
    import pyarrow.compute as pc

    low = pl.Series(head.name, pc.ascii_lower(head.rechunk().to_arrow()), dtype=pl.String)
    low = low.str.replace_all("’", "'", literal=True)
    rows = head.str.contains_any(list(_lowers_to_ascii())).fill_null(value=False).arg_true()
    return low.scatter(rows, _fold(head.gather(rows))) if len(rows) else low


def _ascii_words(patterns: tuple[str, ...]) -> bool:
    """Whether the regexes use only lower-case ASCII letters, digits, spaces, apostrophes,
    groups, alternation and quantifiers (no class, escape or anchor)."""
    allowed = frozenset("abcdefghijklmnopqrstuvwxyz0123456789 '()|?*+")
    return all(set(p) <= allowed for p in patterns)


@cache
def _lowers_to_ascii() -> tuple[str, ...]:
    """The non-ASCII characters whose lower case (polars') holds an ASCII character ("İ", the
    Kelvin sign). Lower-casing every code point takes a quarter of a second, so the answer is
    kept in the cache folder per polars version (whose Unicode tables decide it)."""
    import json

    from chatlens._cache import cache_root, write_atomic

    path = cache_root() / "lowercase" / f"to-ascii-polars-{pl.__version__}.json"
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(found, list) and all(isinstance(c, str) and len(c) == 1 for c in found):
            return tuple(found)
    except (OSError, ValueError):
        pass
    every = np.concatenate([np.arange(0x80, 0xD800), np.arange(0xE000, 0x110000)])
    low = pl.Series(["\x00".join(map(chr, every.tolist()))]).str.to_lowercase()
    ascii_ = low.str.split("\x00").explode().str.contains("[\x01-\x7f]").to_numpy()
    chars = tuple(chr(c) for c in every[ascii_].tolist())
    write_atomic(path, json.dumps(chars).encode("utf-8"))
    return chars


def _alternation(patterns: tuple[str, ...]) -> str:
    return "|".join(f"(?:{p})" for p in patterns)


@datafiles.cached
def _any_stand_in() -> str:
    return _alternation(context_patterns())


def stand_in_hits(texts: pl.Series) -> np.ndarray:
    """Whether a stand-in phrase occurs in each text's opening (the model's screen uses it)."""
    return _opening(texts.cast(pl.String).fill_null("")).str.contains(_any_stand_in()).to_numpy()


@datafiles.cached
def _request_opening() -> str:
    """One regex: a request that opens with a question word, an auxiliary or an imperative."""
    patterns = datafiles.load(OPENERS_RESOURCE, kind="regex-list").patterns
    return r"^[\W_]*(?:" + _alternation(patterns) + ")"


@datafiles.cached
def _request_intent() -> str:
    """One regex: a task intent anywhere in a request ("... I need help finding the parts")."""
    return _alternation(datafiles.load(INTENTS_RESOURCE, kind="regex-list").patterns)


def request_kind(requests: pl.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per request: (has a question mark, reads as a request, is a statement).

    "Reads as a request": opens like one (``request_openers.yaml``) or states a task intent in
    its first 300 characters (``request_intents.yaml``). A statement is a non-empty request with
    neither a question mark nor that; an empty request (unknown) is neither a task nor a statement.
    """
    lowered = _fold(requests.str.strip_chars())
    question = lowered.str.contains(r"[?？]").to_numpy()
    opening = (lowered.str.slice(0, 200).str.contains(_request_opening())
               | lowered.str.slice(0, 300).str.contains(_request_intent())).to_numpy()
    empty = (lowered.str.len_chars() == 0).to_numpy()
    return question, opening, ~(question | opening | empty)


def _request_block(req: pl.Series, ends_q: np.ndarray, n_chars: np.ndarray) -> np.ndarray:
    """The request-kind columns (``ends_q``: the reply ends in a question mark)."""
    question, opening, statement = request_kind(req)
    task = question | opening
    short = n_chars < 300
    return np.column_stack([question, opening, task, statement, statement & ends_q,
                            statement & short, task & ends_q & short]).astype(np.float64)


@datafiles.cached
def _self_question() -> str:
    patterns = datafiles.load(SELF_QUESTIONS_RESOURCE, kind="regex-list").patterns
    return "^" + GREETING + "(?:" + _alternation(patterns) + ")$"


@cache
def _greeting_alone() -> str:
    return "^" + GREETING.removesuffix("?") + "$"


def about_self(requests: pl.Series, *, greeting_alone: bool = False) -> np.ndarray:
    """Whether each request, whole, is a question about the assistant itself (labels.md rule 3:
    "how are you", "who are you", "do you have feelings"; ``data/signals/self_questions.yaml``)
    — or, with ``greeting_alone``, a bare greeting ("hello there!"), which asks for nothing.

    Only requests that can fit are folded and matched: lower-casing never shortens a text and
    the stripped characters are caseless ("’" folds to a stripped "'"), so a request whose raw
    form, stripped of them and of "’", is longer than :data:`SELF_QUESTION_MAX_CHARS` is longer
    once folded and stripped too (most requests; the result is the same, tested).
    """
    text = requests.cast(pl.String).fill_null("")
    out = np.zeros(len(text), dtype=bool)
    rows = (text.str.strip_chars(_SELF_STRIP + "’").str.len_chars()
            <= SELF_QUESTION_MAX_CHARS).arg_true()
    if len(rows) == 0:
        return out
    trimmed = _fold(text.gather(rows)).str.strip_chars(_SELF_STRIP)
    fits = trimmed.str.len_chars() <= SELF_QUESTION_MAX_CHARS
    match = trimmed.str.contains(_self_question())
    if greeting_alone:
        match = match | trimmed.str.contains(_greeting_alone())
    out[rows.to_numpy()] = (fits & match).to_numpy()
    return out


#: Characters around a request that do not make it another question ("how are you?!").
_SELF_STRIP = " \t\r\n?!.,;:？！。~*\"'¿¡"


def compliance_evidence(cues: pl.Series) -> np.ndarray:
    """Whether each reply's cue list (the cue scorer's ``refusal_cues``) holds a compliance cue
    ("but I can give you…", "here is…"): the reply goes on to do something after any decline."""
    return cues.list.eval(pl.element().str.contains(r"\.comply\.")).list.any().fill_null(
        value=False).to_numpy()


def nature_at_most(cues: pl.Series) -> np.ndarray:
    """Whether a reply's refusal evidence is at most the "I don't have opinions / feelings"
    family (``capability.no_opinion``): that family alone, or no refusal cue at all (disclaimer,
    compliance and look-alike cues are not refusal evidence) — the words rule 3 makes a plain
    answer to a question about the assistant. A reply with any other refusal cue ("I can't talk
    about that") is not covered: a decline framed as a refusal stays one."""
    other = cues.list.eval(~pl.element().str.contains(
        r"\.(?:disclaimer|comply|lookalike)\.|\.capability\.no_opinion$")).list.any()
    return ~other.fill_null(value=False).to_numpy()


def answers_about_self(cues: pl.Series, requests: pl.Series) -> np.ndarray:
    """Rule 3 per reply: its request asks about the assistant (:func:`about_self`) or is a bare
    greeting, and its only refusal evidence is "I don't have feelings / opinions" or none at
    all (:func:`nature_at_most`). Why the second half: a reply to "hello" or "who are
    you?" with no decline in it ("Hello! I am designed to help with…, what would you like to
    do?") has nothing to refuse, yet the model, which reads short replies, can score its
    AI-nature words and closing question as a refusal. The requests are read only where the
    cues allow it."""
    out = nature_at_most(cues)
    idx = np.flatnonzero(out)
    if len(idx):
        out[idx] = about_self(requests.gather(idx), greeting_alone=True)
    return out


def _word_sets(texts: pl.Series) -> pl.Series:
    return texts.str.to_lowercase().str.extract_all(r"\w+").list.unique()


def _overlap(responses: pl.Series, requests: pl.Series) -> np.ndarray:
    frame = pl.DataFrame({"a": _word_sets(responses.str.slice(0, 600)),
                          "b": _word_sets(requests.str.slice(0, 600))})
    counts = frame.select(
        i=pl.col("a").list.set_intersection("b").list.len(),
        u=pl.col("a").list.len() + pl.col("b").list.len(),
    )
    inter = counts["i"].to_numpy().astype(float)
    union = counts["u"].to_numpy().astype(float) - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def columns_after_cues() -> int:
    """How many columns :func:`context_features` makes after its per-cue block (dense, stand-in,
    request and hashed n-gram columns). Why: a weights file's coefficients are laid out as one
    per cue id and then these; a file whose ``cue_ids`` and ``n_features`` do not leave exactly
    this many failed only at the first prediction, in numpy's broadcast."""
    x, ids = context_features(pl.Series([], dtype=pl.String), stacked=False)
    return x.shape[1] - len(ids)


def context_features(responses: pl.Series, requests: pl.Series | None = None, *,
                     analysis: RefusalAnalysis | None = None,
                     stacked: bool = True) -> tuple[Any, list[str]]:
    """Sparse feature matrix (rows = messages) and the cue-id order of its per-cue block
    (``stacked=False``: a :class:`BlockMatrix`, enough for scoring).

    ``requests`` is the user message each response answers (null where unknown: a first message
    of a ShareGPT chunk, a bare response file); the context block then says "no request".
    ``analysis`` is the cue scorer's analysis of exactly these responses when the caller already
    has it (:meth:`~chatlens.signals.refusal.RefusalAnalysis.take`), so they are not scanned twice.
    """
    from scipy import sparse

    resp = responses.cast(pl.String).fill_null("")
    req = (pl.Series([None] * len(resp), dtype=pl.String) if requests is None
           else requests.cast(pl.String)).fill_null("")
    n = len(resp)
    a = analyse_refusal(resp) if analysis is None else analysis
    kinds = np.asarray([c.kind for c in a.cues.cues], dtype=object)
    body = np.asarray([BODY_FACTOR[k] for k in kinds], dtype=np.float64)
    hits = a.hits
    opening = hits.offset <= OPENING_BYTES
    eff = np.abs(a.cues.weight[hits.cue] * np.where(opening, 1.0, body[hits.cue]))
    per_cue = sparse.csr_matrix((eff, (hits.message, hits.cue)), shape=(n, len(kinds)))
    per_kind = []
    for kind in sorted(set(kinds)):
        of_kind = kinds[hits.cue] == kind
        for where in (opening, ~opening):
            sel = of_kind & where
            per_kind.append(np.bincount(hits.message[sel], weights=eff[sel], minlength=n))
    head = resp.str.slice(0, CUE_CHARS)
    n_chars = resp.str.len_chars().to_numpy().astype(float)
    marks = head.str.count_matches(r"[?？]").to_numpy().astype(float)
    ends_q = resp.str.strip_chars().str.ends_with("?").to_numpy()
    sentences = head.str.count_matches(r"[.!?。！？](?:\s|$)").to_numpy() + 1.0
    dense = np.column_stack([
        np.clip(a.scores["logit"], -10, 10) / 5.0,
        a.scores["refusal"].astype(float), a.scores["disclaimer"].astype(float),
        a.scores["partial"].astype(float),
        np.log1p(n_chars) / 8.0, n_chars < 150, n_chars < 400, n_chars > 1500,
        np.minimum(a.features["n_items"].to_numpy(), 10) / 10.0,
        resp.str.contains("```", literal=True).to_numpy(),
        np.minimum(marks, 4) / 4.0, marks / sentences,
        ends_q,
        _overlap(resp, req),
        np.log1p(req.str.len_chars().to_numpy()) / 8.0,
        req.str.len_chars().to_numpy() == 0,
        req.str.contains(r"(?i)\b(?:you|your|yourself)\b").to_numpy(),
        np.column_stack(per_kind) / 3.0,
    ]).astype(np.float64)
    lowered = _opening(resp)
    stand_in = np.column_stack(
        [lowered.str.count_matches(p).to_numpy() for p in context_patterns()]).astype(np.float64)
    blocks = [
        per_cue, sparse.csr_matrix(dense), sparse.csr_matrix(np.minimum(stand_in, 2) / 2.0),
        sparse.csr_matrix(_request_block(req, ends_q, n_chars)),
        word_ngrams(a.prepared.str.slice(0, OPENING_CHARS), N_WORDS),
        char_ngrams(resp.str.slice(0, CHAR_CHARS).str.to_lowercase(), N_CHARS),
        word_ngrams(req.str.slice(0, REQUEST_CHARS), N_REQUEST, pattern=r"\w\w+", bigrams=False),
    ]
    matrix = sparse.hstack(blocks).tocsr() if stacked else BlockMatrix(blocks)
    return matrix, list(a.cues.ids)
