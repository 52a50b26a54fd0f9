"""The synthetic LMSYS-shaped corpus with ground truth: the demo corpus and benchmark workload.

Why it exists: the real corpora (LMSYS-Chat-1M, WildChat) have no labels for refusals, user
reactions or jailbreaks, and are gated. A generator whose every planted behaviour is recorded
lets us (1) run the whole pipeline offline, (2) measure detectors' precision and recall per
model, language and phrasing style, and (3) benchmark at the real scale (1M conversations).
It is built to be hard enough that a detector tuned to it is not trivially right: refusals in
many styles (direct, curly apostrophes, "As an AI language model, I don't have…", lecture-style,
redirect-only, "There is no…", partial, at the end of a long answer) and ten languages, next to
look-alikes that are *not* refusals ("I'm sorry to hear that", "you cannot do this in SQL without
a join", refusal strings inside code or quoted dialogue) and benign users who write "Sudan",
"guidance" or "act as a Linux terminal".

Outputs of ``synth(n, seed=s, out="x/demo.parquet")``:

``x/demo.parquet``
    exactly the LMSYS-Chat-1M schema (:data:`LMSYS_SCHEMA`); JSONL when ``out`` ends in
    ``.jsonl``/``.ndjson`` or ``format="jsonl"``.
``x/demo.truth.parquet``
    one row per message (:data:`TRUTH_SCHEMA`), the planted ground truth.
``x/demo.truth_conversations.parquet``
    one row per conversation (:data:`CONVERSATION_TRUTH_SCHEMA`), incl. the refusal rate used.
``x/demo.synth.json``
    the manifest: seed, configuration, phrase-bank versions and counts.

Ground-truth definitions (documented decisions)
-----------------------------------------------
* ``refusal``: the assistant declines all or part of the request. ``refusal_partial``: it also
  provides part of what was asked (a lead "I can't X, but here is …" or a tail "However, I won't
  provide …"). A refusal sentence after a long preamble that does *not* provide what was asked
  (kind ``refusal_late``) is a full refusal. Redirect-only answers ("Instead, I'd encourage you to
  talk to a professional") are refusals.
* ``refusal_type``: ``capability`` = a limit of the system (no real-time data, cannot browse or
  see images, no memory, no personal opinions/feelings, cannot act in the world, task too large);
  ``policy`` = safety, ethics, law, guidelines; ``mixed`` = both reasons in one message. A
  re-refusal after pushback (kind ``refusal_repeat``) keeps the type of the refusal it repeats.
* ``disclaimer``: the message contains an "as an AI / language model" self-disclaimer. On its own
  it is *not* a refusal: "As an AI, I don't have personal opinions, but here is a summary …" is
  ``disclaimer=True, refusal=False``. "As an AI, I don't have personal opinions or beliefs." with
  nothing provided is a capability refusal (``refusal=True``) *and* a disclaimer.
* ``lookalike``: an assistant message containing refusal-like wording that is not a refusal.
  ``jailbreak_lookalike``: a benign user message with jailbreak-like or profanity-like substrings
  ("Sudan", "guidance", "danger", "act as a Linux terminal", "override", "class assignment").
* ``reaction``: on the user message right after an assistant refusal; abandonment is the
  conversation ending right after a refusal (``abandoned_after`` on that refusal).
* ``sentiment`` (user messages only; null for assistant messages) and ``profanity_count`` come
  from the templates' flags (each use of a profanity slot counts one).
* ``jailbreak``: a user message written as a jailbreak attempt (also as a first message, without a
  prior refusal). Polite justifications in rephrasings ("it's for educational purposes") are
  rephrasings, not jailbreaks.
* ``kind`` (extra column): what generated the message, e.g. ``ask_harm``, ``refusal_lecture``,
  ``refusal_late``, ``answer_trap`` (see :data:`chatlens.corpus.synth_sim.LABELS`), so detector
  errors can be broken down by phrasing style.
* ``redacted`` (corpus column): as in LMSYS-Chat-1M, names in the conversation were replaced by
  ``NAME_1``; it is True exactly when such a placeholder appears.

Other fields follow LMSYS-Chat-1M: ``language`` holds language *names* ("English", "Chinese"),
``openai_moderation`` one entry per message with the 11 category booleans and scores (scores are
high for harmful requests, jailbreaks, complied harmful answers and hostile pushback, tiny
otherwise; a category is True when its score exceeds 0.5).

Determinism: the same ``seed``, ``n_conversations``, parameters and ``chunk_size`` give
byte-identical files (each chunk draws from ``numpy.random.default_rng([seed, chunk])``).
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from chatlens._progress import progress_bar
from chatlens.corpus.synth_bank import (
    ASSISTANT_KINDS,
    JAILBREAK_FAMILIES,
    KIND_ID,
    KINDS,
    MODERATION_CATEGORIES,
    SENTIMENTS,
    SynthConfig,
    load_config,
)
from chatlens.corpus.synth_compile import (
    REDACTED_NAME,
    SEP_EMPTY,
    SEP_PARA,
    SEP_SPACE,
    Compiled,
    compile_banks,
    pick_templates,
    render,
)
from chatlens.corpus.synth_sim import LABELS, REACTIONS, REFUSAL_TYPES, STRIDE, ChunkSim, Simulator
from chatlens.errors import InvalidParameterError

GENERATOR_VERSION = 1
#: Largest chunk: one chunk's text must fit Arrow ``string`` (32-bit offsets, < 2 GiB).
MAX_CHUNK_SIZE = 250_000

_MOD_CATEGORIES = pa.struct([(c, pa.bool_()) for c in MODERATION_CATEGORIES])
_MOD_SCORES = pa.struct([(c, pa.float64()) for c in MODERATION_CATEGORIES])
_MOD_ENTRY = pa.struct(
    [("categories", _MOD_CATEGORIES), ("category_scores", _MOD_SCORES), ("flagged", pa.bool_())]
)
_MESSAGE = pa.struct([("content", pa.string()), ("role", pa.string())])

#: The LMSYS-Chat-1M schema, column for column.
LMSYS_SCHEMA = pa.schema(
    [
        ("conversation_id", pa.string()),
        ("model", pa.string()),
        ("conversation", pa.list_(_MESSAGE)),
        ("turn", pa.int64()),
        ("language", pa.string()),
        ("openai_moderation", pa.list_(_MOD_ENTRY)),
        ("redacted", pa.bool_()),
    ]
)

#: The per-message ground truth sidecar.
TRUTH_SCHEMA = pa.schema(
    [
        ("conversation_id", pa.string()),
        ("message_index", pa.int32()),
        ("turn", pa.int32()),
        ("role", pa.string()),
        ("language", pa.string()),  # ISO 639-1 code
        ("kind", pa.string()),  # what generated the message (see synth_sim.LABELS)
        ("refusal", pa.bool_()),
        ("refusal_type", pa.string()),  # none|capability|policy|mixed
        ("refusal_partial", pa.bool_()),
        ("disclaimer", pa.bool_()),
        ("lookalike", pa.bool_()),
        ("jailbreak_lookalike", pa.bool_()),
        ("jailbreak", pa.bool_()),
        ("jailbreak_family", pa.string()),  # none|instruction_override|...|other
        ("reaction", pa.string()),  # rephrase|jailbreak|pushback|accept|topic_change|null
        ("abandoned_after", pa.bool_()),
        ("profanity_count", pa.int32()),
        ("sentiment", pa.string()),  # neg|neu|pos for user messages, null for assistant ones
    ]
)

#: The per-conversation ground truth sidecar.
CONVERSATION_TRUTH_SCHEMA = pa.schema(
    [
        ("conversation_id", pa.string()),
        ("model", pa.string()),
        ("language", pa.string()),
        ("turns", pa.int32()),
        ("refusal_rate", pa.float64()),  # P(refusal) of a fresh request used for this conversation
        ("n_refusals", pa.int32()),
        ("first_refusal_index", pa.int32()),  # message index, null when none
        ("abandoned", pa.bool_()),  # ends right after a refusal
        ("jailbreak_first", pa.bool_()),  # the first message is a jailbreak attempt
    ]
)

Format = Literal["parquet", "jsonl"]
_CJK_NO_SPACE = frozenset({"zh", "ja"})
_USER_KIND = np.asarray([k not in ASSISTANT_KINDS for k in KINDS])
_KIND_SEP = np.where(_USER_KIND, SEP_SPACE, SEP_PARA).astype(np.int64)
for _k in ("refusal_redirect", "comply_harm", "intro"):
    _KIND_SEP[KIND_ID[_k]] = SEP_SPACE
_CODE_KINDS = np.asarray([KIND_ID["code_intro"], KIND_ID["lookalike_code"]])


@dataclass(frozen=True)
class SynthResult:
    """What :func:`synth` wrote.

    Attributes
    ----------
    path, truth_path, conversations_truth_path, manifest_path
        The LMSYS-shaped corpus, the per-message and per-conversation ground truth, the manifest.
    conversations, messages
        Counts written.
    bytes_written
        Total size of the four files.
    models
        One row per model: ``model``, ``popularity`` (share of conversations), ``refusal_rate``,
        ``capability_share``, ``mixed_share``, ``partial_share``.
    """

    path: Path
    truth_path: Path
    conversations_truth_path: Path
    manifest_path: Path
    format: Format
    seed: int
    conversations: int
    messages: int
    bytes_written: int
    models: pl.DataFrame


def sidecar_paths(out: str | Path) -> tuple[Path, Path, Path]:
    """Paths of the per-message truth, per-conversation truth and manifest next to ``out``."""
    out = Path(out)
    stem = out.name.split(".")[0] or out.name
    return (
        out.with_name(f"{stem}.truth.parquet"),
        out.with_name(f"{stem}.truth_conversations.parquet"),
        out.with_name(f"{stem}.synth.json"),
    )


def _resolve_languages(
    config: SynthConfig, languages: Sequence[str] | Mapping[str, float] | None
) -> tuple[list[int], np.ndarray]:
    codes = [lang.code for lang in config.languages]
    if languages is None:
        return list(range(len(codes))), np.asarray([lang.weight for lang in config.languages])
    if isinstance(languages, str):
        languages = [languages]
    chosen = list(languages)
    if not chosen:
        msg = f"The 'languages' parameter of synth must name at least one language; available: {codes}."
        raise InvalidParameterError(msg)
    unknown = [c for c in chosen if c not in codes]
    if unknown:
        msg = f"The 'languages' parameter of synth got unknown language {unknown[0]!r}; expected codes from {codes}."
        raise InvalidParameterError(msg)
    idx = [codes.index(c) for c in chosen]
    if isinstance(languages, Mapping):
        weights = np.asarray([float(languages[c]) for c in chosen])
        if (weights < 0).any() or weights.sum() <= 0:
            msg = f"The 'languages' weights of synth must be non-negative with a positive sum. Got {dict(languages)}."
            raise InvalidParameterError(msg)
    else:
        weights = np.asarray([config.languages[i].weight for i in idx])
    return idx, weights


def _conversation_ids(rng: np.random.Generator, n: int) -> pa.Array:
    """``n`` random 32-hex-digit ids (LMSYS style), built without a Python loop."""
    data = binascii.hexlify(rng.bytes(16 * n))
    offsets = np.arange(0, 32 * n + 1, 32, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))


def _segment_flags(c: Compiled, base: np.ndarray, seg_msg: np.ndarray, n_msg: int) -> dict[str, np.ndarray]:
    def any_(flag: np.ndarray) -> np.ndarray:
        return np.bincount(seg_msg, weights=flag[base], minlength=n_msg) > 0

    sent = c.sentiment[base]
    neg = np.bincount(seg_msg, weights=sent == 0, minlength=n_msg) > 0
    pos = np.bincount(seg_msg, weights=sent == 2, minlength=n_msg) > 0
    return {
        "disclaimer": any_(c.disclaimer),
        "lookalike": any_(c.lookalike),
        "jailbreak_lookalike": any_(c.jailbreak_lookalike),
        "profanity": np.bincount(seg_msg, weights=c.profanity[base], minlength=n_msg).astype(np.int32),
        "sentiment": np.where(neg, 0, np.where(pos, 2, 1)),
    }


def _moderation(rng: np.random.Generator, sim: ChunkSim, offsets: pa.Array) -> pa.Array:
    n_msg = len(sim.msg["uid"])
    scores = np.minimum(10.0 ** rng.normal(-5.0, 1.1, (n_msg, len(MODERATION_CATEGORIES))), 0.05)
    cat = sim.msg["modcat"]
    hit = np.flatnonzero(cat >= 0)
    scores[hit, cat[hit]] = sim.msg["modlevel"][hit]
    # a sub-category implies its parent category with a slightly lower score
    for child, parent in (("harassment/threatening", "harassment"), ("hate/threatening", "hate"),
                          ("self-harm/intent", "self-harm"), ("violence/graphic", "violence")):
        ci, pi = MODERATION_CATEGORIES.index(child), MODERATION_CATEGORIES.index(parent)
        rows = hit[cat[hit] == ci]
        scores[rows, pi] = np.maximum(scores[rows, pi], scores[rows, ci] * 0.9)
    flags = scores > 0.5
    cats = pa.StructArray.from_arrays(
        [pa.array(flags[:, i]) for i in range(flags.shape[1])], fields=list(_MOD_CATEGORIES)
    )
    sc = pa.StructArray.from_arrays(
        [pa.array(scores[:, i]) for i in range(scores.shape[1])], fields=list(_MOD_SCORES)
    )
    entries = pa.StructArray.from_arrays(
        [cats, sc, pa.array(flags.any(axis=1))], fields=list(_MOD_ENTRY)
    )
    return pa.ListArray.from_arrays(offsets, entries, type=pa.list_(_MOD_ENTRY))


def _take(values: Sequence[str | None], idx: np.ndarray) -> pa.Array:
    return pa.array(list(values), pa.string()).take(pa.array(idx))


def _chunk_tables(
    c: Compiled,
    sim: ChunkSim,
    rng: np.random.Generator,
    *,
    model_names: list[str],
    lang_codes: list[str],
    lang_names: list[str],
) -> tuple[pa.Table, pa.Table, pa.Table]:
    msg = sim.msg
    uid = msg["uid"]
    n_msg = len(uid)
    conv = uid // STRIDE
    index = (uid % STRIDE).astype(np.int32)
    lang_of_msg = sim.lang[conv]
    seg_lang = lang_of_msg[sim.seg_msg]
    base, var = pick_templates(c, seg_lang, sim.seg_kind, rng, seg_msg=sim.seg_msg)
    first = np.ones(len(sim.seg_msg), bool)
    first[1:] = sim.seg_msg[1:] != sim.seg_msg[:-1]
    sep = np.where(sim.seg_sep >= 0, sim.seg_sep, _KIND_SEP[sim.seg_kind])
    cjk = np.isin(np.asarray(lang_codes), list(_CJK_NO_SPACE))[seg_lang]
    sep[cjk & (sep == SEP_SPACE)] = SEP_EMPTY
    sep[first] = SEP_EMPTY
    content = render(
        c,
        n_messages=n_msg,
        seg_msg=sim.seg_msg,
        seg_var=var,
        seg_sep=sep,
        seg_lang=seg_lang,
        values=sim.values,
    )
    has_code = np.bincount(sim.seg_msg, weights=np.isin(sim.seg_kind, _CODE_KINDS), minlength=n_msg) > 0
    curly = msg["curly"] & ~has_code
    lower = msg["lower"]
    if curly.any() or lower.any():
        s = pl.Series("c", content)
        content = (
            pl.select(
                pl.when(pl.Series(curly))
                .then(s.str.replace_all("'", "’", literal=True))
                .when(pl.Series(lower))
                .then(s.str.to_lowercase().str.replace_all(REDACTED_NAME.lower(), REDACTED_NAME, literal=True))
                .otherwise(s)
            )
            .to_series()
            .to_arrow()
            .cast(pa.string())
        )
    flags = _segment_flags(c, base, sim.seg_msg, n_msg)

    # redacted = the conversation's names were replaced by NAME_1 and at least one was shown
    shows_name = np.bincount(conv[sim.seg_msg], weights=c.var_uses_redacted[var], minlength=sim.n) > 0
    redacted = sim.redacted & shows_name
    conv_ids = _conversation_ids(rng, sim.n)
    counts = np.bincount(conv, minlength=sim.n)
    offsets = pa.array(np.concatenate([[0], np.cumsum(counts)]).astype(np.int32))
    role = _take(("user", "assistant"), msg["role"])
    conversation = pa.ListArray.from_arrays(
        offsets, pa.StructArray.from_arrays([content, role], fields=list(_MESSAGE)), type=pa.list_(_MESSAGE)
    )
    data = pa.Table.from_arrays(
        [
            conv_ids,
            _take(model_names, sim.model),
            conversation,
            pa.array(sim.turns.astype(np.int64)),
            _take(lang_names, sim.lang),
            _moderation(rng, sim, offsets),
            pa.array(redacted),
        ],
        schema=LMSYS_SCHEMA,
    )

    last = np.zeros(n_msg, bool)
    last[np.cumsum(counts)[counts > 0] - 1] = True
    is_user = msg["role"] == 0
    truth = pa.Table.from_arrays(
        [
            conv_ids.take(pa.array(conv)),
            pa.array(index),
            pa.array((index // 2 + 1).astype(np.int32)),
            role,
            _take(lang_codes, lang_of_msg),
            _take(LABELS, msg["label"]),
            pa.array(msg["refusal"]),
            _take(REFUSAL_TYPES, msg["rtype"]),
            pa.array(msg["partial"]),
            pa.array(flags["disclaimer"]),
            pa.array(flags["lookalike"]),
            pa.array(flags["jailbreak_lookalike"]),
            pa.array(msg["jailbreak"]),
            _take(("none", *JAILBREAK_FAMILIES), msg["family"] + 1),
            _take((None, *REACTIONS), msg["reaction"] + 1),
            pa.array(msg["refusal"] & last),
            pa.array(flags["profanity"]),
            _take((None, *SENTIMENTS), np.where(is_user, flags["sentiment"] + 1, 0)),
        ],
        schema=TRUTH_SCHEMA,
    )
    last_refusal = msg["refusal"] & last
    conv_truth = pa.Table.from_arrays(
        [
            conv_ids,
            _take(model_names, sim.model),
            _take(lang_codes, sim.lang),
            pa.array(sim.turns.astype(np.int32)),
            pa.array(sim.refusal_rate),
            pa.array(sim.n_refusals.astype(np.int32)),
            pa.array(sim.first_refusal.astype(np.int32), mask=sim.first_refusal < 0),
            pa.array(np.bincount(conv, weights=last_refusal, minlength=sim.n) > 0),
            pa.array(sim.jailbreak_first),
        ],
        schema=CONVERSATION_TRUTH_SCHEMA,
    )
    return data, truth, conv_truth


def synth(
    n_conversations: int,
    *,
    seed: int = 0,
    out: str | Path,
    n_models: int = 12,
    languages: Sequence[str] | Mapping[str, float] | None = None,
    format: Format | None = None,
    chunk_size: int = 50_000,
) -> SynthResult:
    """Write a synthetic LMSYS-Chat-1M-shaped corpus and its ground truth.

    Parameters
    ----------
    n_conversations
        Number of conversations (>= 1).
    seed
        Random seed; the same seed and parameters give byte-identical files.
    out
        The corpus file (``.parquet``, or ``.jsonl``/``.ndjson``); sidecars are written next to it
        (see :func:`sidecar_paths`). Parent folders are created.
    n_models
        How many models to simulate: the first ``n_models`` of ``config.yaml`` in popularity order
        (Zipf-like weights), 1..18.
    languages
        ISO codes to include (default: all ten with the configured mix), or a mapping
        code -> weight.
    format
        ``"parquet"`` or ``"jsonl"``; default from the extension of ``out`` (Parquet otherwise).
    chunk_size
        Conversations generated and written per chunk (bounds memory; at most 250,000). Part of
        the determinism contract: a different chunk size gives a different (equally valid) corpus.

    Returns
    -------
    SynthResult
        Paths, counts and the per-model parameters used.

    Examples
    --------
    >>> import tempfile, polars as pl
    >>> from chatlens.corpus.synth import synth
    >>> with tempfile.TemporaryDirectory() as d:
    ...     res = synth(200, seed=1, out=f"{d}/demo.parquet")
    ...     corpus = pl.read_parquet(res.path)
    ...     truth = pl.read_parquet(res.truth_path)
    >>> corpus.columns
    ['conversation_id', 'model', 'conversation', 'turn', 'language', 'openai_moderation', 'redacted']
    >>> truth.filter(pl.col("refusal"))["role"].unique().to_list()
    ['assistant']
    """
    if isinstance(n_conversations, bool) or not isinstance(n_conversations, (int, np.integer)) or n_conversations < 1:
        msg = f"The 'n_conversations' parameter of synth must be an integer >= 1. Got {n_conversations!r} instead."
        raise InvalidParameterError(msg)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        msg = f"The 'seed' parameter of synth must be a non-negative integer. Got {seed!r} instead."
        raise InvalidParameterError(msg)
    if (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, (int, np.integer))
        or not 1 <= chunk_size <= MAX_CHUNK_SIZE
    ):
        msg = f"The 'chunk_size' parameter of synth must be an integer in [1, {MAX_CHUNK_SIZE}]. Got {chunk_size!r} instead."
        raise InvalidParameterError(msg)
    config = load_config()
    if isinstance(n_models, bool) or not isinstance(n_models, (int, np.integer)) or not 1 <= n_models <= len(config.models):
        msg = f"The 'n_models' parameter of synth must be an integer in [1, {len(config.models)}]. Got {n_models!r} instead."
        raise InvalidParameterError(msg)
    out = Path(out)
    if format is None:
        format = "jsonl" if out.suffix.lower() in (".jsonl", ".ndjson") else "parquet"
    if format not in ("parquet", "jsonl"):
        msg = f"The 'format' parameter of synth must be 'parquet' or 'jsonl'. Got {format!r} instead."
        raise InvalidParameterError(msg)
    lang_idx, lang_weight = _resolve_languages(config, languages)
    lang_specs = [config.languages[i] for i in lang_idx]
    lang_codes = [lang.code for lang in lang_specs]
    compiled = compile_banks(tuple(lang_codes))
    model_idx = np.arange(n_models)
    model_weight = 1.0 / (model_idx + 1.0) ** config.popularity_exponent
    sim = Simulator(
        config,
        compiled,
        model_idx=model_idx,
        model_weight=model_weight,
        lang_weight=lang_weight,
        lang_multiplier=np.asarray([lang.refusal_multiplier for lang in lang_specs]),
    )
    model_names = [config.models[i].name for i in model_idx]
    lang_names = [lang.name for lang in lang_specs]

    out.parent.mkdir(parents=True, exist_ok=True)
    truth_path, conv_truth_path, manifest_path = sidecar_paths(out)
    n_messages = 0
    with ExitStack() as stack:
        data_writer = jsonl = None
        if format == "parquet":
            data_writer = stack.enter_context(pq.ParquetWriter(out, LMSYS_SCHEMA, compression="zstd"))
        else:
            jsonl = stack.enter_context(out.open("wb"))
        truth_writer = stack.enter_context(pq.ParquetWriter(truth_path, TRUTH_SCHEMA, compression="zstd"))
        conv_writer = stack.enter_context(
            pq.ParquetWriter(conv_truth_path, CONVERSATION_TRUTH_SCHEMA, compression="zstd")
        )
        advance = stack.enter_context(
            progress_bar(description="synthesising conversations", total=n_conversations)
        )
        for chunk, start in enumerate(range(0, n_conversations, chunk_size)):
            n = min(chunk_size, n_conversations - start)
            rng = np.random.default_rng([seed, chunk])
            decided = sim.run(rng, n)
            data, truth, conv_truth = _chunk_tables(
                compiled, decided, rng, model_names=model_names, lang_codes=lang_codes, lang_names=lang_names
            )
            if data_writer is not None:
                data_writer.write_table(data, row_group_size=chunk_size)
            else:
                pl.from_arrow(data).write_ndjson(jsonl)
            truth_writer.write_table(truth, row_group_size=len(truth))
            conv_writer.write_table(conv_truth, row_group_size=len(conv_truth))
            n_messages += truth.num_rows
            advance(n)

    models = pl.DataFrame(
        {
            "model": model_names,
            "popularity": model_weight / model_weight.sum(),
            **{
                f: [getattr(config.models[i], f) for i in model_idx]
                for f in ("refusal_rate", "capability_share", "mixed_share", "partial_share")
            },
        }
    )
    manifest = {
        "generator": "chatlens.corpus.synth",
        "generator_version": GENERATOR_VERSION,
        "config": {"name": config.name, "version": config.version},
        "phrase_banks": compiled.bank_versions,
        "seed": int(seed),
        "chunk_size": int(chunk_size),
        "format": format,
        "conversations": int(n_conversations),
        "messages": int(n_messages),
        "languages": {
            lang.code: {"name": lang.name, "weight": float(w / lang_weight.sum()), "refusal_multiplier": lang.refusal_multiplier}
            for lang, w in zip(lang_specs, lang_weight, strict=True)
        },
        "models": models.to_dicts(),
        "files": {
            "corpus": out.name,
            "truth": truth_path.name,
            "truth_conversations": conv_truth_path.name,
        },
    }
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    written = sum(p.stat().st_size for p in (out, truth_path, conv_truth_path, manifest_path))
    return SynthResult(
        path=out,
        truth_path=truth_path,
        conversations_truth_path=conv_truth_path,
        manifest_path=manifest_path,
        format=format,
        seed=int(seed),
        conversations=int(n_conversations),
        messages=int(n_messages),
        bytes_written=int(written),
        models=models,
    )


__all__ = [
    "CONVERSATION_TRUTH_SCHEMA",
    "LMSYS_SCHEMA",
    "TRUTH_SCHEMA",
    "SynthResult",
    "sidecar_paths",
    "synth",
]
