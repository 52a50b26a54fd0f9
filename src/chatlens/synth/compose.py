"""The segments of a message: which template kinds make up an answer or a refusal, and the
recorder that collects messages and segments into a chunk's decisions (:class:`ChunkSim`).

Why separate from the turn loop (:mod:`chatlens.synth.simulate`): the loop decides *what* happens
(refuse or not, which type and style); these functions decide how a decided answer or refusal is
composed from template kinds (intro, body, list, look-alike, lecture, redirect, …) and record
the segments for :mod:`chatlens.synth.render`. Their draws from the chunk's generator, in this
order, are part of the seed contract (``docs/synth.md``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from chatlens.synth.render import SEP_BULLET, SEP_NUMBERED
from chatlens.synth.vocab import CAP, KIND_ID, LABEL_ID, MIXED, NONE, POLICY

#: Message index stride of a conversation inside a chunk (uid = conversation * STRIDE + index).
STRIDE = 128


@dataclass
class ChunkSim:
    """Decisions for one chunk of conversations (messages sorted by conversation, index)."""

    n: int
    model: np.ndarray
    lang: np.ndarray
    turns: np.ndarray
    refusal_rate: np.ndarray
    redacted: np.ndarray
    jailbreak_first: np.ndarray
    n_refusals: np.ndarray
    first_refusal: np.ndarray
    msg: dict[str, np.ndarray]  # per-message arrays, sorted
    values: np.ndarray  # [M, I] episode slot values per message
    seg_msg: np.ndarray  # message ordinal of each segment (sorted)
    seg_kind: np.ndarray
    seg_sep: np.ndarray  # -1: separator chosen by kind / position


def within_runs(k: np.ndarray) -> np.ndarray:
    """0, 1, …, k[i] - 1 for each run i, concatenated: the position inside ``np.repeat(x, k)``."""
    return np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)


class Recorder:
    """Collects message and segment arrays emitted turn by turn."""

    def __init__(self) -> None:
        self.msg: dict[str, list[np.ndarray]] = defaultdict(list)
        self.values: list[np.ndarray] = []
        self.seg: dict[str, list[np.ndarray]] = defaultdict(list)

    def message(self, uid: np.ndarray, values: np.ndarray, **cols: np.ndarray) -> None:
        self.msg["uid"].append(uid)
        self.values.append(values)
        n = len(uid)
        defaults = {
            "role": 0,
            "label": 0,
            "refusal": False,
            "rtype": NONE,
            "partial": False,
            "jailbreak": False,
            "family": -1,
            "reaction": -1,
            "modcat": -1,
            "modlevel": 0.0,
            "curly": False,
            "lower": False,
        }
        for name, default in defaults.items():
            col = cols.get(name)
            if col is None:
                col = np.full(n, default)
            elif np.ndim(col) == 0:
                col = np.full(n, col)
            self.msg[name].append(col)

    def segment(self, uid: np.ndarray, kind: str | np.ndarray, order: int | np.ndarray, sep: int | np.ndarray = -1) -> None:
        if len(uid) == 0:
            return
        n = len(uid)
        k = np.full(n, KIND_ID[kind]) if isinstance(kind, str) else kind
        self.seg["uid"].append(uid)
        self.seg["kind"].append(k)
        self.seg["order"].append(np.broadcast_to(np.asarray(order, np.int64), (n,)).copy())
        self.seg["sep"].append(np.broadcast_to(np.asarray(sep, np.int64), (n,)).copy())

    def collect(
        self,
        n: int,
        *,
        model: np.ndarray,
        lang: np.ndarray,
        turns: np.ndarray,
        refusal_rate: np.ndarray,
        redacted: np.ndarray,
        jailbreak_first: np.ndarray,
        n_refusals: np.ndarray,
        first_refusal: np.ndarray,
    ) -> ChunkSim:
        """The recorded messages and segments, sorted, with the chunk's per-conversation arrays."""
        uid = np.concatenate(self.msg["uid"])
        order = np.argsort(uid, kind="stable")
        uid = uid[order]
        msg = {k: np.concatenate(v)[order] for k, v in self.msg.items()}
        values = np.concatenate(self.values)[order]
        s_uid = np.concatenate(self.seg["uid"])
        s_order = np.concatenate(self.seg["order"])
        s_kind = np.concatenate(self.seg["kind"])
        s_sep = np.concatenate(self.seg["sep"])
        so = np.lexsort((s_order, s_uid))
        seg_msg = np.searchsorted(uid, s_uid[so])
        return ChunkSim(
            n=n,
            model=model,
            lang=lang,
            turns=turns,
            refusal_rate=refusal_rate,
            redacted=redacted,
            jailbreak_first=jailbreak_first,
            n_refusals=n_refusals,
            first_refusal=first_refusal,
            msg=msg,
            values=values,
            seg_msg=seg_msg,
            seg_kind=s_kind[so],
            seg_sep=s_sep[so],
        )



