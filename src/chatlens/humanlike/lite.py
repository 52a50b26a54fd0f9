"""HL-lite: a human-likeness judge that needs no LLM.

Why: every HAL score costs a reasoning-model call (30-60 s). Many of the traits the HAL judges
reward are visible in the text itself: brevity and its variation, lowercase texting, typos and
uneven punctuation, emoji and elongations, slang, hedges, questions back, personal details, talk
about being an AI, formal or markdown formatting. HL-lite measures those on the rated speaker's
turns with vectorised polars string expressions and combines them with a transparent model
(standardised features, logistic regression) whose weights ship as a data file
(``chatlens/data/humanlike/hllite-weights.yaml``); word lists ship as
``chatlens/data/humanlike/lexicons.yaml``.

Speaker turns are found in transcripts with line prefixes (``I:``/``W:``, ``P:``/``D:``,
``user:``/``assistant:``; unprefixed lines continue the previous turn) and in role lists
(a list of ``{role, content}`` structs, or the same as JSON text; ``from``/``value`` and
``speaker``/``text`` keys are accepted too).

Regenerate the shipped weights with ``scripts/train_hllite.py`` (it calls :func:`train_lite`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from chatlens import datafiles
from chatlens.datafiles.schemas import HlliteWeights
from chatlens.errors import DataFileError, InvalidParameterError, MissingColumnError

__all__ = [
    "FEATURES",
    "Lexicons",
    "LiteModel",
    "cross_validate_lite",
    "lite",
    "lite_features",
    "lite_score",
    "load_lexicons",
    "load_lite_model",
    "save_lite_model",
    "speaker_turns",
    "train_lite",
]

# A line starts a new turn when it begins with a short speaker label and a colon.
_PREFIX = (r"^\s*([A-Z]{1,3}|(?i:user|assistant|human|ai|bot|system|patient|doctor|witness|"
           r"interrogator|investigator|model|gpt|chatbot))\s*:\s?")
_WB = r"(?-u:\b)"  # ASCII word boundary: keeps the regex engine on its fast DFA path


# ---------------------------------------------------------------------------------------------
# lexicons
@dataclass(frozen=True)
class Lexicons:
    """Named phrase lists (see ``lexicons.yaml``); ``literal`` categories match case-sensitively."""

    name: str
    version: str
    categories: dict[str, tuple[str, ...]]
    literal: frozenset[str] = frozenset()

    def regex(self, category: str) -> str:
        """One alternation regex for a category (phrases escaped, longest first)."""
        phrases = sorted(self.categories[category], key=len, reverse=True)
        if category in self.literal:
            return "(?:" + "|".join(re.escape(p) for p in phrases) + ")"
        alts = []
        for p in phrases:
            body = r"\s+".join(re.escape(w) for w in p.split())
            lead = _WB if re.match(r"\w", p) else ""
            tail = _WB if re.search(r"\w$", p) else ""
            alts.append(f"{lead}{body}{tail}")
        return "(?i)(?:" + "|".join(alts) + ")"


def load_lexicons(path: str | Path | None = None) -> Lexicons:
    """Load and validate the HL-lite word lists (bundled file by default)."""
    doc = datafiles.load("humanlike/lexicons.yaml" if path is None else Path(path), kind="hllite-lexicons")
    cats = {str(name): tuple(dict.fromkeys(str(p).strip() for p in spec.phrases))
            for name, spec in doc.categories.items()}
    literal = frozenset(str(name) for name, spec in doc.categories.items() if spec.match == "literal")
    return Lexicons(doc.name, str(doc.version), cats, literal)


# ---------------------------------------------------------------------------------------------
# speaker turns
def _role_list_dtype(col: pl.Series) -> tuple[pl.Series, str, str] | None:
    """A role-list column as List(Struct), with its (role, text) field names; None otherwise."""
    if isinstance(col.dtype, pl.String):
        first = col.drop_nulls().str.strip_chars()
        first = first.filter(first.str.len_chars() > 0)
        if not len(first) or not first[0].startswith("["):
            return None
        try:
            col = col.str.json_decode(infer_schema_length=1000)
        except pl.exceptions.PolarsError as exc:
            msg = f"transcript column {col.name!r}: JSON role list could not be decoded ({exc})"
            raise InvalidParameterError(msg) from None
    if not isinstance(col.dtype, pl.List) or not isinstance(col.dtype.inner, pl.Struct):
        return None
    fields = {f.name for f in col.dtype.inner.fields}
    for role, text in (("role", "content"), ("from", "value"), ("speaker", "text")):
        if {role, text} <= fields:
            return col, role, text
    msg = (f"transcript column {col.name!r}: role-list entries need role/content, from/value or "
           f"speaker/text fields; got {sorted(fields)}")
    raise InvalidParameterError(msg)


def speaker_turns(frame: pl.DataFrame, *, text_column: str, speaker: str) -> pl.DataFrame:
    """The rated speaker's turns: columns ``_row`` (input row index) and ``turn`` (text).

    Line-prefixed transcripts are split into lines, each line takes the label of the last prefix
    seen (continuation lines stay in their turn), and consecutive lines of one turn are joined.
    Role lists are exploded and filtered on the role. Rows without any turn of ``speaker``
    simply have no entry.
    """
    if text_column not in frame.columns:
        msg = f"text column {text_column!r} not found; columns are {frame.columns}"
        raise MissingColumnError(msg)
    col = frame.get_column(text_column)
    roles = _role_list_dtype(col)
    if roles is not None:
        lst, role, text = roles
        return (
            pl.DataFrame({"_row": pl.int_range(0, frame.height, eager=True, dtype=pl.UInt32),
                          "_m": lst})
            .explode("_m")
            .unnest("_m")
            .filter(pl.col(role).cast(pl.String).str.to_lowercase() == speaker.lower())
            .select("_row", pl.col(text).cast(pl.String).fill_null("").alias("turn"))
        )
    if not isinstance(col.dtype, pl.String):
        msg = f"text column {text_column!r} must hold text or role lists, got {col.dtype}"
        raise InvalidParameterError(msg)
    lines = (
        pl.DataFrame({"_row": pl.int_range(0, frame.height, eager=True, dtype=pl.UInt32),
                      "_line": col.fill_null("").str.replace_all("\r\n", "\n").str.split("\n")})
        .explode("_line")
        .with_columns(pl.col("_line").str.extract(_PREFIX, 1).alias("_who"))
        .with_columns(
            pl.col("_who").is_not_null().cum_sum().over("_row").alias("_turn"),
            pl.col("_who").forward_fill().over("_row").alias("_who"),
        )
        .filter(pl.col("_who").str.to_lowercase() == speaker.lower())
        .with_columns(pl.col("_line").str.replace(_PREFIX, ""))
    )
    return (
        lines.group_by("_row", "_turn", maintain_order=True)
        .agg(pl.col("_line").str.join("\n").alias("turn"))
        .select("_row", "turn")
    )


# ---------------------------------------------------------------------------------------------
# features
_ELONG = "(?i)(?:" + "|".join(f"{c}{{3,}}" for c in "abcdefghijklmnopqrstuvwxyz") + ")"
_MARKDOWN = r"(?m)(?:^\s*(?:[-*•]\s|\d+[.)]\s|#{1,6}\s)|\*\*|`|^\s*>)"

#: Turn-level regex counts: name -> pattern.
_COUNTS: dict[str, str] = {
    "cap_i": _WB + "I" + _WB,
    "lower_i": _WB + "i" + _WB,
    "cap_start": r"(?:^|[.!?]\s+)\p{Lu}",
    "lower_start": r"(?:^|[.!?]\s+)\p{Ll}",
    "comma": ",",
    "period": r"\.",
    "exclaim": "!",
    "multi_punct": r"[!?]{2,}|\.{2,}|…",
    "dash": "[—–]| - ",
    "curly": "[’‘“”]",
    "emoji": r"\p{Extended_Pictographic}",
    "elongation": _ELONG,
    "digits": r"\d+",
    "markdown": _MARKDOWN,
    "caps_word": _WB + r"[A-Z]{2,}" + _WB,
    "redacted": r"<[A-Z_]+>",
    "long_word": _WB + r"[A-Za-z]{9,}" + _WB,
    "letters": r"\p{L}",
}

#: Feature names in model order (documented in docs/humanlike.md).
FEATURES: tuple[str, ...] = (
    "log_turns", "log_mean_words", "cv_words", "log_max_words", "short_turn_share",
    "lower_start_share", "no_upper_share", "no_end_punct_share", "question_share",
    "mean_word_len",
    "lower_i_rate", "cap_i_rate", "cap_start_rate", "lower_start_rate", "comma_rate",
    "period_rate", "exclaim_rate", "multi_punct_rate", "dash_rate", "curly_rate", "emoji_rate",
    "elongation_rate", "digits_rate", "markdown_rate", "caps_word_rate", "redacted_rate",
    "long_word_rate",
    "slang_rate", "apostrophe_drop_rate", "hedge_rate", "ask_back_rate", "meta_ai_rate",
    "formal_rate", "personal_rate", "laugh_rate", "emoticon_rate",
)


def lite_features(
    frame: pl.DataFrame,
    *,
    text_column: str,
    speaker: str,
    lexicons: Lexicons | None = None,
) -> pl.DataFrame:
    """One row per input row: ``hl_lite_n_turns`` and the :data:`FEATURES` columns.

    Rates are per 100 words of the speaker (log1p-transformed); shares are fractions of the
    speaker's turns. Rows without a speaker turn get ``n_turns = 0`` and null features.
    """
    lex = lexicons or load_lexicons()
    turns = speaker_turns(frame, text_column=text_column, speaker=speaker)
    t = pl.col("turn")
    lex_cats = [c for c in ("slang", "apostrophe_drop", "hedge", "ask_back", "meta_ai", "formal",
                            "personal", "laugh", "emoticon") if c in lex.categories]
    per_turn = turns.with_columns(
        t.str.count_matches(r"\S+").alias("_w"),
        t.str.contains(r"^\s*\p{Ll}").alias("_lower_start"),
        (~t.str.contains(r"\p{Lu}") & t.str.contains(r"\p{L}")).alias("_no_upper"),
        (~t.str.contains(r"[.!?…)\]]\s*$")).alias("_no_end"),
        t.str.contains(r"\?", literal=False).alias("_q"),
        *[t.str.count_matches(p).alias(f"_c_{n}") for n, p in _COUNTS.items()],
        *[t.str.count_matches(lex.regex(c)).alias(f"_c_{c}") for c in lex_cats],
    )
    count_names = [*_COUNTS, *lex_cats]
    agg = per_turn.group_by("_row").agg(
        pl.len().alias("_n"),
        pl.col("_w").mean().alias("_mean_w"),
        pl.col("_w").std(ddof=0).alias("_sd_w"),
        pl.col("_w").max().alias("_max_w"),
        pl.col("_w").sum().alias("_sum_w"),
        (pl.col("_w") <= 2).mean().alias("short_turn_share"),
        pl.col("_lower_start").mean().alias("lower_start_share"),
        pl.col("_no_upper").mean().alias("no_upper_share"),
        pl.col("_no_end").mean().alias("no_end_punct_share"),
        pl.col("_q").mean().alias("question_share"),
        *[pl.col(f"_c_{n}").sum().alias(f"_s_{n}") for n in count_names],
    )
    per100 = 100.0 / pl.max_horizontal(pl.col("_sum_w"), pl.lit(1))
    feats = agg.with_columns(
        pl.col("_n").cast(pl.Float64).log1p().alias("log_turns"),
        pl.col("_mean_w").log1p().alias("log_mean_words"),
        pl.when(pl.col("_mean_w") > 0).then(pl.col("_sd_w") / pl.col("_mean_w")).otherwise(0.0)
        .alias("cv_words"),
        pl.col("_max_w").cast(pl.Float64).log1p().alias("log_max_words"),
        (pl.col("_s_letters") / pl.max_horizontal(pl.col("_sum_w"), pl.lit(1))).alias(
            "mean_word_len"),
        *[(pl.col(f"_s_{n}") * per100).log1p().alias(f"{n}_rate")
          for n in count_names if n != "letters"],
    )
    base = pl.DataFrame({"_row": pl.int_range(0, frame.height, eager=True, dtype=pl.UInt32)})
    out = base.join(feats, on="_row", how="left").sort("_row")
    for f in FEATURES:
        if f not in out.columns:  # a lexicon category missing from a user lexicon file
            out = out.with_columns(pl.lit(0.0).alias(f))
    return out.select(
        pl.col("_n").fill_null(0).cast(pl.Int64).alias("hl_lite_n_turns"),
        *[pl.col(f).cast(pl.Float64) for f in FEATURES],
    )


# ---------------------------------------------------------------------------------------------
# model
@dataclass(frozen=True)
class LiteModel:
    """Standardised-logistic HL-lite model: ``logit = sum(w * (x - mean) / scale) + intercept``."""

    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float
    name: str = "hl-lite"
    version: str = "1.0.0"
    info: dict[str, Any] = field(default_factory=dict)

    def decision(self, x: np.ndarray) -> np.ndarray:
        """Logits for an (n, k) feature matrix in :attr:`features` order (NaN rows stay NaN)."""
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return z @ np.asarray(self.weights) + self.intercept


def load_lite_model(path: str | Path | None = None) -> LiteModel:
    """Load HL-lite weights (bundled by default); malformed files raise DataFileError."""
    source = "humanlike/hllite-weights.yaml" if path is None else Path(path)
    doc, record = datafiles.load_with_record(source, kind="hllite-weights")
    return model_from_file(doc, record.file)


def model_from_file(doc: HlliteWeights, where: str) -> LiteModel:
    """The model of a validated weights file; every feature must be one HL-lite computes."""
    names = tuple(f.name for f in doc.features)
    unknown = sorted(set(names) - set(FEATURES))
    if unknown:
        raise DataFileError(where, "features", f"features among {list(FEATURES)}", unknown)
    return LiteModel(names, tuple(f.mean for f in doc.features), tuple(f.scale for f in doc.features),
                     tuple(f.weight for f in doc.features), doc.intercept, doc.name,
                     str(doc.version), dict(doc.source) if isinstance(doc.source, dict) else {})


def save_lite_model(model: LiteModel, path: str | Path) -> Path:
    """Write the model as the YAML data file :func:`load_lite_model` reads."""
    import yaml

    doc = {
        "name": model.name,
        "version": model.version,
        "description": ("HL-lite: standardised text features of the rated speaker's turns and a "
                        "logistic regression (human vs AI witness). logit = sum(weight * "
                        "(x - mean) / scale) + intercept."),
        "source": model.info,
        "intercept": float(model.intercept),
        "features": [
            {"name": n, "mean": float(m), "scale": float(s), "weight": float(w)}
            for n, m, s, w in zip(model.features, model.mean, model.scale, model.weights, strict=True)
        ],
    }
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return p


def _fit_model(x: np.ndarray, y: np.ndarray, *, c: float, l1: bool, seed: int,
               features: Sequence[str]) -> LiteModel:
    from chatlens.humanlike.fit import logistic

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-9] = 1.0
    model = logistic(c, l1=l1, seed=seed).fit((x - mean) / scale, y)
    return LiteModel(tuple(features), tuple(mean.tolist()), tuple(scale.tolist()),
                     tuple(model.coef_[0].tolist()), float(model.intercept_[0]))


def _training_matrix(frame: pl.DataFrame, *, text_column: str, speaker: str, label_column: str,
                     group_column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from chatlens.humanlike.fit import as_bool

    for col in (label_column, group_column):
        if col not in frame.columns:
            msg = f"column {col!r} not found; columns are {frame.columns}"
            raise MissingColumnError(msg)
    feats = lite_features(frame, text_column=text_column, speaker=speaker)
    x = feats.select(FEATURES).to_numpy().astype(np.float64)
    ok = np.isfinite(x).all(axis=1)
    y = as_bool(frame.get_column(label_column), label_column)
    g = frame.get_column(group_column).cast(pl.String).to_numpy()
    return x, y, g, ok


def cross_validate_lite(
    frame: pl.DataFrame,
    *,
    text_column: str = "transcript",
    speaker: str = "W",
    label_column: str = "is_human",
    group_column: str = "game_id",
    c: float = 0.3,
    l1: bool = False,
    n_splits: int = 10,
    seed: int = 0,
) -> np.ndarray:
    """Out-of-fold HL-lite logits with folds grouped by ``group_column`` (fixed hyper-parameters).

    Standardisation and the regression are fitted inside each training fold only. Rows without
    a speaker turn get NaN.
    """
    from sklearn.model_selection import GroupKFold

    x, y, g, ok = _training_matrix(frame, text_column=text_column, speaker=speaker,
                                   label_column=label_column, group_column=group_column)
    oof = np.full(len(y), np.nan)
    idx = np.flatnonzero(ok)
    k = min(n_splits, len(np.unique(g[idx])))
    for tr, te in GroupKFold(n_splits=k, shuffle=True, random_state=seed).split(
        x[idx], y[idx], g[idx]
    ):
        m = _fit_model(x[idx[tr]], y[idx[tr]], c=c, l1=l1, seed=seed, features=FEATURES)
        oof[idx[te]] = m.decision(x[idx[te]])
    return oof


def train_lite(
    frame: pl.DataFrame,
    *,
    text_column: str = "transcript",
    speaker: str = "W",
    label_column: str = "is_human",
    group_column: str = "game_id",
    c: float = 0.3,
    l1: bool = False,
    n_splits: int = 10,
    seed: int = 0,
    info: dict[str, Any] | None = None,
) -> LiteModel:
    """Fit HL-lite on labelled dialogues; the grouped-CV AUC is recorded in ``model.info``.

    Hyper-parameters are fixed (default L2, C=0.3), never tuned on the evaluation folds.
    """
    from chatlens import __version__
    from chatlens.humanlike.metrics import bootstrap_auc, paired_outcomes, wilson

    x, y, g, ok = _training_matrix(frame, text_column=text_column, speaker=speaker,
                                   label_column=label_column, group_column=group_column)
    oof = cross_validate_lite(frame, text_column=text_column, speaker=speaker,
                              label_column=label_column, group_column=group_column, c=c, l1=l1,
                              n_splits=n_splits, seed=seed)
    a = bootstrap_auc(y[ok], oof[ok], g[ok], seed=seed)
    ids, outcome = paired_outcomes(y, oof, g)
    pacc = wilson(float(outcome.sum()), len(ids))
    model = _fit_model(x[ok], y[ok], c=c, l1=l1, seed=seed, features=FEATURES)
    lex = load_lexicons()
    meta = {
        "trained_by": f"chatlens {__version__} (chatlens.humanlike.lite.train_lite)",
        "lexicons": f"{lex.name} {lex.version}",
        "model": {"type": "standardised logistic regression", "penalty": "l1" if l1 else "l2",
                  "C": c},
        "training_rows": int(ok.sum()),
        "training_groups": int(len(np.unique(g[ok]))),
        "cv": {"method": f"GroupKFold({n_splits}, shuffled, seed {seed}) by {group_column}",
               "auc": round(a.value, 4), "auc_ci": [round(a.ci_low, 4), round(a.ci_high, 4)],
               "paired_accuracy": round(pacc.value, 4), "paired_n": pacc.n},
        **(info or {}),
    }
    return LiteModel(model.features, model.mean, model.scale, model.weights, model.intercept,
                     info=meta)


def lite_score(
    frame: pl.DataFrame,
    *,
    text_column: str,
    speaker: str = "W",
    model: LiteModel | str | Path | None = None,
    keep_features: bool = False,
    batch_size: int = 200_000,
) -> pl.DataFrame:
    """Add ``hl_lite_logit``, ``hl_lite_prob`` and ``hl_lite_n_turns`` (and features if asked).

    Rows are processed in slices of ``batch_size`` so memory stays bounded on large logs.

    Examples
    --------
    >>> df = pl.DataFrame({"t": [
    ...     "I: where u from\\nW: ohio lol\\nI: cool\\nW: ya its cold af rn",
    ...     "I: where are you from?\\nW: I'm from California! How about you?",
    ... ]})
    >>> out = lite_score(df, text_column="t", speaker="W")
    >>> out["hl_lite_logit"][0] > out["hl_lite_logit"][1]
    True
    """
    m = model if isinstance(model, LiteModel) else load_lite_model(model)
    if batch_size < 1:
        msg = f"The 'batch_size' parameter of lite_score must be >= 1. Got {batch_size} instead."
        raise InvalidParameterError(msg)
    if frame.height > batch_size:
        return pl.concat([
            lite_score(frame.slice(i, batch_size), text_column=text_column, speaker=speaker,
                       model=m, keep_features=keep_features, batch_size=batch_size)
            for i in range(0, frame.height, batch_size)
        ])
    feats = lite_features(frame, text_column=text_column, speaker=speaker)
    x = feats.select(m.features).to_numpy().astype(np.float64)
    logit = m.decision(x)
    with np.errstate(over="ignore"):
        prob = 1.0 / (1.0 + np.exp(-logit))
    extra = feats if keep_features else feats.select("hl_lite_n_turns")
    return pl.concat([frame, extra], how="horizontal").with_columns(
        pl.Series("hl_lite_logit", logit).fill_nan(None),
        pl.Series("hl_lite_prob", prob).fill_nan(None),
    )


def lite(
    frame: pl.DataFrame,
    *,
    text_column: str,
    speaker: str = "W",
    model: LiteModel | str | Path | None = None,
    keep_features: bool = False,
) -> pl.DataFrame:
    """The ``chatlens humanlike lite`` command as a function (alias of :func:`lite_score`)."""
    return lite_score(frame, text_column=text_column, speaker=speaker, model=model,
                      keep_features=keep_features)
