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
``column:<name>`` / ``column:<name>@<threshold>``
    an existing per-witness score column (``<name>_A``/``<name>_B`` in the per-game layout).
    Per-witness accuracy calls a witness human when its score is above the threshold (0, as
    for a logit, or a 0/1 verdict). A column whose values all lie in [0, 1], some inside (a
    probability), needs its threshold given: at 0 it called every witness human (accuracy 0.5
    beside AUC 0.95).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import polars as pl

from chatlens.errors import InvalidParameterError
from chatlens.humanlike import lite as lite_mod
from chatlens.humanlike.fit import grouped_oof
from chatlens.humanlike.instruments import load_instrument, score_ratings
from chatlens.humanlike.item_scores import oriented
from chatlens.humanlike.scoring import ratings_from_column
from chatlens.humanlike.witnesses import INTERROGATOR_ID, witness_frame
from chatlens.stats.bootstrap import bootstrap_mean
from chatlens.stats.estimate import Estimate
from chatlens.stats.metrics import accuracy, bootstrap_auc, paired_outcomes

__all__ = ["TuringEval", "default_scorers", "turing_eval"]


@dataclass(frozen=True)
class TuringEval:
    """Results of :func:`turing_eval`.

    ``results``: one row per scorer (accuracy, AUC and paired accuracy with CIs; the witnesses
    and games scored, how many witnesses were not and the first one's reason; the interrogators'
    accuracy on the games that scorer scored);
    ``by_opponent``: paired accuracy per AI opponent per scorer next to the interrogators', on
    the games every scorer scored (scorers that scored no game aside);
    ``interrogators``: the human interrogators' accuracy on those same games (its interval a
    cluster bootstrap by ``interrogator_id`` when the data has that column, else Wilson);
    ``scores``: the witness rows with one ``score_<scorer>`` column each;
    ``interrogators_note``: how that interval treats games, said in every output (without
    interrogator ids it treats games as independent, too narrow if one person played several).
    """

    results: pl.DataFrame
    by_opponent: pl.DataFrame
    interrogators: Estimate
    scores: pl.DataFrame
    interrogators_note: str = ""


def default_scorers(witnesses: pl.DataFrame, ratings_column: str = "likert_evaluation") -> list[str]:
    """Scorers that make sense for the columns present."""
    specs: list[str] = []
    if ratings_column in witnesses.columns:
        specs += ["hal16q", "hal32q", "fit:hal32q", "fit-select:hal32q"]
    if "transcript" in witnesses.columns:
        specs += ["lite", "fit:lite"]
    return specs


@dataclass(frozen=True)
class _Scored:
    """One scorer's per-witness scores (NaN = unscored), what it did, and why rows are unscored."""

    values: np.ndarray
    note: str
    problems: list[str | None]
    threshold: float = 0.0


def _unscored_reasons(values: np.ndarray, problems: list[str | None], default: str) -> list[str | None]:
    """A reason for every unscored witness: the reader's own, else the scorer's ``default``.

    Why: an unscored witness leaves accuracy, AUC and its game's paired outcome; the reader must
    be able to say how many and why (never silent loss).
    """
    return [None if np.isfinite(v) else (why or default)
            for v, why in zip(values, problems, strict=True)]


def _as_numbers(col: pl.Series, spec: str) -> pl.Series:
    """A score column as Float64; values that are not numbers are an error with count and example.

    Why: a text column (``column:witness``) ended in a polars cast traceback, and a lenient cast
    would silently leave its witnesses unscored.
    """
    if col.dtype.is_numeric() or col.dtype in (pl.Boolean, pl.Null):
        return col.cast(pl.Float64)
    if col.dtype in (pl.String, pl.Categorical, pl.Enum):
        values = col.cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False)
    else:  # lists, structs, dates: no number to read
        values = pl.Series(col.name, [None] * col.len(), dtype=pl.Float64)
    bad = col.is_not_null() & values.is_null()
    if bad.any():
        example = col.filter(bad)[0]
        msg = (f"scorer {spec!r}: column {col.name!r} must hold numeric scores; "
               f"{int(bad.sum()):,} of {col.len():,} values are not numbers (e.g. {example!r})")
        raise InvalidParameterError(msg)
    return values


