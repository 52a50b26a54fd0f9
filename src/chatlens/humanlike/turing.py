"""Two-witness Turing-test evaluation (``chatlens turing eval``).

In the Jones & Bergen games an interrogator chats with witnesses A and B, exactly one of them
human, and names the human. A judge is evaluated the same three ways hal.md section 2.2 does:
per-witness accuracy and AUC (is this witness human?) and *paired* accuracy (which of A/B is the
human?), overall and per AI opponent, next to the human interrogators' own accuracy on the same
games. Scorers are named by spec strings so fixed-weight instruments, honestly cross-validated
refits, HL-lite and precomputed score columns sit side by side in one table.

Scorer specs
------------
``hal16q`` (any instrument name or YAML path)
    the instrument's fixed weights applied to the ratings column. For the bundled HAL weights
    this is *in-sample*: they were fitted on all HAL games, which include these.
``fit:<instrument>`` / ``fit-select:<instrument>``
    L1 logistic regression refitted with 10-fold CV grouped by game (``fit-select`` keeps
    ``|w| > 0.2`` inside each fold, as HAL16 did); out-of-fold scores.
``lite`` / ``fit:lite``
    HL-lite with its shipped weights (trained on the development games: in-sample there), or
    retrained with grouped CV (out-of-fold).
``column:<name>``
    an existing per-witness score column (``<name>_A``/``<name>_B`` in the per-game layout).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from chatlens.errors import InvalidParameterError
from chatlens.humanlike import lite as lite_mod
from chatlens.humanlike.fit import grouped_oof
from chatlens.humanlike.instruments import load_instrument, score_ratings
from chatlens.humanlike.scoring import ratings_from_column
from chatlens.humanlike.witnesses import witness_frame
from chatlens.stats.estimate import Estimate
from chatlens.stats.metrics import accuracy, bootstrap_auc, paired_outcomes

__all__ = ["TuringEval", "default_scorers", "turing_eval"]


@dataclass(frozen=True)
class TuringEval:
    """Results of :func:`turing_eval`.

    ``results``: one row per scorer (accuracy, AUC and paired accuracy with CIs);
    ``by_opponent``: paired accuracy per AI opponent per scorer next to the interrogators';
    ``interrogators``: the human interrogators' accuracy on the same games;
    ``scores``: the witness rows with one ``score_<scorer>`` column each.
    """

    results: pl.DataFrame
    by_opponent: pl.DataFrame
    interrogators: Estimate
    scores: pl.DataFrame


def default_scorers(witnesses: pl.DataFrame, ratings_column: str = "likert_evaluation") -> list[str]:
    """Scorers that make sense for the columns present."""
    specs: list[str] = []
    if ratings_column in witnesses.columns:
        specs += ["hal16q", "hal32q", "fit:hal32q", "fit-select:hal32q"]
    if "transcript" in witnesses.columns:
        specs += ["lite", "fit:lite"]
    return specs


def _score(spec: str, w: pl.DataFrame, *, ratings_column: str, ratings_instrument: str,
           speaker: str, n_splits: int, seed: int) -> tuple[np.ndarray, str]:
    y = w.get_column("is_human").to_numpy().astype(bool)
    groups = w.get_column("game_id").to_numpy()
    if spec.startswith("column:"):
        col = spec.split(":", 1)[1]
        if col not in w.columns:
            msg = f"scorer {spec!r}: column {col!r} not found"
            raise InvalidParameterError(msg)
        return w.get_column(col).cast(pl.Float64).to_numpy(), "precomputed column"
    if spec in ("lite", "fit:lite"):
        if "transcript" not in w.columns:
            msg = f"scorer {spec!r} needs transcripts; none found"
            raise InvalidParameterError(msg)
        if spec == "lite":
            out = lite_mod.lite_score(w, text_column="transcript", speaker=speaker)
            return out.get_column("hl_lite_logit").to_numpy(), "shipped weights (trained on dev games)"
        oof = lite_mod.cross_validate_lite(w, text_column="transcript", speaker=speaker,
                                       n_splits=n_splits, seed=seed)
        return oof, f"grouped {n_splits}-fold CV"
    mode, _, name = spec.partition(":") if spec.startswith(("fit:", "fit-select:")) else ("", "", spec)
    inst = load_instrument(name)
    if ratings_column not in w.columns:
        msg = f"scorer {spec!r} needs the ratings column {ratings_column!r}"
        raise InvalidParameterError(msg)
    list_keys = None
    first = w.get_column(ratings_column).drop_nulls()
    if len(first) and str(first[0]).lstrip().startswith("["):
        list_keys = ratings_instrument
    x, _ = ratings_from_column(w, ratings_column, inst, list_keys=list_keys)
    if not mode:
        logit, _p = score_ratings(x, inst)
        return logit, "fixed weights"
    ok = np.isfinite(x).all(axis=1)
    out = np.full(len(y), np.nan)
    threshold = 0.2 if mode == "fit-select" else None
    out[ok], _ = grouped_oof(x[ok], y[ok], groups[ok], threshold=threshold,
                             n_splits=n_splits, seed=seed)
    sel = ", |w|>0.2 in fold" if threshold else ""
    return out, f"grouped {n_splits}-fold CV{sel}"


def turing_eval(
    data: pl.DataFrame,
    *,
    scorers: Sequence[str] | None = None,
    ratings_column: str = "likert_evaluation",
    ratings_instrument: str = "hal32q",
    speaker: str = "W",
    n_splits: int = 10,
    seed: int = 0,
    n_boot: int = 1000,
) -> TuringEval:
    """Evaluate human-likeness scorers on two-witness Turing games.

    ``data`` is either layout accepted by :func:`witness_frame`. ``ratings_instrument`` names the
    instrument whose item order the ratings *lists* follow (the HAL Turing files hold HAL32Q
    answers); answers stored as JSON objects are read by key. Per-witness accuracy thresholds the
    logit at 0.
    """
    w = witness_frame(data) if "slot" not in data.columns else data
    specs = list(scorers) if scorers else default_scorers(w, ratings_column)
    if not specs:
        msg = "no scorer applies: pass scorers= (e.g. 'column:score') or provide ratings/transcripts"
        raise InvalidParameterError(msg)
    y = w.get_column("is_human").to_numpy().astype(bool)
    groups = w.get_column("game_id").to_numpy()
    game_rows = w.unique("game_id", keep="first", maintain_order=True)
    ic = game_rows.get_column("interrogator_correct")
    interrogators = accuracy(float(ic.sum() or 0), int(ic.drop_nulls().len()))
    rows = []
    score_cols = []
    opp_frames = []
    for spec in specs:
        s, note = _score(spec, w, ratings_column=ratings_column,
                         ratings_instrument=ratings_instrument, speaker=speaker,
                         n_splits=n_splits, seed=seed)
        ok = np.isfinite(s)
        acc = accuracy(float(((s[ok] > 0) == y[ok]).sum()), int(ok.sum()))
        a = bootstrap_auc(y[ok], s[ok], groups[ok], n_boot=n_boot, seed=seed)
        ids, outcome = paired_outcomes(y, s, groups)
        pacc = accuracy(float(outcome.sum()), len(ids))
        rows.append({
            "scorer": spec, "accuracy": acc.value, "accuracy_ci_low": acc.ci_low,
            "accuracy_ci_high": acc.ci_high, "auc": a.value, "auc_ci_low": a.ci_low,
            "auc_ci_high": a.ci_high, "paired_accuracy": pacc.value,
            "paired_ci_low": pacc.ci_low, "paired_ci_high": pacc.ci_high,
            "n_witnesses": int(ok.sum()), "n_games": len(ids), "note": note,
        })
        score_cols.append(pl.Series(f"score_{spec}", s).fill_nan(None))
        opp_frames.append(pl.DataFrame({"game_id": ids.astype(str), f"paired_{spec}": outcome}))
    scores = w.with_columns(score_cols)
    per_game = game_rows.select("game_id", "opponent", "interrogator_correct")
    for f in opp_frames:
        per_game = per_game.join(f, on="game_id", how="left")
    aggs = [pl.len().alias("n_games"),
            pl.col("interrogator_correct").cast(pl.Float64).mean().alias("interrogators")]
    aggs += [pl.col(f"paired_{s}").mean().alias(s) for s in specs]
    by_opp = per_game.group_by("opponent").agg(aggs).sort("n_games", descending=True)
    results = pl.DataFrame(rows)
    return TuringEval(results=results, by_opponent=by_opp, interrogators=interrogators,
                      scores=scores)
