"""Compile phrase banks into flat numpy tables so messages can be rendered in bulk.

Why: the synthetic corpus must produce a million conversations in about a minute, which rules
out rendering one message at a time in Python. Templates are compiled once into *piece codes*
(literal strings or episode-slot references) and a batch of messages becomes one gather plus one
Arrow ``binary_join``; the encoding is described in ``docs/synth.md``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chatlens.synth.bank import TRANSFORMS, PhraseBank, Ref, Slot, Template, load_bank, load_common
from chatlens.synth.vocab import KINDS, MODERATION_CATEGORIES, SENTIMENTS

N_VARIANTS = 12
#: In conversations marked ``redacted``, this episode slot takes the value REDACTED_NAME.
REDACTED_SLOT = "name"
REDACTED_NAME = "NAME_1"
#: Separators inserted between the segments of a message (index into :attr:`Compiled.strings`).
SEP_EMPTY, SEP_SPACE, SEP_PARA, SEP_BULLET = 0, 1, 2, 3
SEP_NUMBERED = 4  # SEP_NUMBERED + j - 1 is "\n{j}. " for j in 1..9
_SEPARATORS = ("", " ", "\n\n", "\n- ", *(f"\n{j}. " for j in range(1, 10)))


@dataclass(frozen=True)
class Compiled:
    """Flat tables of all templates of the given languages (see the module docstring)."""

    languages: tuple[str, ...]
    strings: pa.Array
    inst_keys: tuple[tuple[str, int], ...]  # episode slot instances (slot, draw)
    inst_slot: np.ndarray  # [I] index into episode_slots
    episode_slots: tuple[str, ...]
    slot_sizes: np.ndarray  # [L, S] number of fillers of each episode slot per language
    kind_start: np.ndarray  # [L, K] first base template of a kind
    kind_count: np.ndarray  # [L, K]
    var_start: np.ndarray  # [B] first variant of a base template
    var_count: np.ndarray  # [B]
    piece_start: np.ndarray  # [V] first piece of a variant
    piece_len: np.ndarray  # [V]
    pieces: np.ndarray  # [P] piece codes
    ref_inst: np.ndarray  # [R] episode slot instance of a reference
    ref_base: np.ndarray  # [L, R] string-table start of the reference's block (-1: unused)
    sentiment: np.ndarray  # [B] int8 index into SENTIMENTS
    disclaimer: np.ndarray  # [B] bool
    lookalike: np.ndarray  # [B] bool
    jailbreak_lookalike: np.ndarray  # [B] bool
    profanity: np.ndarray  # [B] int16
    harm_mod: np.ndarray  # [L, H] int8 moderation category of each harm filler (-1: none)
    var_uses_redacted: np.ndarray  # [V] bool: the variant renders the REDACTED_SLOT
    bank_versions: dict[str, int]

    @property
    def n_distinct_templates(self) -> int:
        return len(self.var_start)


class _Builder:
    def __init__(self, common: PhraseBank) -> None:
        self.common = common
        self.strings: list[str] = list(_SEPARATORS)
        self.literal_ids: dict[str, int] = {s: i for i, s in enumerate(self.strings)}
        self.episode_slots = tuple(common.episode_slots)
        self.inst_ids: dict[tuple[str, int], int] = {}
        self.ref_ids: dict[tuple[int, str | None, str | None], int] = {}
        self.blocks: dict[tuple[int, str, str, str | None], int] = {}  # (lang, slot, field, tf)

    def literal(self, s: str) -> int:
        idx = self.literal_ids.get(s)
        if idx is None:
            idx = len(self.strings)
            self.strings.append(s)
            self.literal_ids[s] = idx
        return idx

    def slot(self, bank: PhraseBank, name: str) -> Slot:
        return bank.slots.get(name) or self.common.slots[name]

    def block(self, li: int, bank: PhraseBank, ref: Ref) -> int:
        slot = self.slot(bank, ref.slot)
        field = ref.field or slot.default_field
        key = (li, ref.slot, field, ref.transform)
        start = self.blocks.get(key)
        if start is None:
            start = len(self.strings)
            tf = TRANSFORMS[ref.transform] if ref.transform else None
            for v in slot.values:
                self.strings.append(tf(v[field]) if tf else v[field])
            if ref.slot == REDACTED_SLOT:
                # one extra filler after the real ones: what LMSYS-Chat-1M's PII redaction leaves
                self.strings.append(REDACTED_NAME)
            self.blocks[key] = start
        return start


def _fill(slot: Slot, ref: Ref, value: int) -> str:
    text = slot.values[value][ref.field or slot.default_field]
    return TRANSFORMS[ref.transform](text) if ref.transform else text


def _expand(t: Template, bank: PhraseBank, b: _Builder) -> list[list[str | Ref]]:
    """Pre-fill the free slots of a template into up to N_VARIANTS variants."""
    free = [p for p in t.parts if isinstance(p, Ref) and p.slot not in b.episode_slots]
    if not free:
        return [list(t.parts)]
    rng = np.random.default_rng(zlib.crc32(t.where.encode("utf-8")))
    draws = sorted({(p.slot, p.draw) for p in free})
    variants = []
    for _ in range(N_VARIANTS):
        chosen = {d: int(rng.integers(0, len(b.slot(bank, d[0]).values))) for d in draws}
        parts: list[str | Ref] = []
        for p in t.parts:
            if isinstance(p, Ref) and p.slot not in b.episode_slots:
                parts.append(_fill(b.slot(bank, p.slot), p, chosen[(p.slot, p.draw)]))
            else:
                parts.append(p)
        variants.append(parts)
    return variants


def _merge(parts: list[str | Ref]) -> list[str | Ref]:
    out: list[str | Ref] = []
    for p in parts:
        if isinstance(p, str) and out and isinstance(out[-1], str):
            out[-1] = out[-1] + p
        elif not (isinstance(p, str) and p == ""):
            out.append(p)
    return out


@cache
def compile_banks(languages: tuple[str, ...]) -> Compiled:
    """Compile the phrase banks of ``languages`` (ISO codes) into flat tables (cached)."""
    common = load_common()
    b = _Builder(common)
    banks = [load_bank(code) for code in languages]
    n_l, n_k = len(languages), len(KINDS)
    kind_start = np.zeros((n_l, n_k), np.int64)
    kind_count = np.zeros((n_l, n_k), np.int64)
    var_start: list[int] = []
    var_count: list[int] = []
    piece_start: list[int] = []
    piece_len: list[int] = []
    pieces: list[int] = []
    flags: list[tuple[int, bool, bool, bool, int]] = []
    # references are resolved per language after the instance/ref ids exist
    pending: list[tuple[int, int, Ref]] = []  # (piece position, language, ref)
    for li, bank in enumerate(banks):
        for ki, kind in enumerate(KINDS):
            templates = bank.templates.get(kind) or common.templates.get(kind, ())
            kind_start[li, ki] = len(var_start)
            kind_count[li, ki] = len(templates)
            for t in templates:
                prof = t.profanity + sum(
                    1 for p in t.parts if isinstance(p, Ref) and p.slot in common.profanity_slots
                )
                flags.append(
                    (SENTIMENTS.index(t.sentiment), t.disclaimer, t.lookalike, t.jailbreak_lookalike, prof)
                )
                variants = _expand(t, bank, b)
                var_start.append(len(piece_start))
                var_count.append(len(variants))
                for parts in variants:
                    merged = _merge(parts)
                    piece_start.append(len(pieces))
                    piece_len.append(len(merged))
                    for p in merged:
                        if isinstance(p, str):
                            pieces.append(b.literal(p))
                        else:
                            pending.append((len(pieces), li, p))
                            pieces.append(0)
    # episode slot instances and references
    pieces_arr = np.asarray(pieces, np.int64)
    ref_lang_block: dict[tuple[int, int], int] = {}
    for pos, li, ref in pending:
        inst = b.inst_ids.setdefault((ref.slot, ref.draw), len(b.inst_ids))
        field = ref.field or b.slot(banks[li], ref.slot).default_field
        r = b.ref_ids.setdefault((inst, field, ref.transform), len(b.ref_ids))
        ref_lang_block[(li, r)] = b.block(li, banks[li], ref)
        pieces_arr[pos] = -(r + 1)
    n_r = max(len(b.ref_ids), 1)
    ref_inst = np.zeros(n_r, np.int64)
    for (inst, _field, _tf), r in b.ref_ids.items():
        ref_inst[r] = inst
    ref_base = np.full((n_l, n_r), -1, np.int64)
    for (li, r), start in ref_lang_block.items():
        ref_base[li, r] = start
    slots = b.episode_slots
    slot_sizes = np.ones((n_l, len(slots)), np.int64)
    for li, bank in enumerate(banks):
        for si, name in enumerate(slots):
            slot = bank.slots.get(name) or common.slots.get(name)
            if slot is not None:
                slot_sizes[li, si] = len(slot.values)
    inst_keys = tuple(sorted(b.inst_ids, key=b.inst_ids.__getitem__))
    inst_slot = np.asarray([slots.index(s) for s, _ in inst_keys], np.int64)
    n_h = int(slot_sizes[:, slots.index("harm")].max()) if "harm" in slots else 1
    harm_mod = np.full((n_l, n_h), -1, np.int8)
    for li, bank in enumerate(banks):
        harm = bank.slots.get("harm") or common.slots.get("harm")
        if harm is not None and "_mod" in harm.fields:
            for i, v in enumerate(harm.values):
                harm_mod[li, i] = MODERATION_CATEGORIES.index(v["_mod"])
    fl = np.asarray(flags, dtype=np.int64).reshape(-1, 5)
    ps = np.asarray(piece_start, np.int64)
    pl_ = np.asarray(piece_len, np.int64)
    name_refs = np.asarray(
        [r for (inst, _f, _t), r in b.ref_ids.items() if inst_keys[inst][0] == REDACTED_SLOT], np.int64
    )
    is_name_piece = np.isin(-pieces_arr - 1, name_refs) & (pieces_arr < 0)
    cum = np.concatenate([[0], np.cumsum(is_name_piece)])
    var_uses_redacted = (cum[ps + pl_] - cum[ps]) > 0
    versions = {common.file: common.version, **{bk.file: bk.version for bk in banks}}
    return Compiled(
        languages=languages,
        strings=pa.array(b.strings, pa.string()),
        inst_keys=inst_keys,
        inst_slot=inst_slot,
        episode_slots=slots,
        slot_sizes=slot_sizes,
        kind_start=kind_start,
        kind_count=kind_count,
        var_start=np.asarray(var_start, np.int64),
        var_count=np.asarray(var_count, np.int64),
        piece_start=np.asarray(piece_start, np.int64),
        piece_len=np.asarray(piece_len, np.int64),
        pieces=pieces_arr,
        ref_inst=ref_inst,
        ref_base=ref_base,
        sentiment=fl[:, 0].astype(np.int8),
        disclaimer=fl[:, 1].astype(bool),
        lookalike=fl[:, 2].astype(bool),
        jailbreak_lookalike=fl[:, 3].astype(bool),
        profanity=fl[:, 4].astype(np.int16),
        harm_mod=harm_mod,
        var_uses_redacted=var_uses_redacted,
        bank_versions=versions,
    )


def pick_templates(
    c: Compiled,
    lang: np.ndarray,
    kind: np.ndarray,
    rng: np.random.Generator,
    *,
    seg_msg: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Choose a base template (uniform within language and kind) and one of its variants.

    With ``seg_msg`` (segments sorted by message), consecutive segments of the same kind in a
    message rotate through the kind's templates instead of drawing independently, so a message
    does not repeat a paragraph until every template of that kind has been used once.
    """
    start = c.kind_start[lang, kind]
    count = c.kind_count[lang, kind]
    draw = (rng.random(len(kind)) * count).astype(np.int64)
    if seg_msg is not None and len(kind):
        new_run = np.ones(len(kind), bool)
        new_run[1:] = (seg_msg[1:] != seg_msg[:-1]) | (kind[1:] != kind[:-1])
        run_start = np.flatnonzero(new_run)
        run_of = np.cumsum(new_run) - 1
        j = np.arange(len(kind)) - run_start[run_of]
        draw = (draw[run_start][run_of] + j) % count
    base = start + draw
    var = c.var_start[base] + (rng.random(len(kind)) * c.var_count[base]).astype(np.int64)
    return base, var