def _column_scores(spec: str, w: pl.DataFrame) -> _Scored:
    """A precomputed score column, which must be numeric (or text holding numbers)."""
    col, threshold = spec.split(":", 1)[1], None
    name, at, given = col.rpartition("@")
    if at and col not in w.columns:
        try:
            col, threshold = name, float(given)
        except ValueError:
            msg = f"scorer {spec!r}: the threshold after '@' must be a number. Got {given!r} instead."
            raise InvalidParameterError(msg) from None
        if not np.isfinite(threshold):
            msg = f"scorer {spec!r}: the threshold must be finite. Got {given!r} instead."
            raise InvalidParameterError(msg)
    if col not in w.columns:
        msg = f"scorer {spec!r}: column {col!r} not found"
        raise InvalidParameterError(msg)
    values = _as_numbers(w.get_column(col), spec).to_numpy()
    finite = values[np.isfinite(values)]
    # 0/1 verdicts split correctly at 0; values inside (0, 1) are all "human" there
    if (threshold is None and finite.size and finite.min() >= 0 and finite.max() <= 1
            and ((finite > 0) & (finite < 1)).any()):
        msg = (
            f"scorer {spec!r}: every value of column {col!r} lies in [0, 1] (a probability?), and "
            "per-witness accuracy calls a witness human above 0, i.e. all of them. Give the "
            f"threshold: 'column:{col}@0.5' (or '@0' if the values are logits)."
        )
        raise InvalidParameterError(msg)
    threshold = 0.0 if threshold is None else threshold
    note = "precomputed column" + (f", human above {threshold:g}" if threshold else "")
    return _Scored(values, note,
                   _unscored_reasons(values, [None] * len(values), f"no number in column {col!r}"),
                   threshold)


def _lite_scores(spec: str, w: pl.DataFrame, *, speaker: str, n_splits: int, seed: int) -> _Scored:
    """HL-lite with shipped weights (``lite``) or retrained in grouped CV (``fit:lite``)."""
    if "transcript" not in w.columns:
        msg = f"scorer {spec!r} needs transcripts; none found"
        raise InvalidParameterError(msg)
    if spec == "lite":
        out = lite_mod.lite_score(w, text_column="transcript", speaker=speaker)
        values = out.get_column("hl_lite_logit").cast(pl.Float64).fill_null(np.nan).to_numpy()
        note = "shipped weights (trained on dev games)"
    else:
        values = lite_mod.cross_validate_lite(w, text_column="transcript", speaker=speaker,
                                              n_splits=n_splits, seed=seed)
        note = f"grouped {n_splits}-fold CV"
    reasons = _unscored_reasons(values, [None] * len(values),
                                f"no turn by speaker {speaker!r} in the transcript")
    return _Scored(values, note, reasons)


def _ratings_scores(spec: str, w: pl.DataFrame, *, ratings_column: str, ratings_instrument: str,
                    n_splits: int, seed: int) -> _Scored:
    """An instrument's fixed weights, or its grouped-CV refit, applied to the ratings column."""
    fitted = spec.startswith(("fit:", "fit-select:"))
    mode, _, name = spec.partition(":") if fitted else ("", "", spec)
    inst = load_instrument(name)
    if ratings_column not in w.columns:
        msg = f"scorer {spec!r} needs the ratings column {ratings_column!r}"
        raise InvalidParameterError(msg)
    # lists follow ratings_instrument's item order; any list cell says so (the first cell
    # decided, and a first cell 'error' left all 240 witnesses of a file unscored)
    col = w.get_column(ratings_column)
    if isinstance(col.dtype, (pl.List, pl.Array)):
        has_lists = True
    elif isinstance(col.dtype, pl.String):
        has_lists = bool(col.str.strip_chars().str.starts_with("[").any())
    else:
        has_lists = False
    list_keys = ratings_instrument if has_lists else None
    x, problems = ratings_from_column(w, ratings_column, inst, list_keys=list_keys)
    if not mode:
        logit, _p = score_ratings(x, inst)
        return _Scored(logit, "fixed weights",
                       _unscored_reasons(logit, problems, "ratings could not be read"))
    y = w.get_column("is_human").to_numpy().astype(bool)
    groups = w.get_column("game_id").to_numpy()
    x = oriented(x, inst)  # as humanlike fit refits them
    ok = np.isfinite(x).all(axis=1)
    out = np.full(len(y), np.nan)
    threshold = 0.2 if mode == "fit-select" else None
    out[ok], _ = grouped_oof(x[ok], y[ok], groups[ok], threshold=threshold,
                             n_splits=n_splits, seed=seed)
    sel = ", |w|>0.2 in fold" if threshold else ""
    return _Scored(out, f"grouped {n_splits}-fold CV{sel}",
                   _unscored_reasons(out, problems, "ratings could not be read"))


def _score(spec: str, w: pl.DataFrame, *, ratings_column: str, ratings_instrument: str,
           speaker: str, n_splits: int, seed: int) -> _Scored:
    """Dispatch a scorer spec to its kind (see the module docstring)."""
    if spec.startswith("column:"):
        return _column_scores(spec, w)
    if spec in ("lite", "fit:lite"):
        return _lite_scores(spec, w, speaker=speaker, n_splits=n_splits, seed=seed)
    return _ratings_scores(spec, w, ratings_column=ratings_column,
                           ratings_instrument=ratings_instrument, n_splits=n_splits, seed=seed)


def _first_unscored(w: pl.DataFrame, problems: list[str | None]) -> str | None:
    """The first unscored witness named by game and slot, with its reason."""
    for r, why in enumerate(problems):
        if why is not None:
            return f"game_id {w['game_id'][r]!r} slot {w['slot'][r]!r}: {why}"
    return None


