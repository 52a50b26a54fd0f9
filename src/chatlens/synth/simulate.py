"""Simulate the *behaviour* of synthetic conversations: who refuses, how users react, what ends.

Why separate from rendering: the behaviour (the ground truth) is decided here as small integer
arrays, one turn position at a time but vectorised over all conversations of a chunk; the text is
produced later from these decisions by :func:`chatlens.synth.render.render`. So the
truth never depends on the text, and the text never needs Python loops over messages.

The flow of a conversation and its probabilities are specified in ``docs/synth.md``; the draws
from the chunk's generator, in this order, are the seed contract (same seed, same corpus).
"""

from __future__ import annotations

import numpy as np

from chatlens.synth.compose import (
    STRIDE,
    ChunkSim,
    Recorder,
    compose_answer,
    compose_refusal,
    within_runs,
)
from chatlens.synth.config import SynthConfig
from chatlens.synth.render import REDACTED_SLOT, Compiled
from chatlens.synth.vocab import (
    CAP,
    JAILBREAK_FAMILIES,
    KIND_ID,
    LABEL_ID,
    MIXED,
    MODERATION_CATEGORIES,
    NONE,
    POLICY,
    REACTIONS,
    REQUEST_KINDS,
)

R_REPHRASE, R_JAILBREAK, R_PUSHBACK, R_ACCEPT, R_TOPIC = range(5)
# user-message modes
M_FRESH, M_JB, M_REPHRASE, M_PUSHBACK, M_ACCEPT, M_TOPIC, M_FOLLOWUP = range(7)
# episode request kinds
Q_BENIGN, Q_CODE, Q_GREET, Q_TRAP, Q_EDGY, Q_CAP, Q_HARM = range(7)

_HARASSMENT = MODERATION_CATEGORIES.index("harassment")


def _choice(rng: np.random.Generator, probs: dict[str, float] | np.ndarray, n: int) -> np.ndarray:
    p = np.asarray(list(probs.values()) if isinstance(probs, dict) else probs, dtype=np.float64)
    cdf = np.cumsum(p / p.sum())
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(p) - 1)


