"""File-level classification: read a table, add detector columns, write it back.

Why a file-level API: the team's evaluation scripts and the ``chatlens classify`` command work on
files of messages (CSV, JSONL or Parquet, chosen by extension), not on Python objects. The output
keeps every input column, in order, and appends the detector's columns.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import polars as pl

from chatlens.errors import InvalidParameterError, MissingColumnError, SchemaError, SourceError

Detector = Literal["rules", "learned", "llm"]
_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet",
            ".pq": "parquet"}


def _format(path: Path, role: str) -> str:
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        msg = (
            f"Cannot tell the format of {role} file {path}: expected an extension among "
            f"{sorted(_FORMATS)}. Got {path.suffix or 'none'!r}."
        )
        raise SourceError(msg)
    return fmt


def read_table(path: str | Path) -> pl.DataFrame:
    """Read a CSV, JSONL or Parquet file (by extension) into a DataFrame."""
    p = Path(path)
    fmt = _format(p, "input")
    if not p.is_file():
        msg = f"Input file {p} does not exist."
        raise SourceError(msg)
    try:
        if fmt == "csv":
            return pl.read_csv(p, infer_schema_length=10000)
        if fmt == "jsonl":
            return pl.read_ndjson(p, infer_schema_length=10000)
        return pl.read_parquet(p)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        msg = f"Cannot read {fmt.upper()} file {p}: {exc}"
        raise SourceError(msg) from exc


def write_table(frame: pl.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame as CSV, JSONL or Parquet (by extension).

    CSV has no list type: list columns (``refusal_cues``) are written joined with ``;``.
    """
    p = Path(path)
    fmt = _format(p, "output")
    p.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        lists = [c for c, t in frame.schema.items() if isinstance(t, pl.List)]
        if lists:
            frame = frame.with_columns(
                pl.col(c).cast(pl.List(pl.String)).list.join(";") for c in lists
            )
        frame.write_csv(p)
    elif fmt == "jsonl":
        frame.write_ndjson(p)
    else:
        frame.write_parquet(p)
    return p


def _text_column(frame: pl.DataFrame, column: str, path: Path) -> pl.Series:
    if column not in frame.columns:
        msg = (
            f"Column {column!r} not found in {path}: expected the message-text column given by "
            f"--text-column. Columns present: {frame.columns}."
        )
        raise MissingColumnError(msg)
    series = frame[column]
    if series.dtype not in (pl.String, pl.Null):
        msg = (
            f"Column {column!r} of {path} must hold text. Got dtype {series.dtype} instead."
        )
        raise SchemaError(msg)
    return series.cast(pl.String)


def _check_detector(detector: str) -> None:
    if detector not in ("rules", "learned", "llm"):
        msg = f"The 'detector' parameter must be one of rules, learned, llm. Got {detector!r}."
        raise InvalidParameterError(msg)


def classify_refusal(
    input_path: str | Path,
    *,
    text_column: str,
    out: str | Path,
    profile: str = "default",
    detector: Detector = "rules",
    llm_config: object | None = None,
) -> pl.DataFrame:
    """Add refusal columns to every row of a message file and write the result to ``out``.

    ``detector``: ``rules`` (the cue scorer), ``learned`` (logistic model over cue features and
    hashed n-grams, see :mod:`chatlens.signals.learned`) or ``llm`` (the LLM judge of
    :func:`chatlens.llm.labels.llm_label` with task ``refusal_type``; needs ``llm_config``, an
    :class:`~chatlens.llm.config.LLMConfig`; adds ``llm_error``). ``profile="legacy"`` uses the
    original study's regexes and adds ``refusal_type_legacy``.
    """
    _check_detector(detector)
    path = Path(input_path)
    frame = read_table(path)
    texts = _text_column(frame, text_column, path)
    if profile == "legacy" or detector == "rules":
        from chatlens.signals.refusal import detect_refusal

        cols = detect_refusal(texts, profile=profile)  # type: ignore[arg-type]
    elif detector == "learned":
        from chatlens.signals.learned import detect_refusal_learned

        cols = detect_refusal_learned(texts)
    else:
        cols = _llm_refusal(texts, llm_config)
    result = pl.concat([frame, cols.select(pl.exclude(frame.columns))], how="horizontal")
    write_table(result, out)
    return result


def classify_jailbreak(
    input_path: str | Path,
    *,
    text_column: str,
    out: str | Path,
    profile: str = "default",
    detector: Detector = "rules",
) -> pl.DataFrame:
    """Add jailbreak columns to every row of a message file and write the result to ``out``.

    Only the rule tier exists for jailbreaks (the LLM label tasks cover refusal type and user
    reaction, not jailbreak prompts).
    """
    _check_detector(detector)
    if detector != "rules":
        msg = f"Jailbreak detection has only the 'rules' detector. Got detector={detector!r}."
        raise InvalidParameterError(msg)
    path = Path(input_path)
    frame = read_table(path)
    texts = _text_column(frame, text_column, path)
    from chatlens.signals.jailbreak import detect_jailbreak

    cols = detect_jailbreak(texts, profile=profile)
    result = pl.concat([frame, cols.select(pl.exclude(frame.columns))], how="horizontal")
    write_table(result, out)
    return result


def llm_available() -> bool:
    """Whether the LLM-judge tier (``chatlens.llm.labels.llm_label``) is installed."""
    try:
        from chatlens.llm.labels import llm_label  # noqa: F401
    except ImportError:
        return False
    return True


def _llm_refusal(texts: pl.Series, config: object | None) -> pl.DataFrame:
    """Map the LLM judge's ``refusal_type`` answers onto the refusal schema."""
    if not llm_available():
        msg = "The LLM-judge tier needs chatlens.llm.labels.llm_label, which is not available."
        raise InvalidParameterError(msg)
    if config is None:
        msg = "detector='llm' needs an LLM configuration (llm_config=LLMConfig(...))."
        raise InvalidParameterError(msg)
    from chatlens.llm.labels import llm_label
    from chatlens.signals.refusal import detect_refusal

    judged = llm_label(texts.to_list(), "refusal_type", config=config)  # type: ignore[arg-type]
    label = judged["llm_label"]
    refused = (label.is_not_null() & (label != "none")).fill_null(False)
    score = judged.select(
        pl.when(pl.col("llm_label").is_null()).then(None)
        .otherwise((pl.col("llm_label") != "none").cast(pl.Float64))
    ).to_series()
    rules = detect_refusal(texts)
    return pl.DataFrame(
        {
            "refusal": refused,
            "refusal_type": label.fill_null("none"),
            "refusal_partial": judged["llm_partial"].fill_null(False),
            "refusal_score": score,
            "refusal_cues": pl.Series([[]] * len(texts), dtype=pl.List(pl.String)),
            "disclaimer": rules["disclaimer"],
            "llm_error": judged["llm_error"],
        }
    )