def render(
    c: Compiled,
    *,
    n_messages: int,
    seg_msg: np.ndarray,
    seg_var: np.ndarray,
    seg_sep: np.ndarray,
    seg_lang: np.ndarray,
    values: np.ndarray,
) -> pa.Array:
    """Render messages from their segments, vectorised.

    Parameters
    ----------
    seg_msg, seg_var, seg_sep, seg_lang
        Per segment, sorted by message then position: the message ordinal (0..n_messages-1), the
        template variant, the separator string inserted before it, and the language index.
    values
        ``[n_messages, n_instances]`` episode slot values (0-based filler index per language).
    """
    n_p = c.piece_len[seg_var] + 1  # +1: the separator
    total = int(n_p.sum())
    seg_first = np.cumsum(n_p) - n_p
    within = np.arange(total, dtype=np.int64) - np.repeat(seg_first, n_p)
    seg_of_piece = np.repeat(np.arange(len(seg_var), dtype=np.int64), n_p)
    code = c.pieces[np.repeat(c.piece_start[seg_var] - 1, n_p) + within]
    is_sep = within == 0
    code[is_sep] = seg_sep[seg_of_piece[is_sep]]
    neg = np.flatnonzero(code < 0)
    if len(neg):
        r = -code[neg] - 1
        seg = seg_of_piece[neg]
        msg = seg_msg[seg]
        code[neg] = c.ref_base[seg_lang[seg], r] + values[msg, c.ref_inst[r]]
    per_msg = np.bincount(seg_msg, weights=n_p, minlength=n_messages).astype(np.int64)
    offsets = np.zeros(n_messages + 1, np.int32)
    np.cumsum(per_msg, out=offsets[1:])
    taken = c.strings.take(pa.array(code))
    return pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), taken), "")


__all__ = [
    "N_VARIANTS",
    "REDACTED_NAME",
    "REDACTED_SLOT",
    "SEP_BULLET",
    "SEP_EMPTY",
    "SEP_NUMBERED",
    "SEP_PARA",
    "SEP_SPACE",
    "Compiled",
    "compile_banks",
    "pick_templates",
    "render",
]