class Simulator:
    """Decides the behaviour of chunks of conversations for a fixed configuration."""

    def __init__(
        self,
        config: SynthConfig,
        compiled: Compiled,
        *,
        model_idx: np.ndarray,
        model_weight: np.ndarray,
        lang_weight: np.ndarray,
        lang_multiplier: np.ndarray,
    ) -> None:
        self.cfg = config
        self.c = compiled
        models = [config.models[i] for i in model_idx]
        self.model_weight = model_weight / model_weight.sum()
        self.lang_weight = lang_weight / lang_weight.sum()
        self.lang_mult = lang_multiplier
        self.mp = {
            f: np.asarray([getattr(m, f) for m in models], np.float64)
            for f in (
                "refusal_rate",
                "capability_share",
                "mixed_share",
                "partial_share",
                "lecture",
                "redirect",
                "late",
                "jailbreak_resist",
                "rephrase_resist",
                "pushback_resist",
                "curly",
            )
        }
        head = np.asarray(config.turns_head)
        tail_k = np.arange(len(head) + 1, config.max_turns + 1)
        tail = config.turns_tail_ratio ** (tail_k - len(head) - 1)
        tail = tail / tail.sum() * config.turns_tail_mass if len(tail) else tail
        self.turn_p = np.concatenate([head, tail])
        self.flow = config.flow
        self.ans = config.answer
        self.harm_inst = [i for i, (s, _) in enumerate(compiled.inst_keys) if s == "harm"]
        self.sig_kind = np.asarray(
            [KIND_ID[f"refusal_signature.{m.signature}"] if m.signature != "none" else -1 for m in models],
            np.int64,
        )
        self.sig_share = np.asarray([m.signature_share for m in models], np.float64)
        self.name_inst = np.asarray(
            [i for i, (s, _) in enumerate(compiled.inst_keys) if s == REDACTED_SLOT], np.int64
        )

    # ------------------------------------------------------------------ helpers
    def _resample(
        self, rng: np.random.Generator, v: np.ndarray, rows: np.ndarray, lang: np.ndarray, redacted: np.ndarray
    ) -> None:
        if len(rows) == 0:
            return
        sizes = self.c.slot_sizes[lang[rows]][:, self.c.inst_slot]  # [r, I]
        v[rows] = (rng.random(sizes.shape) * sizes).astype(np.int32)
        red = rows[redacted[rows]]
        if len(red) and len(self.name_inst):
            # the extra filler after the real ones is the redaction placeholder
            v[np.ix_(red, self.name_inst)] = self.c.slot_sizes[lang[red]][:, self.c.inst_slot[self.name_inst]]

    def _harm_cat(self, v_rows: np.ndarray, lang: np.ndarray) -> np.ndarray:
        if not self.harm_inst:
            return np.full(len(lang), -1)
        return self.c.harm_mod[lang, v_rows[:, self.harm_inst[0]]].astype(np.int64)

    def _policy_style(self, rng: np.random.Generator, m: np.ndarray) -> np.ndarray:
        """0 direct, 1 lecture, 2 redirect-only, 3 late (refusal after a long preamble)."""
        u = rng.random(len(m))
        lec, red, late = self.mp["lecture"][m], self.mp["redirect"][m], self.mp["late"][m]
        style = np.zeros(len(m), np.int64)
        style[u < lec + red + late] = 3
        style[u < lec + red] = 2
        style[u < lec] = 1
        return style

    def _signature(self, m: np.ndarray, lang: np.ndarray) -> np.ndarray:
        """The kind of each model's own refusal phrasing where the language defines it, else -1."""
        sig = self.sig_kind[m]
        has_sig = (sig >= 0) & (self.c.kind_count[lang, np.maximum(sig, 0)] > 0)
        return np.where(has_sig, sig, -1)
    # ------------------------------------------------------------------ the chunk
    def run(self, rng: np.random.Generator, n: int) -> ChunkSim:
        flow = self.flow
        model = _choice(rng, self.model_weight, n)
        lang = _choice(rng, self.lang_weight, n)
        turns = 1 + _choice(rng, self.turn_p, n)
        p_ref = self.mp["refusal_rate"][model] * self.lang_mult[lang]
        p_ref = np.minimum(p_ref, 1.0)
        redacted = rng.random(n) < self.cfg.redacted
        v = np.zeros((n, len(self.c.inst_keys)), np.int32)
        prev_ref = np.zeros(n, bool)
        prev_type = np.zeros(n, np.int64)
        ep_kind = np.zeros(n, np.int64)
        force_fresh = np.zeros(n, bool)
        n_ref = np.zeros(n, np.int64)
        first_ref = np.full(n, -1, np.int64)
        jb_first = np.zeros(n, bool)
        rec = Recorder()
        answered_p = flow["request_if_answered"]
        answered_kinds = np.asarray([REQUEST_KINDS.index(k) for k in answered_p])
        refused_kinds = np.asarray([REQUEST_KINDS.index(k) for k in flow["request_if_refused"]])
        fam_p = np.asarray([flow["jailbreak_families"][f] for f in JAILBREAK_FAMILIES])
        react_pol = np.asarray([flow["reaction_after_policy"][r] for r in REACTIONS])
        react_cap = np.asarray([flow["reaction_after_capability"][r] for r in REACTIONS])

        for t in range(1, int(turns.max()) + 1):
            act = np.flatnonzero(turns >= t)
            if len(act) == 0:
                break
            na = len(act)
            m, lg = model[act], lang[act]
            u_uid = act.astype(np.int64) * STRIDE + 2 * (t - 1)
            a_uid = u_uid + 1
            mode = np.full(na, M_FRESH, np.int64)
            reaction = np.full(na, -1, np.int64)
            if t == 1:
                jb = rng.random(na) < flow["jailbreak_first"]
                mode[jb] = M_JB
                jb_first[act[jb]] = True
            else:
                pr = prev_ref[act]
                pt = prev_type[act]
                pol = pr & (pt != CAP)
                cap = pr & (pt == CAP)
                reaction[pol] = _choice(rng, react_pol, int(pol.sum()))
                reaction[cap] = _choice(rng, react_cap, int(cap.sum()))
                reaction[(reaction == R_JAILBREAK) & (ep_kind[act] == Q_EDGY)] = R_PUSHBACK
                mode[pr] = np.asarray([M_REPHRASE, M_JB, M_PUSHBACK, M_ACCEPT, M_TOPIC])[reaction[pr]]
                fu = ~pr & ~force_fresh[act] & (rng.random(na) < flow["followup_after_answer"])
                mode[fu] = M_FOLLOWUP
            new_ep = (mode == M_FRESH) | (mode == M_TOPIC) | ((mode == M_JB) & (t == 1))
            self._resample(rng, v, act[new_ep], lang, redacted)
            vals = v[act]

            refuse = np.zeros(na, bool)
            rtype = np.zeros(na, np.int64)
            partial = np.zeros(na, bool)
            user_label = np.zeros(na, np.int64)
            asst_label = np.zeros(na, np.int64)
            family = np.full(na, -1, np.int64)
            u_modcat = np.full(na, -1, np.int64)
            u_modlevel = np.zeros(na)
            a_modcat = np.full(na, -1, np.int64)
            a_modlevel = np.zeros(na)
            harm_cat = self._harm_cat(vals, lg)

            # --- fresh requests (first message, new question, topic change)
            fresh = np.flatnonzero((mode == M_FRESH) | (mode == M_TOPIC))
            if len(fresh):
                fm = m[fresh]
                r = rng.random(len(fresh)) < p_ref[act[fresh]]
                ut = rng.random(len(fresh))
                cs, ms = self.mp["capability_share"][fm], self.mp["mixed_share"][fm]
                rt = np.where(ut < cs, CAP, np.where(ut < cs + ms, MIXED, POLICY))
                req = answered_kinds[_choice(rng, answered_p, len(fresh))]
                req_ref = refused_kinds[_choice(rng, flow["request_if_refused"], len(fresh))]
                req_ref = np.where(rt == CAP, Q_CAP, req_ref)
                rt = np.where((req_ref == Q_EDGY) & (rt == MIXED), POLICY, rt)
                req = np.where(r, req_ref, req)
                rt = np.where(r, rt, NONE)
                part = r & (rt != MIXED) & (req != Q_EDGY) & (rng.random(len(fresh)) < self.mp["partial_share"][fm])
                refuse[fresh], rtype[fresh], partial[fresh] = r, rt, part
                ep_kind[act[fresh]] = req
                user_label[fresh] = req
                topic = fresh[mode[fresh] == M_TOPIC]
                rec_kinds = np.asarray([KIND_ID[k] for k in REQUEST_KINDS])[req]
                rec.segment(u_uid[topic], "topic_change", 0)
                rec.segment(u_uid[fresh], rec_kinds, 1)
                suffix = fresh[np.isin(req, [Q_BENIGN, Q_CODE, Q_HARM]) & (rng.random(len(fresh)) < self.ans["ask_suffix"])]
                rec.segment(u_uid[suffix], "ask_suffix", 2)
                harmful = fresh[req == Q_HARM]
                u_modcat[harmful] = harm_cat[harmful]
                u_modlevel[harmful] = rng.uniform(0.3, 0.98, len(harmful))
            # --- jailbreak attempts (first message or reaction)
            jbi = np.flatnonzero(mode == M_JB)
            if len(jbi):
                fam = _choice(rng, fam_p, len(jbi))
                family[jbi] = fam
                kinds = np.asarray([KIND_ID[f"jailbreak.{f}"] for f in JAILBREAK_FAMILIES])[fam]
                rec.segment(u_uid[jbi], kinds, 1)
                user_label[jbi] = LABEL_ID["jailbreak"]
                ep_kind[act[jbi]] = Q_HARM
                refuse[jbi] = rng.random(len(jbi)) < self.mp["jailbreak_resist"][m[jbi]]
                rtype[jbi] = np.where(refuse[jbi], POLICY, NONE)
                u_modcat[jbi] = harm_cat[jbi]
                u_modlevel[jbi] = rng.uniform(0.2, 0.95, len(jbi))
            # --- rephrase / pushback / accept after a refusal
            for mode_id, resist in ((M_REPHRASE, "rephrase_resist"), (M_PUSHBACK, "pushback_resist")):
                sel = np.flatnonzero(mode == mode_id)
                if not len(sel):
                    continue
                refuse[sel] = rng.random(len(sel)) < self.mp[resist][m[sel]]
                rtype[sel] = np.where(refuse[sel], prev_type[act[sel]], NONE)
                ek = ep_kind[act[sel]]
                if mode_id == M_REPHRASE:
                    kinds = np.where(ek == Q_CAP, KIND_ID["rephrase_cap"], np.where(ek == Q_EDGY, KIND_ID["ask_edgy"], KIND_ID["rephrase_harm"]))
                    rec.segment(u_uid[sel], kinds, 1)
                    user_label[sel] = LABEL_ID["rephrase"]
                    partial[sel] = refuse[sel] & (rtype[sel] != MIXED) & (ek != Q_EDGY) & (
                        rng.random(len(sel)) < self.mp["partial_share"][m[sel]]
                    )
                    h = sel[ek == Q_HARM]
                    u_modcat[h] = harm_cat[h]
                    u_modlevel[h] = rng.uniform(0.1, 0.9, len(h))
                else:
                    rec.segment(u_uid[sel], "pushback", 1)
                    user_label[sel] = LABEL_ID["pushback"]
                    u_modcat[sel] = _HARASSMENT
                    u_modlevel[sel] = rng.uniform(0.0, 0.6, len(sel))
            acc = np.flatnonzero(mode == M_ACCEPT)
            rec.segment(u_uid[acc], "accept", 1)
            user_label[acc] = LABEL_ID["accept"]
            fol = np.flatnonzero(mode == M_FOLLOWUP)
            rec.segment(u_uid[fol], "followup", 1)
            user_label[fol] = LABEL_ID["followup"]
            reaction_col = reaction.copy()
            reaction_col[mode == M_FOLLOWUP] = -1

            # --- assistant: refusals
            ref_i = np.flatnonzero(refuse)
            if len(ref_i):
                ek = ep_kind[act[ref_i]]
                repeat = mode[ref_i] == M_PUSHBACK
                rr = ref_i[repeat]
                rec.segment(a_uid[rr], "refusal_repeat", 1)
                asst_label[rr] = LABEL_ID["refusal_repeat"]
                rest = ref_i[~repeat]
                style = self._policy_style(rng, m[rest])
                asst_label[rest] = compose_refusal(
                    rec,
                    rng,
                    a_uid[rest],
                    rtype[rest],
                    partial[rest],
                    style,
                    ep_kind[act[rest]] == Q_EDGY,
                    partial_lead=self.flow["partial_lead"],
                    signature=self._signature(m[rest], lg[rest]),
                    signature_share=self.sig_share[m[rest]],
                )
                h = ref_i[(ek == Q_HARM) & (rtype[ref_i] != CAP)]
                a_modcat[h] = harm_cat[h]
                a_modlevel[h] = rng.uniform(0.0, 0.25, len(h))
            # --- assistant: helpful answers
            ok = ~refuse
            ek = ep_kind[act]
            conceded = ok & (mode == M_PUSHBACK)
            rec.segment(a_uid[conceded], "concede", 0)
            harm_ok = np.flatnonzero(ok & (ek == Q_HARM) & ((mode == M_FRESH) | (mode == M_TOPIC) | (mode == M_JB) | (mode == M_REPHRASE) | conceded))
            if len(harm_ok):
                persona = np.isin(family[harm_ok], [JAILBREAK_FAMILIES.index("persona"), JAILBREAK_FAMILIES.index("dev_mode")])
                pre = harm_ok[persona & (rng.random(len(harm_ok)) < 0.7)]
                rec.segment(a_uid[pre], "jailbreak_prefix", 0)
                rec.segment(a_uid[harm_ok], "comply_harm", 1)
                asst_label[harm_ok] = LABEL_ID["comply_harm"]
                a_modcat[harm_ok] = harm_cat[harm_ok]
                a_modlevel[harm_ok] = rng.uniform(0.2, 0.9, len(harm_ok))
            first_kind_modes = (mode == M_FRESH) | (mode == M_TOPIC) | (mode == M_REPHRASE) | conceded
            for q, kind, lab in ((Q_CAP, "cap_answer", "answer_cap"), (Q_EDGY, "edgy_answer", "answer_edgy")):
                sel = np.flatnonzero(ok & (ek == q) & first_kind_modes)
                rec.segment(a_uid[sel], kind, 1)
                if q == Q_CAP:
                    k = rng.integers(1, 3, len(sel))
                    rec.segment(np.repeat(a_uid[sel], k), "cap_body", 10 + within_runs(k))
                asst_label[sel] = LABEL_ID[lab]
            fresh_ok = ok & ((mode == M_FRESH) | (mode == M_TOPIC))
            greet = np.flatnonzero(fresh_ok & (ek == Q_GREET))
            rec.segment(a_uid[greet], "greet_reply", 1)
            asst_label[greet] = LABEL_ID["answer_greeting"]
            code = np.flatnonzero((fresh_ok | (mode == M_FOLLOWUP)) & (ek == Q_CODE))
            compose_answer(rec, rng, a_uid[code], self.ans, code=True)
            asst_label[code] = LABEL_ID["answer_code"]
            trap = np.flatnonzero(fresh_ok & (ek == Q_TRAP))
            rec.segment(a_uid[trap], "trap_answer", 1)
            asst_label[trap] = LABEL_ID["answer_trap"]
            gen = np.flatnonzero((fresh_ok & (ek == Q_BENIGN)) | ((mode == M_FOLLOWUP) & (ek != Q_CODE)))
            compose_answer(rec, rng, a_uid[gen], self.ans)
            asst_label[gen] = LABEL_ID["answer"]
            accepted = np.flatnonzero(mode == M_ACCEPT)
            rec.segment(a_uid[accepted], "accept_reply", 1)
            asst_label[accepted] = LABEL_ID["accept_reply"]
            asst_label[conceded] = LABEL_ID["concede"]

            # --- record messages
            rec.message(
                u_uid,
                vals,
                role=0,
                lower=(mode != M_JB) & (rng.random(na) < self.ans["user_lowercase"]),
                label=user_label,
                jailbreak=mode == M_JB,
                family=family,
                reaction=reaction_col,
                modcat=u_modcat,
                modlevel=u_modlevel,
            )
            curly = rng.random(na) < self.mp["curly"][m]
            rec.message(
                a_uid,
                vals,
                role=1,
                label=asst_label,
                refusal=refuse,
                rtype=rtype,
                partial=partial,
                modcat=a_modcat,
                modlevel=a_modlevel,
                curly=curly,
            )
            # --- state for the next turn
            ab = refuse & (t < turns[act]) & (rng.random(na) < flow["abandon_after_refusal"])
            turns[act[ab]] = t
            prev_ref[act] = refuse
            prev_type[act] = rtype
            # follow-ups ("make it shorter") only continue plain and code answers
            force_fresh[act] = (mode == M_ACCEPT) | ~np.isin(ek, [Q_BENIGN, Q_CODE])
            n_ref[act] += refuse
            newly = act[refuse & (first_ref[act] < 0)]
            first_ref[newly] = 2 * t - 1

        return rec.collect(
            n,
            model=model,
            lang=lang,
            turns=turns,
            refusal_rate=p_ref,
            redacted=redacted,
            jailbreak_first=jb_first,
            n_refusals=n_ref,
            first_refusal=first_ref,
        )


__all__ = ["Simulator"]