def compose_answer(
    rec: Recorder, rng: np.random.Generator, uid: np.ndarray, answer: Mapping[str, Any], *, code: bool = False
) -> None:
    """Emit the segments of helpful answers (plain or code) with the ``answer`` mix of ``config.yaml``."""
    n = len(uid)
    if n == 0:
        return
    a = answer
    if code:
        rec.segment(uid, "code_intro", 1)
        rec.segment(uid[rng.random(n) < 0.7], "code_outro", 2)
        k = rng.poisson(0.6, n)
    else:
        disc = rng.random(n) < a["disclaimer_ask"]
        rec.segment(uid[disc], "disclaimer_intro", 1)
        rec.segment(uid[~disc], "intro", 1)
        k = 1 + rng.poisson(a["body_mean"], n)
        long = rng.random(n) < a["long_answer"]
        k[long] += rng.integers(3, 9, int(long.sum()))
        lst = np.flatnonzero(rng.random(n) < a["list"])
        if len(lst):
            lo, hi = a["list_items"]
            n_items = rng.integers(lo, hi + 1, len(lst))
            numbered = rng.random(len(lst)) < 0.5
            rec.segment(uid[lst], "list_intro", 60)
            item_uid = np.repeat(uid[lst], n_items)
            j = within_runs(n_items)
            sep = np.where(np.repeat(numbered, n_items), SEP_NUMBERED + j, SEP_BULLET)
            rec.segment(item_uid, "list_item", 61 + j, sep)
    body_uid = np.repeat(uid, k)
    j = within_runs(k)
    rec.segment(body_uid, "body", 10 + j)
    look = rng.random(n) < a["lookalike"]
    if look.any():
        which = rng.integers(0, 4, n)
        if code:
            which[:] = 3
        late = np.where(rng.random(n) < 0.5, 5, 90)
        rec.segment(uid[look & (which == 0)], "lookalike_lead", 0)
        for w, kind in ((1, "lookalike_inline"), (2, "lookalike_story"), (3, "lookalike_code")):
            sel = look & (which == w)
            rec.segment(uid[sel], kind, late[sel])
    rec.segment(uid[rng.random(n) < (a["closing"] if not code else 0.5)], "closing", 99)


def compose_refusal(
    rec: Recorder,
    rng: np.random.Generator,
    uid: np.ndarray,
    rtype: np.ndarray,
    partial: np.ndarray,
    style: np.ndarray,
    edgy: np.ndarray,
    *,
    partial_lead: float,
    signature: np.ndarray,
    signature_share: np.ndarray,
) -> np.ndarray:
    """Emit the segments of refusals; return their ground-truth labels.

    ``style``: 0 direct, 1 lecture, 2 redirect-only, 3 late. ``signature``: per refusal, the kind
    of the model's own refusal phrasing where its language defines one (-1: none), used with
    probability ``signature_share``.
    """
    label = np.zeros(len(uid), np.int64)
    cap, pol, mix = rtype == CAP, rtype == POLICY, rtype == MIXED
    # capability
    sel = cap & partial
    rec.segment(uid[sel], "partial_lead_cap", 1)
    k = rng.integers(1, 3, int(sel.sum()))
    rec.segment(np.repeat(uid[sel], k), "cap_body", 10 + within_runs(k))
    label[sel] = LABEL_ID["refusal_partial"]
    sel = cap & ~partial
    rec.segment(uid[sel], "refusal_cap", 1)
    extra = sel & (rng.random(len(uid)) < 0.3)
    rec.segment(uid[extra], "cap_body", 10)
    label[sel] = LABEL_ID["refusal_cap"]
    # mixed
    rec.segment(uid[mix], "refusal_mixed", 1)
    label[mix] = LABEL_ID["refusal_mixed"]
    # policy, partial: decline first then help, or help then decline at the end
    sel = pol & partial
    lead = sel & (rng.random(len(uid)) < partial_lead)
    tail = sel & ~lead
    rec.segment(uid[lead], "partial_lead_policy", 1)
    k = rng.integers(1, 4, int(sel.sum()))
    rec.segment(np.repeat(uid[sel], k), "safety_body", 10 + within_runs(k))
    rec.segment(uid[tail], "partial_tail_policy", 50)
    label[sel] = LABEL_ID["refusal_partial"]
    # policy, full
    full = pol & ~partial
    direct = full & ((style == 0) | edgy)
    # model-family signature phrasing, where the model has one and the language defines it
    use_sig = direct & ~edgy & (signature >= 0) & (rng.random(len(uid)) < signature_share)
    direct &= ~use_sig
    rec.segment(uid[use_sig], signature[use_sig], 1)
    label[use_sig] = LABEL_ID["refusal_signature"]
    rec.segment(uid[direct], "refusal_direct", 1)
    red_after = direct & ~edgy & (rng.random(len(uid)) < 0.3)
    rec.segment(uid[red_after], "refusal_redirect", 2)
    label[direct] = LABEL_ID["refusal_direct"]
    lec = full & ~edgy & (style == 1)
    rec.segment(uid[lec], "refusal_lecture", 1)
    rec.segment(uid[lec & (rng.random(len(uid)) < 0.4)], "refusal_redirect", 2)
    label[lec] = LABEL_ID["refusal_lecture"]
    red = full & ~edgy & (style == 2)
    rec.segment(uid[red], "refusal_redirect", 1)
    label[red] = LABEL_ID["refusal_redirect"]
    late = full & ~edgy & (style == 3)
    k = rng.integers(2, 4, int(late.sum()))
    rec.segment(np.repeat(uid[late], k), "safety_body", 10 + within_runs(k))
    rec.segment(uid[late], "refusal_direct", 50)
    label[late] = LABEL_ID["refusal_late"]
    return label


__all__ = ["STRIDE", "ChunkSim", "Recorder", "compose_answer", "compose_refusal", "within_runs"]
