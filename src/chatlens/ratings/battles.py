"""Input normalisation: any comparison table → one canonical battles frame plus a quarantine.

Why one boundary: every estimator (win rate, Elo, Bradley–Terry, tests) reads the same canonical
frame, so validation happens once. A bad row (missing model, A == B, unknown label, score outside
[0, 1], missing or infinite covariate) is never dropped silently: it goes to :attr:`Battles.quarantine` with
its 1-based data row number and the reason, and the counts travel with the result.

Canonical frame (:attr:`Battles.frame`)::

    row      u32   1-based data row number in the input (header not counted)
    model_a  str
    model_b  str
    score    f64   score of model A in [0, 1] (1 win, 0.5 tie, 0 loss, or soft, e.g. 0.75)
    rater    str   (only when a rater column was given)
    prompt   str   (only when a prompt column was given)
    x_<name> f64   one column per covariate (A-minus-B oriented), see Battles.covariates
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from chatlens.errors import InvalidParameterError, MissingColumnError
from chatlens.ratings.outcomes import OutcomeScale, load_outcome_scale
from chatlens.ratings.style import StyleFeatures, answer_text, load_style_features, markdown_counts

StyleTransform = Literal["ratio", "diff"]

_TRUE = ("true", "1", "yes", "y", "t")
_FALSE = ("false", "0", "no", "n", "f")
#: outcome texts that mean "no answer" (pandas and Python writers emit these for missing values).
_MISSING = ("", "none", "null", "nan", "na", "n/a")
_POSITION = {"left": 1.0, "l": 1.0, "first": 1.0, "right": -1.0, "r": -1.0, "second": -1.0}
QUARANTINE_SCHEMA = {
    "row": pl.UInt32,
    "reason": pl.String,
    "model_a": pl.String,
    "model_b": pl.String,
    "outcome": pl.String,
}


@dataclass(frozen=True)
class Battles:
    """Validated comparisons ready for the estimators.

    Attributes
    ----------
    frame
        The canonical battles (schema in the module docstring).
    quarantine
        Rows set aside: ``row, reason, model_a, model_b, outcome`` (raw values as text).
    rows_in
        Data rows read.
    rows_filtered
        Rows removed on purpose by ``keep_if`` (e.g. incomplete sessions); not errors.
    models
        Sorted model names; estimators index models in this order.
    covariates
        Covariate names; the column of covariate ``c`` is ``x_<c>``.
    standardized
        Covariates that were z-scored (style features), with their (mean, sd) before scaling.
    outcome_source
        How the outcome was read (``"winner:<col> via <scale>"`` or ``"score:<col>"``).
    """

    frame: pl.DataFrame
    quarantine: pl.DataFrame
    rows_in: int
    rows_filtered: int
    models: tuple[str, ...]
    covariates: tuple[str, ...] = ()
    standardized: dict[str, tuple[float, float]] = field(default_factory=dict)
    outcome_source: str = ""

    @property
    def rows_used(self) -> int:
        """Rows that reached the estimators."""
        return self.frame.height

    @property
    def rows_quarantined(self) -> int:
        """Rows set aside as bad input."""
        return self.quarantine.height

    def covariate_matrix(self) -> pl.DataFrame:
        """The covariate columns only, in :attr:`covariates` order."""
        return self.frame.select([f"x_{c}" for c in self.covariates])


def _require(df: pl.DataFrame, columns: Sequence[str | None], source: str) -> None:
    missing = [c for c in columns if c is not None and c not in df.columns]
    if missing:
        msg = (
            f"Column {missing[0]!r} not found in {source}. "
            f"Expected one of the columns: {', '.join(df.columns[:30])}."
        )
        raise MissingColumnError(msg)


def _as_text(col: str) -> pl.Expr:
    return pl.col(col).cast(pl.String, strict=False)


def _model_expr(col: str) -> pl.Expr:
    text = _as_text(col).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _truthy(col: str, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.Boolean:
        return pl.col(col).fill_null(value=False)
    return _as_text(col).str.strip_chars().str.to_lowercase().is_in(_TRUE).fill_null(value=False)


def _not_boolean(col: str, dtype: pl.DataType) -> pl.Expr:
    """A ``keep_if`` value that is neither true, false nor missing (a typo such as ``ture``, or the
    wrong column): such a row was not filtered on purpose, so it is quarantined, not dropped."""
    if dtype == pl.Boolean:
        return pl.lit(value=False)
    norm = _as_text(col).str.strip_chars().str.to_lowercase()
    return (~norm.is_in([*_TRUE, *_FALSE, *_MISSING])).fill_null(value=False)


def _outcome_exprs(
    df: pl.DataFrame, winner: str | None, score: str | None, scale: OutcomeScale
) -> tuple[pl.Expr, pl.Expr, pl.Expr, str]:
    """(score expr, raw outcome text expr, reason expr) for the chosen outcome column."""
    if winner is not None:
        raw = _as_text(winner)
        norm = raw.str.strip_chars().str.to_lowercase().str.replace_all(r"\s+", " ")
        labels = dict(scale.labels)
        value = norm.replace_strict(
            list(labels), list(labels.values()), default=None, return_dtype=pl.Float64
        )
        reason = (
            pl.when(raw.is_null() | norm.is_in(_MISSING))
            .then(pl.lit("missing outcome"))
            .when(value.is_null())
            .then(pl.lit("unknown outcome label: ") + raw)
        )
        return value, raw, reason, f"winner:{winner} via {scale.name} v{scale.version}"
    assert score is not None
    raw = _as_text(score)
    dtype = df.schema[score]
    value = (
        pl.col(score).cast(pl.Float64)
        if dtype.is_numeric()
        else raw.str.strip_chars().cast(pl.Float64, strict=False)
    )
    reason = (
        pl.when(raw.is_null() | (raw.str.strip_chars() == ""))
        .then(pl.lit("missing outcome"))
        .when(value.is_null() | value.is_nan())
        .then(pl.lit("score is not a number: ") + raw)
        .when((value < 0) | (value > 1))
        .then(pl.lit("score outside [0, 1]: ") + raw)
    )
    return value, raw, reason, f"score:{score}"


def _numeric(col: str, dtype: pl.DataType) -> pl.Expr:
    if dtype == pl.String:
        return pl.col(col).str.strip_chars().cast(pl.Float64, strict=False)
    return pl.col(col).cast(pl.Float64, strict=False)


def _is_numeric_text(values: pl.Series) -> bool:
    """A text column whose every non-empty value is a number (CSV input is read as text)."""
    present = values.str.strip_chars().replace("", None).drop_nulls()
    return present.len() > 0 and present.cast(pl.Float64, strict=False).null_count() == 0


def _side_features(
    col: str, values: pl.Series, markdown: StyleFeatures | None
) -> dict[str, pl.Expr]:
    """Style features of one side: a number as it is (also numbers read from CSV as text); text
    (or a conversation's assistant turns) as its length in characters, plus markdown element
    counts when asked."""
    dtype = values.dtype
    if dtype == pl.String and _is_numeric_text(values):
        return {"": _numeric(col, dtype)}
    text = answer_text(col, dtype)
    if text is None:
        return {"": _numeric(col, dtype)}
    feats = {"": text.str.len_chars().cast(pl.Float64)}
    if markdown is not None:
        feats.update({f":{k}": v for k, v in markdown_counts(text, markdown).items()})
    return feats


def prepare_battles(
    data: pl.DataFrame,
    *,
    model_a: str = "model_a",
    model_b: str = "model_b",
    winner: str | None = None,
    score: str | None = None,
    scale: OutcomeScale | str | None = None,
    keep_if: str | None = None,
    rater: str | None = None,
    prompt: str | None = None,
    position: str | None = None,
    a_side: bool = False,
    style: Sequence[tuple[str, str]] = (),
    style_transform: StyleTransform = "ratio",
    style_markdown: bool = False,
    covariates: Sequence[str] = (),
    source: str = "input",
) -> Battles:
    """Validate a comparison table into :class:`Battles`, quarantining bad rows.

    Parameters
    ----------
    data
        One row per comparison.
    model_a, model_b
        Columns naming the two models.
    winner
        A label column: Arena winner labels (``model_a``, ``model_b``, ``tie``,
        ``tie (bothbad)``) or five-point preferences (``Certainly A`` … ``Certainly B``),
        mapped by ``scale``. Exclusive with ``score``. When neither is given, ``winner`` is used
        if the table has such a column.
    score
        A numeric column: score of model A in [0, 1].
    scale
        An :class:`OutcomeScale` or a YAML path; defaults to the bundled scale.
    keep_if
        A boolean column; only rows where it is true are used (e.g. ``is_completed``). Rows
        where it is false or missing are counted as filtered, not quarantined; any other value
        (``ture``, ``maybe``) quarantines its row, which was not filtered on purpose.
    rater, prompt
        Optional id columns, kept for the cluster bootstrap.
    position
        Optional column saying where model A was shown (``left``/``right`` or a boolean "A was
        left"); becomes covariate ``position`` (+1 left, -1 right).
    a_side
        Add covariate ``a_side`` (constant 1): the advantage of being model A. Where A is always
        the left answer (as in HAL), this is the position bias.
    style
        Pairs of columns (A's feature, B's feature); text columns count characters. Each pair
        becomes one z-scored covariate (Chatbot Arena style control).
    style_transform
        ``"ratio"``: (a − b) / (a + b) as in Arena; ``"diff"``: a − b.
    style_markdown
        For text / conversation style pairs, also add header, list and bold counts
        (``chatlens/data/ratings/style_features.yaml``) as covariates ``<pair>:<feature>``.
    covariates
        Numeric columns already oriented A minus B, used as they are.
    source
        Name of the input for messages.

    Returns
    -------
    Battles

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({
    ...     "model_a": ["x", "x", "y", "y", None],
    ...     "model_b": ["y", "x", "x", "z", "z"],
    ...     "winner": ["model_a", "tie", "Likely B", "maybe", "model_b"],
    ... })
    >>> b = prepare_battles(df)
    >>> b.frame.select("row", "score").rows()
    [(1, 1.0), (3, 0.25)]
    >>> b.quarantine.select("row", "reason").rows()[0]
    (2, 'model_a equals model_b')
    """
    if winner is not None and score is not None:
        msg = "Give either winner= or score= for the outcome, not both. Got both."
        raise InvalidParameterError(msg)
    if winner is None and score is None:
        if "winner" not in data.columns:
            msg = (
                f"No outcome column for {source}: pass winner= (labels) or score= (numbers). "
                "Expected a 'winner' column by default; none found."
            )
            raise MissingColumnError(msg)
        winner = "winner"
    if style_transform not in ("ratio", "diff"):
        msg = f"style_transform must be 'ratio' or 'diff'. Got {style_transform!r} instead."
        raise InvalidParameterError(msg)
    style_cols = [c for pair in style for c in pair]
    _require(
        data,
        [model_a, model_b, winner, score, keep_if, rater, prompt, position, *style_cols,
         *covariates],
        source,
    )
    if isinstance(scale, OutcomeScale):
        outcome_scale = scale
    else:
        outcome_scale = load_outcome_scale(scale)

    rows_in = data.height
    df = data.with_row_index("row", offset=1)
    rows_filtered = 0
    if keep_if is not None:
        not_boolean = _not_boolean(keep_if, data.schema[keep_if])
        kept = df.filter(_truthy(keep_if, data.schema[keep_if]) | not_boolean)
        rows_filtered = df.height - kept.height
        df = kept

    value, raw, reason, outcome_source = _outcome_exprs(data, winner, score, outcome_scale)
    a, b = _model_expr(model_a), _model_expr(model_b)
    reason = (
        pl.when(a.is_null())
        .then(pl.lit("missing model_a"))
        .when(b.is_null())
        .then(pl.lit("missing model_b"))
        .when(a == b)
        .then(pl.lit("model_a equals model_b"))
        .otherwise(reason)
    )
    if keep_if is not None:
        reason = (
            pl.when(_not_boolean(keep_if, data.schema[keep_if]))
            .then(pl.lit(f"keep-if column {keep_if!r} is neither true nor false: ") + _as_text(keep_if))
            .otherwise(reason)
        )

    cov_exprs: dict[str, pl.Expr] = {}
    schema = data.schema
    if position is not None:
        pos_dtype = schema[position]
        if pos_dtype == pl.Boolean:
            cov_exprs["position"] = (
                pl.when(pl.col(position).is_null())
                .then(None)
                .when(pl.col(position))
                .then(1.0)
                .otherwise(-1.0)
            )
        else:
            cov_exprs["position"] = (
                _as_text(position)
                .str.strip_chars()
                .str.to_lowercase()
                .replace_strict(
                    list(_POSITION), list(_POSITION.values()), default=None,
                    return_dtype=pl.Float64,
                )
            )
    if a_side:
        cov_exprs["a_side"] = pl.lit(1.0)
    style_names: list[str] = []
    markdown = load_style_features() if style_markdown else None
    for col_a, col_b in style:
        side_a = _side_features(col_a, data.get_column(col_a), markdown)
        side_b = _side_features(col_b, data.get_column(col_b), markdown)
        for suffix in [k for k in side_a if k in side_b]:
            va, vb = side_a[suffix], side_b[suffix]
            name = f"{col_a}-{col_b}{suffix}"
            if style_transform == "ratio":
                total = va + vb
                cov_exprs[name] = pl.when(total == 0).then(0.0).otherwise((va - vb) / total)
            else:
                cov_exprs[name] = va - vb
            style_names.append(name)
    for col in covariates:
        cov_exprs[col] = _numeric(col, schema[col])
    for name, expr in cov_exprs.items():
        # an infinite value ('inf' in a CSV) is no number either: kept, it made every
        # bt-controlled rating and coefficient NaN with nothing quarantined
        reason = (
            pl.when(reason.is_null() & (expr.is_null() | ~expr.cast(pl.Float64).is_finite()))
            .then(pl.lit(f"missing or non-numeric covariate {name}"))
            .otherwise(reason)
        )

    extra: list[pl.Expr] = []
    if rater is not None:
        extra.append(_as_text(rater).alias("rater"))
    if prompt is not None:
        extra.append(_as_text(prompt).alias("prompt"))
    staged = df.select(
        "row",
        a.alias("model_a"),
        b.alias("model_b"),
        value.alias("score"),
        raw.alias("outcome"),
        reason.alias("reason"),
        *extra,
        *[e.cast(pl.Float64).alias(f"x_{n}") for n, e in cov_exprs.items()],
    )
    quarantine = staged.filter(pl.col("reason").is_not_null()).select(
        pl.col("row").cast(pl.UInt32), "reason", "model_a", "model_b", "outcome"
    )
    good = staged.filter(pl.col("reason").is_null()).drop("reason", "outcome")
    good = good.with_columns(pl.col("row").cast(pl.UInt32))

    standardized: dict[str, tuple[float, float]] = {}
    for name in style_names:
        col = f"x_{name}"
        mean = float(good[col].mean() or 0.0) if good.height else 0.0
        sd = float(good[col].std() or 0.0) if good.height > 1 else 0.0
        standardized[name] = (mean, sd)
        scaled = (pl.col(col) - mean) / sd if sd > 0 else pl.col(col) - mean
        good = good.with_columns(scaled.alias(col))

    models = tuple(
        sorted(set(good["model_a"].unique().to_list()) | set(good["model_b"].unique().to_list()))
    )
    return Battles(
        frame=good,
        quarantine=quarantine,
        rows_in=rows_in,
        rows_filtered=rows_filtered,
        models=models,
        covariates=tuple(cov_exprs),
        standardized=standardized,
        outcome_source=outcome_source,
    )
