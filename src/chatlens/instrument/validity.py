"""After rating: fit the discovered items' weights honestly and say how reliable the scale is.

The weights come from :func:`chatlens.humanlike.fit.fit` (L1 logistic regression on the raw
ratings, ``GroupKFold`` by pair so the two dialogues of a pair never sit on both sides of a
split, and the ``|w| > threshold`` selection repeated inside every training fold; hal.md 7.4).
Added here, because a questionnaire needs them before anyone trusts it:

* a 95% interval per weight: percentile bootstrap over pairs (groups) of the whole procedure,
  selection included, so an item that is only sometimes selected gets an interval touching 0;
* reliability over the items: Cronbach's alpha and the odd/even split-half correlation with the
  Spearman-Brown correction, each with a pair-bootstrap interval. A discovered questionnaire
  spans several themes, so a moderate alpha is expected; a very low one says the items do not
  measure one thing and the total score should not be read as a scale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from chatlens._json import strict_json
from chatlens.errors import InvalidParameterError, MissingColumnError, SchemaError
from chatlens.humanlike.estimators import QuestionnaireClassifier
from chatlens.humanlike.fit import FitResult, fit, write_weights_yaml
from chatlens.humanlike.instruments import load_instrument
from chatlens.humanlike.item_scores import oriented
from chatlens.humanlike.witnesses import as_bool

__all__ = ["cronbach_alpha", "fit_discovered", "split_half"]


def cronbach_alpha(x: np.ndarray) -> float:
    """Cronbach's alpha of an (n, k) rating matrix (NaN when undefined).

    Examples
    --------
    >>> x = np.array([[1, 2, 1], [3, 3, 4], [5, 5, 5], [2, 1, 2]], dtype=float)
    >>> round(cronbach_alpha(x), 3)
    0.964
    """
    k = x.shape[1]
    total = x.sum(axis=1).var(ddof=1)
    if k < 2 or not np.isfinite(total) or total == 0:
        return float("nan")
    return float(k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / total))


def split_half(x: np.ndarray) -> float:
    """Odd/even split-half correlation, Spearman-Brown corrected (NaN when undefined)."""
    if x.shape[1] < 2:
        return float("nan")
    a, b = x[:, 0::2].sum(axis=1), x[:, 1::2].sum(axis=1)
    if a.std() == 0 or b.std() == 0:
        return float("nan")
    r = float(np.corrcoef(a, b)[0, 1])
    return 2 * r / (1 + r)


def _finite(values: list[float]) -> int:
    """How many bootstrap replicates gave a value (the rest were undefined and left out)."""
    return int(np.isfinite(np.asarray(values, dtype=float)).sum())


def _interval(values: list[float]) -> tuple[float, float]:
    v = np.array([x for x in values if np.isfinite(x)])
    if len(v) < 10:
        return float("nan"), float("nan")
    return float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))


def _ratings_matrix(frame: pl.DataFrame, keys: tuple[str, ...], prefix: str) -> np.ndarray:
    cols = [f"{prefix}{k}" for k in keys]
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        msg = (
            f"ratings columns {missing} not found (expected one {prefix}<key> column per item, "
            f"as `chatlens humanlike judge` writes); columns are {frame.columns}"
        )
        raise MissingColumnError(msg)
    # a cell that is not a number ("n/a" typed into the sheet) raised polars' cast error (a
    # traceback in the CLI); it is an error naming the column, rows and values (empty is missing)
    values = frame.select([pl.col(c).cast(pl.Float64, strict=False) for c in cols])
    for c in cols:
        bad = values[c].is_null() & frame[c].is_not_null()
        if bad.any():
            rows = bad.arg_true().to_list()
            shown = "; ".join(f"row {r + 1}: got {frame[c][r]!r}" for r in rows[:3])
            more = f"; and {len(rows) - 3} more" if len(rows) > 3 else ""
            msg = f"ratings column {c!r}: expected a number (or an empty cell). {shown}{more}."
            raise SchemaError(msg)
    return values.to_numpy()


def fit_discovered(
    run_dir: str | Path,
    frame: pl.DataFrame,
    *,
    label_column: str,
    group_column: str,
    item_prefix: str = "hl_item_",
    c: float = 1.0,
    threshold: float | None = 0.2,
    n_splits: int = 10,
    seed: int = 0,
    n_boot: int = 200,
) -> dict[str, Any]:
    """Fit weights for ``run_dir/instrument.yaml`` from judged dialogues; writes the fitted file.

    ``frame`` is the output of ``chatlens humanlike judge`` with the discovered instrument: one
    row per dialogue, ``hl_item_<key>`` ratings, a label (true when the dialogue has the
    property) and the pair id as group. Writes ``instrument-fit.yaml`` (items and weights in one
    self-contained file) and ``fit.json`` into ``run_dir``; returns the ``fit.json`` content.
    """
    run_dir = Path(run_dir)
    inst = load_instrument(run_dir / "instrument.yaml")
    for col in (label_column, group_column):
        if col not in frame.columns:
            msg = f"column {col!r} not found in the ratings; columns are {frame.columns}"
            raise MissingColumnError(msg)
    # a dialogue without its pair id has no CV group (np.unique on None and str raised TypeError)
    blank = frame.get_column(group_column).cast(pl.String).str.strip_chars().fill_null("") == ""
    if blank.any():
        rows = (blank.arg_true() + 1).to_list()
        more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
        msg = (
            f"column {group_column!r}: expected the pair id (the CV group) on every row; "
            f"rows {rows[:3]}{more} have none"
        )
        raise SchemaError(msg)
    x_all = _ratings_matrix(frame, inst.keys, item_prefix)
    # humanlike.fit reads integer ratings only. Rounding the means that `humanlike judge
    # --samples N` writes changed the data (round-half-even: 2.5 and 1.5 both became 2, so an item
    # that separated the classes perfectly got weight 0) while the reliability used the means.
    fractional = np.isfinite(x_all) & (x_all != np.round(x_all))
    if fractional.any():
        r, j = (int(v[0]) for v in np.nonzero(fractional))
        msg = (
            f"ratings column {item_prefix + inst.keys[j]!r}: expected integer ratings (as `humanlike "
            f"judge` writes with --samples 1); row {r + 1}: got {x_all[r, j]:g} "
            f"({int(fractional.any(axis=1).sum())} row(s) hold non-integer ratings, e.g. means of "
            "several samples, which the fit cannot use without changing them)."
        )
        raise SchemaError(msg)
    ratings = pl.Series(
        "_ratings",
        [json.dumps([None if np.isnan(v) else int(v) for v in row]) for row in x_all],
    )
    result: FitResult = fit(
        frame.with_columns(ratings),
        ratings_column="_ratings",
        label_column=label_column,
        group_column=group_column,
        instrument=inst,
        c=c,
        threshold=threshold,
        n_splits=n_splits,
        seed=seed,
    )
    # the rows the fit used: it drops a row with a missing or out-of-scale rating (counted in
    # settings.dropped_rows), so the reliability and its bootstrap must drop the same rows
    lo, hi = inst.scale.min, inst.scale.max
    ok = np.isfinite(x_all).all(axis=1) & ((x_all >= lo) & (x_all <= hi)).all(axis=1)
    x = oriented(x_all, inst)[ok]  # as the fit and the scoring use them (reverse items flipped)
    y = as_bool(frame.get_column(label_column), label_column)[ok]
    groups = frame.get_column(group_column).cast(pl.String).to_numpy()[ok]
    uniq = np.unique(groups)
    if len(uniq) < 2:
        msg = f"need at least 2 groups in {group_column!r} to bootstrap; got {len(uniq)}"
        raise InvalidParameterError(msg)
    index = {g: np.flatnonzero(groups == g) for g in uniq}
    rng = np.random.default_rng(seed)
    coefs, alphas, halves = [], [], []
    for _ in range(n_boot):
        rows = np.concatenate([index[g] for g in rng.choice(uniq, size=len(uniq), replace=True)])
        alphas.append(cronbach_alpha(x[rows]))
        halves.append(split_half(x[rows]))
        if len(np.unique(y[rows])) == 2:
            coefs.append(
                QuestionnaireClassifier(c=c, threshold=threshold, seed=seed)
                .fit(x[rows], y[rows])
                .coef_
            )
    coef = np.array(coefs) if coefs else np.full((0, len(inst.keys)), np.nan)
    weights = []
    for j, item in enumerate(inst.items):
        lo, hi = _interval(coef[:, j].tolist())
        weights.append(
            {
                "key": item.key,
                "statement": item.statement,
                "theme": item.group,
                "weight": round(result.weights[j], 4),
                "ci_low": round(lo, 4),
                "ci_high": round(hi, 4),
                "selected": item.key in result.selected,
                "selection_frequency": round(result.selection_frequency[item.key], 3),
            }
        )
    a_lo, a_hi = _interval(alphas)
    s_lo, s_hi = _interval(halves)
    summary = {
        **result.summary(),
        "bias": round(result.bias, 4),
        "weights": weights,
        # the replicates behind the weight intervals: a resample holding one class has no fit
        # and is left out, so this can be fewer than the n_boot_requested resamples drawn
        "n_boot": len(coefs),
        "n_boot_requested": n_boot,
        "weight_ci_method": "percentile bootstrap over groups of the whole fit (selection included)",
        "reliability": {
            "cronbach_alpha": {
                "value": round(cronbach_alpha(x), 4),
                "ci_low": round(a_lo, 4),
                "ci_high": round(a_hi, 4),
                "n_boot": _finite(alphas),
            },
            "split_half": {
                "value": round(split_half(x), 4),
                "ci_low": round(s_lo, 4),
                "ci_high": round(s_hi, 4),
                "n_boot": _finite(halves),
                "method": "odd/even items, Spearman-Brown",
            },
            "n_rows": int(len(x)),
            "n_items": len(inst.keys),
        },
    }
    write_weights_yaml(result, run_dir / "instrument-fit.yaml", name=f"{inst.name}-fit")
    # an interval of too few replicates is NaN: null in the file, which stays strict JSON
    text = json.dumps(strict_json(summary), indent=2, allow_nan=False)
    (run_dir / "fit.json").write_text(text + "\n", encoding="utf-8")
    return summary