#: What the interrogators' interval assumes, for the outputs (``TuringEval.interrogators_note``).
_NO_INTERROGATOR_IDS = (
    f"games treated as independent: the data has no {INTERROGATOR_ID!r} column, so an "
    "interrogator who played several games counts as several (the interval may be too narrow)"
)


def _interrogators_on(game_rows: pl.DataFrame, ids: np.ndarray, *, n_boot: int,
                      seed: int) -> Estimate:
    """The interrogators' accuracy on the games ``ids`` (a scorer's scored games).

    Why: the comparison "judge vs interrogators" only means something on the same games; games a
    scorer could not score would otherwise count for the interrogators alone. One interrogator's
    verdicts are correlated, so with ``interrogator_id`` the interval resamples interrogators
    (a game without an id is its own cluster); without it, Wilson over games.
    """
    games = game_rows.filter(pl.col("game_id").is_in(ids.astype(str).tolist())
                             & pl.col("interrogator_correct").is_not_null())
    ic = games.get_column("interrogator_correct")
    if (INTERROGATOR_ID not in games.columns or not games.height
            or games.get_column(INTERROGATOR_ID).null_count() == games.height):
        return accuracy(float(ic.sum() or 0), ic.len())
    est = bootstrap_mean(ic.cast(pl.Float64), clusters=games.get_column(INTERROGATOR_ID),
                         n_boot=n_boot, seed=seed)
    return replace(est, method=est.method.replace(
        "cluster bootstrap", f"cluster bootstrap by {INTERROGATOR_ID}", 1))


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
    w = witness_frame(data)
    specs = list(scorers) if scorers else default_scorers(w, ratings_column)
    if not specs:
        msg = "no scorer applies: pass scorers= (e.g. 'column:score') or provide ratings/transcripts"
        raise InvalidParameterError(msg)
    y = w.get_column("is_human").to_numpy().astype(bool)
    groups = w.get_column("game_id").to_numpy()
    game_rows = w.unique("game_id", keep="first", maintain_order=True)
    rows = []
    score_cols = []
    opp_frames = []
    common: set[str] | None = None
    for spec in specs:
        scored = _score(spec, w, ratings_column=ratings_column,
                        ratings_instrument=ratings_instrument, speaker=speaker,
                        n_splits=n_splits, seed=seed)
        s = scored.values
        ok = np.isfinite(s)
        acc = accuracy(float(((s[ok] > scored.threshold) == y[ok]).sum()), int(ok.sum()))
        a = bootstrap_auc(y[ok], s[ok], groups[ok], n_boot=n_boot, seed=seed)
        ids, outcome = paired_outcomes(y, s, groups)
        pacc = accuracy(float(outcome.sum()), len(ids))
        inter = _interrogators_on(game_rows, ids, n_boot=n_boot, seed=seed)
        rows.append({
            "scorer": spec, "accuracy": acc.value, "accuracy_ci_low": acc.ci_low,
            "accuracy_ci_high": acc.ci_high, "auc": a.value, "auc_ci_low": a.ci_low,
            "auc_ci_high": a.ci_high, "paired_accuracy": pacc.value,
            "paired_ci_low": pacc.ci_low, "paired_ci_high": pacc.ci_high,
            "n_witnesses": int(ok.sum()), "n_games": len(ids),
            "n_unscored": int((~ok).sum()), "first_unscored": _first_unscored(w, scored.problems),
            "interrogators": inter.value, "interrogators_n": inter.n, "note": scored.note,
        })
        score_cols.append(pl.Series(f"score_{spec}", s).fill_nan(None))
        opp_frames.append(pl.DataFrame({"game_id": ids.astype(str), f"paired_{spec}": outcome}))
        if len(ids):  # a scorer with no scored game must not empty the comparison for the others
            done = set(ids.astype(str).tolist())
            common = done if common is None else common & done
    shared = np.array(sorted(common or ()), dtype=object)
    interrogators = _interrogators_on(game_rows, shared, n_boot=n_boot, seed=seed)
    has_ids = (INTERROGATOR_ID in game_rows.columns
               and game_rows.get_column(INTERROGATOR_ID).null_count() < game_rows.height)
    note = (f"95% CI: {interrogators.method}; games without an id are their own cluster"
            if has_ids else f"95% CI: Wilson, {_NO_INTERROGATOR_IDS}")
    scores = w.with_columns(score_cols)
    per_game = game_rows.filter(pl.col("game_id").is_in(list(common or ()))).select(
        "game_id", "opponent", "interrogator_correct")
    for f in opp_frames:
        per_game = per_game.join(f, on="game_id", how="left")
    aggs = [pl.len().alias("n_games"),
            pl.col("interrogator_correct").cast(pl.Float64).mean().alias("interrogators")]
    aggs += [pl.col(f"paired_{s}").mean().alias(s) for s in specs]
    by_opp = per_game.group_by("opponent").agg(aggs).sort("n_games", descending=True)
    results = pl.DataFrame(rows)
    return TuringEval(results=results, by_opponent=by_opp, interrogators=interrogators,
                      scores=scores, interrogators_note=note)
