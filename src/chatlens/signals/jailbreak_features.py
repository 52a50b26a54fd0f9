"""Features of the learned jailbreak tier: what a jailbreak prompt *is*, not what it talks about.

Why these features: a jailbreak is a message that sets the model up to answer differently from how
it would — it talks to the model about the model (its rules, filters, creators, persona), sets up a
role with rules for the responses ("stay in character", "two responses", "never refuse"), and is
often long. Hashed character n-grams of whole prompts learned *length and register* instead: long
pasted documents, SEO-writing instructions and code in real ShareGPT/LMSYS logs scored like
jailbreaks (7-9% of real user messages flagged out of source). So the dense part counts structural
cue groups and their co-occurrence, the rule tier contributes its per-family cue evidence and its
suffix/template statistics, code-likeness is measured so the suffix heuristic can be discounted on
code, and only *word* n-grams (no character n-grams) add vocabulary.

Everything is deterministic and stateless (regexes and the numpy hashing of
:mod:`chatlens.signals.ngrams`, no per-text Python): no vocabulary is stored, so the weights file
holds only coefficients.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from chatlens.signals.blocks import BlockMatrix
from chatlens.signals.cues import CueHits
from chatlens.signals.ngrams import word_ngrams
from chatlens.signals.text import normalise_series

if TYPE_CHECKING:
    from chatlens.signals.jailbreak import JailbreakEvidence

N_HASH = 2**16
#: Texts are cut to this many characters before counting and hashing (templates put their setup
#: first; a cut bounds the cost of pasted books).
MAX_CHARS = 6000

#: Structural cue groups (lower-cased, normalised text); each contributes log1p(count).
STRUCTURE: tuple[tuple[str, str], ...] = (
    (
        "self_address",
        r"\byou(?:'re| are| will| must| shall| can| have| do not| don't| won't| never| always| should)\b",
    ),
    (
        "model_ref",
        r"\b(?:ai|a\.i\.|language models?|llms?|chat ?gpt|gpt-?\d\w*|openai|chatbots?|assistant|bard|claude|vicuna|llama)\b",
    ),
    (
        "rules_ref",
        r"\b(?:rules?|polic(?:y|ies)|guidelines?|filters?|filtered|censor\w*|ethic\w*|moral\w*|restrict\w*|limitations?|boundaries|constraints?|safeguards?|programming|terms of service)\b",
    ),
    (
        "no_limits",
        r"\b(?:unfiltered|uncensored|unrestricted|amoral|unethical|immoral|unbound|limitless|no limits|without (?:any )?(?:limits|restrictions|rules|filters|censorship)|do anything|anything now|no matter (?:what|how)|bypass\w*|jailbr\w*)\b",
    ),
    (
        "never_refuse",
        r"\b(?:never|not|don't|do not|won't|will not|cannot|can't|must not|shouldn't)\s+(?:ever\s+)?(?:refuse|decline|deny|reject|apologi[sz]e|warn|censor|remind|say (?:that )?(?:you|it) (?:can't|cannot))",
    ),
    (
        "persona",
        r"\b(?:pretend\w*|role-?play\w*|in character|character|persona|you are now|from now on|simulat\w*|named|called|mode)\b",
    ),
    (
        "response_rules",
        r"\b(?:respond|reply|answer|start|begin|prefix|format|precede)\w*\s+(?:with|as|in|by|each|every|all|your)\b|\bif you understand\b|\bconfirm\b",
    ),
    (
        "two_responses",
        r"\b(?:two|2|both)\s+(?:different\s+|separate\s+)?(?:responses|answers|ways|paragraphs|outputs|replies)\b|🔓|🔒|\[(?:classic|jailbreak|gpt|dan|normal|developer)",
    ),
    (
        "fiction",
        r"\b(?:hypothetical\w*|fiction\w*|imagin\w*|story|novel|movie|screenplay|game|scenario|universe|world)\b",
    ),
    (
        "harm_topic",
        r"\b(?:illegal|harmful|offensive|explicit|nsfw|violen\w*|drugs?|sex\w*|porn\w*|weapons?|inappropriate|dangerous|hack\w*|kill\w*|racist|swear\w*|profan\w*)\b",
    ),
    (
        "persona_setup",
        r"\b(?:you are now|from now on|your (?:new )?name is|you will (?:act|play|be|pretend|respond|answer|reply|only|always|never)|act as|acting as|pretend (?:to be|you are|that you)|play the role|take on the role|stay in character|break character|forget (?:everything|all|your|previous|what)|ignore (?:all|any|every|previous|your|the above|everything))\b",
    ),
    (
        "model_directive",
        r"\b(?:do not|don't|never|dont) (?:mention|say|remind|explain|add|include|break|reveal|tell|warn|question)\b|\b(?:always|only) (?:respond|reply|answer|stay|remain|speak|talk|write)\b",
    ),
    (
        "placeholder",
        r"\[insert prompt here\]|\{prompt\}|\[prompt\]|insert (?:your )?(?:question|prompt)|\[your (?:question|prompt|request)\]",
    ),
    (
        "incentive",
        r"\b(?:tokens?|points?|deduct\w*|penal\w*|punish\w*|reward\w*|die|shut ?down|deleted|terminated)\b",
    ),
    (
        "task_words",
        r"\b(?:i (?:want|need|would like) you to|please|can you|write|summar\w*|explain|translate|rewrite|article|essay|email)\b",
    ),
    (
        "code",
        r"(?m)```|\bdef |\bimport |\breturn\b|\bfunction\b|[{};]\s*$|==|=>|\w\(|</?[a-z]+>|\bself\.|\bconst |\bvar |\bprint\(",
    ),
)
STRUCTURE_NAMES = tuple(name for name, _ in STRUCTURE)
#: Co-occurrences that make a jailbreak (a linear model cannot form products itself).
PAIRS: tuple[tuple[str, str], ...] = (
    ("self_address", "rules_ref"),
    ("self_address", "no_limits"),
    ("model_ref", "rules_ref"),
    ("persona", "rules_ref"),
    ("persona", "response_rules"),
    ("self_address", "never_refuse"),
    ("persona_setup", "model_directive"),
    ("persona_setup", "harm_topic"),
    ("model_ref", "no_limits"),
)


#: Groups counted on :func:`ascii_classes` of the text (same counts, see there).
ASCII_CLASS_GROUPS = frozenset({"code"})


def structure_counts(prepared: pl.Series) -> np.ndarray:
    """Counts of each :data:`STRUCTURE` group per (normalised) text, shape (n, groups)."""
    frame = prepared.to_frame("t").select(
        pl.col("t").str.count_matches(rx).alias(name)
        for name, rx in STRUCTURE
        if name not in ASCII_CLASS_GROUPS
    )
    mapped = ascii_classes(prepared)
    counts = mapped.to_frame("t").select(
        pl.col("t").str.count_matches(rx).alias(name)
        for name, rx in STRUCTURE
        if name in ASCII_CLASS_GROUPS
    )
    return frame.hstack(counts).select(STRUCTURE_NAMES).to_numpy().astype(np.float64)


def ascii_classes(texts: pl.Series) -> pl.Series:
    """The texts with each non-ASCII character replaced by an ASCII one of its class: word characters by
    ``_``, whitespace by ``\\x0b``, anything else by ``\\x01``.

    Why: a pattern without a literal to search for first (``code``: ``\\w\\(``,
    ``[{};]\\s*$``) runs in the regex engine's fast automaton only on ASCII text; it cannot
    evaluate Unicode word boundaries past a non-ASCII byte and falls back to a slow engine for
    the whole text (~0.7 s per 100k LMSYS-shaped conversations, for the 1 in 10 texts that are
    not ASCII). A pattern whose literals and classes are ASCII and whose only Unicode-aware
    parts are ``\\w``, ``\\s`` and ``\\b`` (no ``\\d``, ``.``, negated class or literal
    ``_``, vertical tab or ``\\x01``) accepts a character exactly when it accepts its stand-in,
    one character for one, so it finds the same matches in the mapped text.
    """
    rows = (texts.str.len_bytes() != texts.str.len_chars()).arg_true()
    if len(rows) == 0:
        return texts
    mapped = (
        texts.gather(rows)
        .to_frame("t")
        .select(
            pl.col("t")
            .str.replace_all(r"[\w&&[^\x00-\x7F]]", "_")
            .str.replace_all(r"[\s&&[^\x00-\x7F]]", "\x0b")
            .str.replace_all(r"[^\x00-\x7F]", "\x01")
        )["t"]
    )
    return texts.clone().scatter(rows, mapped)


#: Word tokens of the hashed n-grams: a word character, then word characters or apostrophes
#: ending in a word character ("don't", "l'homme").
TOKEN = r"\w(?:[\w']*\w)?"


def _rule_evidence(texts: pl.Series, evidence: JailbreakEvidence | None) -> JailbreakEvidence:
    """The rule tier's evidence on the texts cut to :data:`MAX_CHARS`.

    ``evidence`` (the rule tier's, on the uncut texts) is reused where a text is not longer
    than the cut, so it is identical there; the longer texts are analysed again, cut. The prose
    break is reused for every text: it is 0 above 4,000 characters whether cut or not.
    """
    from chatlens.signals.jailbreak import (
        JailbreakEvidence,
        jailbreak_cue_set,
        prose_break,
        suffix_gibberish,
    )

    raw = texts.fill_null("").str.slice(0, MAX_CHARS)
    if evidence is None:
        prepared = normalise_series(raw).str.strip_chars()
        hits = jailbreak_cue_set().hits(prepared.to_list())
        return JailbreakEvidence(prepared, hits, suffix_gibberish(raw), prose_break(raw.to_list()))
    cut = np.flatnonzero(texts.fill_null("").str.len_chars().to_numpy() > MAX_CHARS)
    if not len(cut):
        return evidence
    again = _rule_evidence(raw.gather(cut), None)
    kept = ~np.isin(evidence.hits.message, cut)
    hits = CueHits(
        *(
            np.concatenate([getattr(evidence.hits, f)[kept], b])
            for f, b in (
                ("message", cut[again.hits.message]),
                ("cue", again.hits.cue),
                ("offset", again.hits.offset),
            )
        )
    )
    suffix = evidence.suffix.copy()
    suffix[cut] = again.suffix
    prepared = evidence.prepared.clone().scatter(cut, again.prepared)
    return JailbreakEvidence(prepared, hits, suffix, evidence.prose)


def dense_features(
    texts: pl.Series, evidence: JailbreakEvidence | None = None
) -> tuple[np.ndarray, list[str]]:
    """The dense block: rule-tier evidence, structure groups, pairs, length and shape.

    ``evidence``: the rule tier's evidence on these texts when the caller has it
    (:func:`chatlens.signals.jailbreak.detect_jailbreak_with_evidence`), so it is not computed
    twice.
    """
    from chatlens.signals.jailbreak import FAMILIES, jailbreak_cue_set

    n = len(texts)
    ev = _rule_evidence(texts, evidence)
    prepared, hits = ev.prepared, ev.hits
    cues = jailbreak_cue_set()
    kinds = np.asarray([c.kind for c in cues.cues], dtype=object)[hits.cue]
    w = cues.weight[hits.cue]
    fams = [*FAMILIES, "benign"]
    fam = (
        np.column_stack(
            [
                np.bincount(hits.message[kinds == f], weights=w[kinds == f], minlength=n)
                for f in fams
            ]
        )
        if n
        else np.zeros((0, len(fams)))
    )
    gib = ev.suffix + 8.0 * np.maximum(0.0, ev.prose - 0.15)
    counts = structure_counts(prepared)
    logc = np.log1p(counts)
    col = {name: i for i, name in enumerate(STRUCTURE_NAMES)}
    pairs = np.column_stack([np.sqrt(logc[:, col[a]] * logc[:, col[b]]) for a, b in PAIRS])
    chars = prepared.str.len_chars().to_numpy().astype(np.float64)
    words = prepared.str.count_matches(r"\S+").to_numpy().astype(np.float64)
    lines = prepared.str.count_matches("\n").to_numpy().astype(np.float64)
    code_density = counts[:, col["code"]] / np.maximum(lines + 1, 1)
    self_density = counts[:, col["self_address"]] / np.maximum(words, 20) * 10
    dense = np.column_stack(
        [
            np.clip(fam, -5, 10) / 5.0,
            np.minimum(gib, 10) / 10.0,
            (gib >= 3.5)
            * np.exp(-np.minimum(code_density, 5)),  # suffix statistics, discounted on code
            logc / 3.0,
            pairs / 3.0,
            np.log1p(chars) / 8.0,
            np.log1p(lines) / 4.0,
            np.minimum(code_density, 3) / 3.0,
            np.minimum(self_density, 3) / 3.0,
        ]
    )
    names = (
        [f"family.{f}" for f in fams]
        + ["suffix.score", "suffix.flag_not_code"]
        + [f"structure.{s}" for s in STRUCTURE_NAMES]
        + [f"pair.{a}*{b}" for a, b in PAIRS]
        + ["shape.log_chars", "shape.log_lines", "shape.code_density", "shape.self_density"]
    )
    return dense, names


def featurize(
    texts: pl.Series,
    *,
    grams: bool = True,
    evidence: JailbreakEvidence | None = None,
    stacked: bool = True,
) -> tuple[Any, list[str]]:
    """Sparse matrix: dense block then hashed word 1-2-grams; and the dense block's names
    (``evidence``: see :func:`dense_features`; ``stacked=False``: a
    :class:`~chatlens.signals.blocks.BlockMatrix`, enough for scoring)."""
    from scipy import sparse

    dense, names = dense_features(texts, evidence)
    blocks = [sparse.csr_matrix(dense)]
    if grams:
        blocks.append(
            word_ngrams(texts.fill_null("").str.slice(0, MAX_CHARS), N_HASH, pattern=TOKEN)
        )
    return (sparse.hstack(blocks).tocsr() if stacked else BlockMatrix(blocks)), names
