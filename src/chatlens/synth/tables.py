"""The Arrow tables of one chunk: the LMSYS-shaped corpus rows and the two ground-truth sidecars.

Why separate from the simulation and the rendering: this is where decisions (who refused, which
template) and rendered text meet the LMSYS-Chat-1M schema column for column, and where the
per-message flags of the templates become the ground-truth columns (``docs/synth.md``).
"""

from __future__ import annotations

import binascii
from collections.abc import Sequence

import numpy as np
import polars as pl
import pyarrow as pa

from chatlens.synth.compose import STRIDE, ChunkSim
from chatlens.synth.render import (
    REDACTED_NAME,
    SEP_EMPTY,
    SEP_PARA,
    SEP_SPACE,
    Compiled,
    pick_templates,
    render,
)
from chatlens.synth.vocab import (
    ASSISTANT_KINDS,
    JAILBREAK_FAMILIES,
    KIND_ID,
    KINDS,
    LABELS,
    MODERATION_CATEGORIES,
    REACTIONS,
    REFUSAL_TYPES,
    SENTIMENTS,
)

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
        ("kind", pa.string()),  # what generated the message (see vocab.LABELS)
        ("refusal", pa.bool_()),
        ("refusal_type", pa.string()),  # none|capability|policy|mixed
        ("refusal_partial", pa.bool_()),
        ("disclaimer", pa.bool_()),
        ("lookalike", pa.bool_()),
        ("jailbreak_lookalike", pa.bool_()),
        ("jailbreak", pa.bool_()),
        ("jailbreak_family", pa.string()),  # none|instruction_override|...|other
        ("reaction", pa.string()),  # rephrase|jailbreak|pushback|accept|new_topic|null
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

_CJK_NO_SPACE = frozenset({"zh", "ja"})
_USER_KIND = np.asarray([k not in ASSISTANT_KINDS for k in KINDS])
_KIND_SEP = np.where(_USER_KIND, SEP_SPACE, SEP_PARA).astype(np.int64)
for _k in ("refusal_redirect", "comply_harm", "intro"):
    _KIND_SEP[KIND_ID[_k]] = SEP_SPACE
_CODE_KINDS = np.asarray([KIND_ID["code_intro"], KIND_ID["lookalike_code"]])

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


def chunk_tables(
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



__all__ = ["CONVERSATION_TRUTH_SCHEMA", "LMSYS_SCHEMA", "TRUTH_SCHEMA", "chunk_tables"]
