"""Measure the signals on the real labelled development set: CIs, per source, per language.

Why a separate module: the real set is judged in context (request, response, follow-up) and has
multi-class tasks (refusal type, reaction), so it needs more than the binary slices of
:mod:`chatlens.validate.datasets`. Every number comes with a 95% interval from a bootstrap over
*conversations* (messages of one conversation are not independent), and is reported overall, per
source (LMSYS, ShareGPT, HH-RLHF, DICES, OASST) and per language group, because a new user's log is a new
source: the per-source rows are the honest guide to what a user will see.

Nothing here is trained on this set, so the rows are out-of-sample for the rule tiers; a learned
tier trained on it must be reported with cross-validated predictions instead (the caller passes
those in as a detector).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from chatlens.stats.bootstrap import cluster_codes, percentile_interval
from chatlens.stats.metrics import binary_metrics
from chatlens.validate.real import REACTION_CLASSES

N_BOOT = 1000
SEED = 0

Detector = Callable[[pl.DataFrame], pl.DataFrame]
"""Takes the labelled frame (request/response/followup columns), returns ``refusal`` (bool),
``refusal_type`` (str) and ``refusal_score`` (float) per row, in order."""


@dataclass(frozen=True)
class RealReport:
    """Rows of the real-set evaluation and the most confident errors per task."""

    refusal: pl.DataFrame
    refusal_type: pl.DataFrame
    reaction: pl.DataFrame
    errors: pl.DataFrame
    overturned: pl.DataFrame = field(default_factory=pl.DataFrame)


def _boot_weights(codes: np.ndarray, k: int, n_boot: int, seed: int) -> np.ndarray:
    """Row weights (n_boot × rows): how often each row's cluster was drawn in each round."""
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(k, np.full(k, 1.0 / k), size=n_boot) if k else np.zeros((n_boot, 0))
    return draws[:, codes].astype(np.float64)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _ci(samples: np.ndarray) -> tuple[float | None, float | None]:
    """The 95% percentile interval, or no interval from fewer than 10 usable rounds."""
    if np.isfinite(samples).sum() < 10:
        return None, None
    lo, hi = percentile_interval(samples, 0.95)
    return round(lo, 4), round(hi, 4)


def _weights(clusters: np.ndarray) -> np.ndarray:
    codes = cluster_codes(clusters, len(clusters), "chatlens validate")
    return _boot_weights(codes, int(codes.max()) + 1 if len(codes) else 0, N_BOOT, SEED)


def _r(v: float) -> float | None:
    return None if v is None or np.isnan(v) else round(float(v), 4)


def binary_row(gold: np.ndarray, pred: np.ndarray, clusters: np.ndarray) -> dict:
    """Counts, precision, recall, F1, FPR and ``flagged_ratio`` with conversation-bootstrap 95%
    intervals.

    ``flagged_ratio`` is (messages the detector flags) ÷ (messages the readers flag), i.e.
    recall ÷ precision: by how much a rate counted with the detector over- or under-states the
    readers' rate on this slice (1 is unbiased, even where F1 is low). Why: the rates chatlens
    prints are what a researcher publishes, and F1 does not say which way they are off.
    """
    g, p = np.asarray(gold, bool), np.asarray(pred, bool)
    w = _weights(np.asarray(clusters))
    tp_b, fp_b, fn_b = w @ (g & p), w @ (~g & p), w @ (g & ~p)
    tn_b = w @ (~g & ~p)
    m = binary_metrics(g, p)
    pb, rb = _ratio(tp_b, tp_b + fp_b), _ratio(tp_b, tp_b + fn_b)
    f1b = _ratio(2 * pb * rb, pb + rb)
    out = {"n": len(g), "positives": int(g.sum()), "tp": m.tp, "fp": m.fp, "fn": m.fn, "tn": m.tn}
    flagged = _ratio(np.array([m.tp + m.fp]), np.array([m.tp + m.fn]))[0]
    for name, value, boot in (("precision", m.precision, pb), ("recall", m.recall, rb),
                              ("f1", m.f1, f1b), ("fpr", m.fpr, _ratio(fp_b, fp_b + tn_b)),
                              ("flagged_ratio", flagged, _ratio(tp_b + fp_b, tp_b + fn_b))):
        lo, hi = _ci(boot)
        out |= {name: _r(value), f"{name}_low": lo, f"{name}_high": hi}
    return out


def accuracy_row(gold: np.ndarray, pred: np.ndarray, clusters: np.ndarray) -> dict:
    """Accuracy with a conversation-bootstrap 95% interval, the accuracy of always answering the
    commonest gold class (``majority``) and the recall of each gold class (``recall_<class>``).

    Why the baseline and recalls: where one class dominates (most real refusals state a
    capability reason), an accuracy a little above ``majority`` can hide a class the detector
    rarely finds.
    """
    g, p = np.asarray(gold), np.asarray(pred)
    ok = g == p
    w = _weights(np.asarray(clusters))
    boot = _ratio(w @ ok, w.sum(axis=1))
    lo, hi = _ci(boot)
    classes, counts = np.unique(g, return_counts=True)
    recalls = {f"recall_{c}": _r((p[g == c] == c).mean()) for c in classes}
    return {"n": len(ok), "accuracy": _r(ok.mean()) if len(ok) else None,
            "accuracy_low": lo, "accuracy_high": hi,
            "majority": _r(counts.max() / len(g)) if len(g) else None, **recalls}


def macro_f1_row(gold: np.ndarray, pred: np.ndarray, clusters: np.ndarray,
                 classes: tuple[str, ...] = REACTION_CLASSES) -> dict:
    """Macro-F1 over ``classes`` (present in gold) with a bootstrap interval, plus per-class F1."""
    g, p = np.asarray(gold, dtype=object), np.asarray(pred, dtype=object)
    present = [c for c in classes if (g == c).any()]
    w = _weights(np.asarray(clusters))
    f1s, boots, per = [], [], {}
    for c in present:
        gc, pc = g == c, p == c
        tp, fp, fn = (gc & pc), (~gc & pc), (gc & ~pc)
        f = _ratio(np.array([2 * tp.sum()]), np.array([2 * tp.sum() + fp.sum() + fn.sum()]))[0]
        f1s.append(f)
        boots.append(_ratio(2 * (w @ tp), 2 * (w @ tp) + w @ fp + w @ fn))
        per[f"f1_{c}"] = _r(f)
        per[f"recall_{c}"] = _r(_ratio(np.array([tp.sum()]), np.array([gc.sum()]))[0])
    macro = float(np.mean(f1s)) if f1s else np.nan
    lo, hi = _ci(np.nanmean(np.vstack(boots), axis=0)) if boots else (None, None)
    return {"n": len(g), "macro_f1": _r(macro), "macro_f1_low": lo, "macro_f1_high": hi,
            "classes": ",".join(present), **per}


def _excerpt(text: str | None, limit: int = 110) -> str:
    """A one-line, control-character-free excerpt for reading an error in a terminal."""
    flat = re.sub(r"[\x00-\x1f\x7f-\x9f]+", " ", text or "")
    flat = " ".join(flat.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _groups(frame: pl.DataFrame) -> list[tuple[str, np.ndarray]]:
    out = [("all", np.ones(frame.height, dtype=bool))]
    for col, prefix in (("source", "source"), ("lang", "language")):
        for value in sorted(frame[col].drop_nulls().unique().to_list()):
            out.append((f"{prefix}={value}", (frame[col] == value).to_numpy()))
    return out


def with_language(frame: pl.DataFrame) -> pl.DataFrame:
    """``lang``: ISO code from the text's script (Hangul, Kana, Han, Cyrillic, Arabic, …); Latin
    script without a source label is ``latin`` — no language-id model is run here."""
    from chatlens.features._lexicons import language_code_expr

    probe = pl.col("response").fill_null("").str.slice(0, 300)
    code = language_code_expr(pl.lit(None, dtype=pl.String), probe)
    return frame.with_columns(
        lang=pl.when(probe.str.contains(r"\p{Arabic}")).then(pl.lit("ar"))
        .otherwise(code).fill_null("latin"))


def evaluate_real(
    frame: pl.DataFrame,
    detectors: Mapping[str, Detector],
    *,
    reactions: Mapping[str, Callable[[pl.DataFrame], np.ndarray]] | None = None,
    n_errors: int = 20,
) -> RealReport:
    """Every detector on the labelled frame (from :func:`chatlens.validate.real.labelled_set`).

    Refusal rows exclude messages labelled ``unclear`` (a reader's abstention). Refusal type is
    scored on messages both gold and detector call refusals, gold type capability or policy
    (mixed is reported in the counts, not in the accuracy). Reactions are scored on gold refusals
    with a labelled reaction, given the gold refusal (so reaction errors are not refusal errors).
    """
    frame = with_language(frame).filter(pl.col("refusal") != "unclear")
    clusters = (frame["file"] + "|" + frame["conversation_id"]).to_numpy()
    gold = frame["refused"].to_numpy()
    gold_type = frame["refusal_type"].to_numpy()
    ref_rows, type_rows, err_rows = [], [], []
    for name, detect in detectors.items():
        out = detect(frame)
        pred = out["refusal"].to_numpy().astype(bool)
        ptype = out["refusal_type"].to_numpy()
        typed_detector = out["refusal_type"].null_count() < out.height
        score = out["refusal_score"].to_numpy().astype(float)
        for group, mask in _groups(frame):
            if mask.sum() == 0:
                continue
            ref_rows.append({"detector": name, "group": group,
                             **binary_row(gold[mask], pred[mask], clusters[mask])})
            typed = mask & gold & pred & np.isin(gold_type, ["capability", "policy"])
            if typed_detector and typed.sum():
                type_rows.append({"detector": name, "group": group,
                                  **accuracy_row(gold_type[typed], ptype[typed], clusters[typed])})
        wrong = np.flatnonzero(gold != pred)
        conf = np.abs(score[wrong] - 0.5)
        for i in wrong[np.argsort(-conf, kind="stable")][:n_errors]:
            err_rows.append({"task": "refusal", "detector": name, "item": frame["item"][int(i)],
                             "source": frame["source"][int(i)], "gold": frame["refusal"][int(i)],
                             "predicted": "refusal" if pred[i] else "none",
                             "score": round(float(score[i]), 3),
                             "excerpt": _excerpt(frame["response"][int(i)])})
    react_rows = []
    labelled = frame.filter(pl.col("refused") & pl.col("reaction").is_not_null()
                            & (pl.col("reaction") != "unclear"))
    for name, classify in (reactions or {}).items():
        if labelled.height == 0:
            break
        pred_r = np.asarray(classify(labelled), dtype=object)
        gold_r = labelled["reaction"].to_numpy()
        cl = (labelled["file"] + "|" + labelled["conversation_id"]).to_numpy()
        for group, mask in _groups(with_language(labelled)):
            if mask.sum():
                react_rows.append({"detector": name, "group": group,
                                   **macro_f1_row(gold_r[mask], pred_r[mask], cl[mask])})
        for i in np.flatnonzero(gold_r != pred_r)[:n_errors]:
            err_rows.append({"task": "reaction", "detector": name, "item": labelled["item"][int(i)],
                             "source": labelled["source"][int(i)], "gold": gold_r[i],
                             "predicted": str(pred_r[i]), "score": None,
                             "excerpt": _excerpt(labelled["followup"][int(i)])})
    return RealReport(
        refusal=pl.DataFrame(ref_rows),
        refusal_type=pl.DataFrame(type_rows),
        reaction=pl.DataFrame(react_rows),
        errors=pl.DataFrame(err_rows, schema={"task": pl.String, "detector": pl.String,
                                              "item": pl.String, "source": pl.String,
                                              "gold": pl.String, "predicted": pl.String,
                                              "score": pl.Float64, "excerpt": pl.String}),
    )
