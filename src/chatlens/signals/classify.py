"""File-level classification: read a table, add detector columns, write it back.

Why a file-level API: the team's evaluation scripts and the ``chatlens classify`` command work on
files of messages (CSV, JSONL or Parquet, chosen by extension; inputs may be .gz/.zst), not on
Python objects. The output keeps every input column, in order, and appends the detector's
columns. Files are processed in batches (:mod:`chatlens.corpus.tablefile`), so memory is bounded
by the batch, not the file, and the output appears under its name only once complete.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import polars as pl

from chatlens._progress import progress_bar
from chatlens.corpus.tablefile import (
    TableWriter,
    iter_table_frames,
    read_table,
    table_format,
    table_rows,
)
from chatlens.errors import InvalidParameterError, MissingColumnError, SchemaError
from chatlens.signals.definitions import definition_set
from chatlens.signals.text import is_blank

Detector = Literal["rules", "learned", "context", "encoder", "llm"]
#: Detectors that read the request each message answers (``prompt_column``).
CONTEXT_DETECTORS = ("context", "encoder")
#: Rows per batch: ~100 MB of text at typical message lengths; the detectors need ~6x that.
BATCH_ROWS = 100_000


@dataclass(frozen=True)
class ClassifySummary:
    """What a file-level classification wrote: rows, flagged rows and label counts.

    ``unclassified`` counts the rows the detector could not decide (null flag: an LLM request
    that failed), so a rate is ``flagged / classified``, never diluted by failures;
    ``first_error`` is the first such row's ``llm_error``. ``blank`` counts the rows whose text
    is empty (decided without looking: not a refusal, not a jailbreak; the LLM tier sends no
    request), so a wrong or empty text column is told apart from a file of negatives, and "every
    request failed" from a file of blanks. ``repaired`` counts what of the input was no text and
    was replaced by U+FFFD (invalid UTF-8 in a CSV file that is not UTF-8, a lone surrogate
    escape in JSONL): the detector read, and the output holds, the replaced text.
    """

    out: Path
    rows: int
    flagged: int
    labels: dict[str, int] = field(default_factory=dict)
    unclassified: int = 0
    first_error: str | None = None
    blank: int = 0
    repaired: int = 0

    @property
    def classified(self) -> int:
        """Rows the detector decided (flagged or not)."""
        return self.rows - self.unclassified


def _text_column(frame: pl.DataFrame, column: str, path: Path, *,
                 option: str = "--text-column") -> pl.Series:
    if column not in frame.columns:
        msg = (
            f"Column {column!r} not found in {path}: expected the text column given by "
            f"{option}. Columns present: {frame.columns}."
        )
        raise MissingColumnError(msg)
    series = frame[column]
    if isinstance(series.dtype, pl.Categorical | pl.Enum):  # pandas "category" text in Parquet
        series = series.cast(pl.String)
    if series.dtype not in (pl.String, pl.Null):
        msg = (
            f"Column {column!r} of {path} must hold text. Got dtype {series.dtype} instead."
        )
        raise SchemaError(msg)
    return series.cast(pl.String)


def _check_detector(detector: str) -> None:
    if detector not in get_args(Detector):
        msg = (f"The 'detector' parameter must be one of {', '.join(get_args(Detector))}. "
               f"Got {detector!r}.")
        raise InvalidParameterError(msg)


def classify_file(
    input_path: str | Path,
    *,
    text_column: str,
    out: str | Path,
    detect: Callable[..., pl.DataFrame],
    flag: str,
    label: str,
    batch_size: int = BATCH_ROWS,
    collect: bool = False,
    prompt_column: str | None = None,
) -> tuple[ClassifySummary, pl.DataFrame | None]:
    """Stream ``input_path`` through ``detect`` (texts → detector columns) into ``out``.

    ``flag`` and ``label`` name the boolean and label columns counted in the summary. With
    ``collect`` the whole result is also returned as one DataFrame (memory grows with the file).
    With ``prompt_column``, ``detect`` is called as ``detect(texts, prompts)``: the request each
    message answers (a context-aware detector).
    """
    columns = {"text": (text_column, "--text-column")}
    if prompt_column is not None:
        columns["prompt"] = (prompt_column, "--prompt-column")

    def on_columns(texts: pl.DataFrame) -> pl.DataFrame:
        if prompt_column is None:
            return detect(texts["text"])
        return detect(texts["text"], texts["prompt"])

    return classify_columns(input_path, columns=columns, out=out, detect=on_columns, flag=flag,
                            label=label, batch_size=batch_size, collect=collect)


def classify_columns(
    input_path: str | Path,
    *,
    columns: Mapping[str, tuple[str, str]],
    out: str | Path,
    detect: Callable[[pl.DataFrame], pl.DataFrame],
    flag: str | None,
    label: str,
    batch_size: int = BATCH_ROWS,
    collect: bool = False,
) -> tuple[ClassifySummary, pl.DataFrame | None]:
    """:func:`classify_file` for detectors that read several text columns (a request, a response
    and a follow-up): ``columns`` maps each name ``detect`` sees to (file column, CLI option
    naming it). ``flag=None`` counts the rows whose ``label`` is not null. For an LLM tier (an
    ``llm_error`` column) rows whose ``flag`` is null are counted as unclassified (the request
    failed) and empty texts as blank."""
    path = Path(input_path)
    table_format(path)  # before the writer creates the output folder; the writer checks ``out``
    if Path(out).resolve() == path.resolve():
        msg = (f"--out {out} is the input file: the output would replace it (and, as CSV, "
               "formula-guard its text). Expected another path.")
        raise InvalidParameterError(msg)
    if batch_size < 1:
        msg = f"The 'batch_size' parameter must be >= 1. Got {batch_size}."
        raise InvalidParameterError(msg)
    kept: list[pl.DataFrame] = []
    flagged = unclassified = blank = 0
    warned = False
    first = next(iter(columns))  # the text the detector classifies (its other columns: context)
    first_error: str | None = None
    labels: Counter[str] = Counter()
    repairs: Counter[str] = Counter()
    with TableWriter(out) as writer, progress_bar(
            description=f"classify {path.name}", total=table_rows(path)) as advance:
        def batches() -> Iterator[pl.DataFrame]:
            yield from iter_table_frames(path, batch_size=batch_size, repairs=repairs)
            if writer.rows == 0:  # a file with a header and no rows: its columns are still
                header = read_table(path)  # checked, and the output gets them (header, schema)
                if header.width:
                    yield header.head(0)

        for frame in batches():
            texts = pl.DataFrame([_text_column(frame, col, path, option=option).alias(name)
                                  for name, (col, option) in columns.items()])
            cols = detect(texts)
            renamed = input_renames(frame.columns, cols.columns)
            if renamed and not warned:
                warned = True
                warnings.warn(
                    f"{path}: input column(s) {', '.join(renamed)} have the name of a column the "
                    f"detector writes; they are kept as {', '.join(renamed.values())} (the "
                    "detector's columns keep their names).", UserWarning, stacklevel=2)
            result = pl.concat([frame.rename(renamed), cols], how="horizontal")
            writer.write(result)
            flagged += int(cols[label].is_not_null().sum() if flag is None else cols[flag].sum())
            labels.update(dict(cols[label].drop_nulls().value_counts().iter_rows()))
            if flag is not None:  # rows with nothing to classify: said so, never silent
                blank += int(pl.select(is_blank(pl.lit(texts[first]))).to_series().sum())
            if flag is not None and "llm_error" in cols.columns:
                unclassified += cols[flag].null_count()
                first_error = first_error or _first_error(cols, flag)
            if collect:
                kept.append(result)
            advance(frame.height)
    summary = ClassifySummary(Path(out), writer.rows, flagged, dict(labels), unclassified,
                              first_error, blank, sum(repairs.values()))
    if not collect:
        return summary, None
    return summary, (pl.concat(kept, how="vertical_relaxed") if kept else pl.DataFrame())


def input_renames(inputs: Sequence[str], outputs: Sequence[str]) -> dict[str, str]:
    """Input columns named like a detector output, each with the name it is kept under
    (``<name>_input``, or ``<name>_input_2``, … when that is taken too).

    Why: a labelled file often has a gold column called ``refusal`` or ``jailbreak``; keeping it
    under its name and dropping the detector's column wrote the gold labels where the verdicts
    belong (an evaluation would have scored the labels against themselves).

    >>> input_renames(["id", "refusal", "refusal_input"], ["refusal", "refusal_score"])
    {'refusal': 'refusal_input_2'}
    """
    taken = set(inputs) | set(outputs)
    renames: dict[str, str] = {}
    for name in inputs:
        if name in outputs:
            new, i = f"{name}_input", 1
            while new in taken:
                i += 1
                new = f"{name}_input_{i}"
            taken.add(new)
            renames[name] = new
    return renames


def _first_error(cols: pl.DataFrame, flag: str) -> str | None:
    """The ``llm_error`` of the first row of an LLM tier's ``cols`` whose ``flag`` is null (None:
    every row was decided)."""
    errors = cols.filter(pl.col(flag).is_null())["llm_error"].drop_nulls()
    return errors[0] if len(errors) else None


def resolve_detector(profile: str, detector: str | None, default: str) -> str:
    """The detector a ``classify`` command runs: ``profile`` must be a definition set
    (``default`` or ``legacy``); the legacy definitions are its regexes (``rules``) alone, so
    another ``detector`` with them is refused instead of silently ignored (``--profile legacy
    --detector context`` ran the regexes; ``--profile nonsense`` ran the default)."""
    definition_set(profile, where="classify", parameter="profile")
    if profile == "legacy":
        if detector not in (None, "rules"):
            msg = (f"The legacy definitions are the original study's regexes: --profile legacy "
                   f"runs --detector rules only. Got --detector {detector}.")
            raise InvalidParameterError(msg)
        return "rules"
    return detector or default


def check_prompt_column(prompt_column: str | None, detector: str | None,
                        profile: str = "default") -> None:
    """A prompt column only means something to a detector that reads the request (None: the
    profile's default detector, ``context``, or ``rules`` under ``legacy``)."""
    effective = resolve_detector(profile, detector, "context")
    if prompt_column is not None and effective not in CONTEXT_DETECTORS:
        msg = (f"--prompt-column is read by the context detectors only (--detector context or "
               f"encoder). Got --detector {effective}"
               f"{' (the legacy definitions)' if profile == 'legacy' else ''}.")
        raise InvalidParameterError(msg)


def refusal_detector(
    *, profile: str = "default", detector: Detector | None = None, llm_config: object | None = None
) -> Callable[[pl.Series], pl.DataFrame]:
    """The texts → refusal columns function for ``profile`` and ``detector`` (see
    :func:`classify_refusal`; None: ``context``, or ``rules`` under the legacy profile)."""
    detector = resolve_detector(profile, detector, "context")  # type: ignore[assignment]
    _check_detector(detector)
    if detector == "rules":
        from chatlens.signals.refusal import detect_refusal

        return lambda texts: detect_refusal(texts, profile=profile)  # type: ignore[arg-type]
    if detector == "learned":
        from chatlens.signals.learned import detect_refusal_learned

        return detect_refusal_learned
    if detector in CONTEXT_DETECTORS:
        from chatlens.signals.refusal_model import detect_refusal_in_context

        if detector == "encoder":
            from chatlens.signals.refusal_encoder import load_encoder

            encoder = load_encoder()  # fails here, before any output, without the extra
            return lambda texts, prompts=None: detect_refusal_in_context(texts, prompts,
                                                                         encoder=encoder)
        return detect_refusal_in_context
    if not llm_available():
        msg = "The LLM-judge tier needs chatlens.llm.labels.llm_label, which is not available."
        raise InvalidParameterError(msg)
    if llm_config is None:
        msg = "detector='llm' needs an LLM configuration (llm_config=LLMConfig(...))."
        raise InvalidParameterError(msg)
    return lambda texts: _llm_refusal(texts, llm_config)


def classify_refusal(
    input_path: str | Path,
    *,
    text_column: str,
    out: str | Path,
    profile: str = "default",
    detector: Detector | None = None,
    llm_config: object | None = None,
    batch_size: int = BATCH_ROWS,
    prompt_column: str | None = None,
) -> pl.DataFrame:
    """Add refusal columns to every row of a message file and write the result to ``out``.

    ``detector``: ``context`` (default: the cue scorer united with the context refusal model,
    which reads the request in ``prompt_column`` when given — the most accurate tier on real logs
    that fits ``analyze``'s speed budget, see ``chatlens validate`` and
    :mod:`chatlens.signals.refusal_model`), ``encoder`` (``context`` with the model's probability
    blended with a fine-tuned transformer's, :mod:`chatlens.signals.refusal_encoder`: more
    accurate out of source, about 800 replies a second on two cores, needs the ``encoder`` extra),
    ``rules`` (the cue
    scorer), ``learned`` (logistic model over cue features and hashed n-grams, see
    :mod:`chatlens.signals.learned`) or ``llm`` (the LLM judge of
    :func:`chatlens.llm.labels.llm_label` with task ``refusal_type``; needs ``llm_config``, an
    :class:`~chatlens.llm.config.LLMConfig`; adds ``llm_error``, and a row whose request failed
    keeps null ``refusal``/``refusal_type``/``refusal_score``, never "not a refusal").
    ``profile="legacy"`` uses the
    original study's regexes and adds ``refusal_type_legacy``. Returns the written rows; for
    files larger than memory use :func:`classify_file` (what the CLI does), which only counts.
    """
    check_prompt_column(prompt_column, detector, profile)
    detect = refusal_detector(profile=profile, detector=detector, llm_config=llm_config)
    _, result = classify_file(input_path, text_column=text_column, out=out, detect=detect,
                              flag="refusal", label="refusal_type", batch_size=batch_size,
                              collect=True, prompt_column=prompt_column)
    assert result is not None
    return result


def jailbreak_detector(
    *, profile: str = "default", detector: Detector | None = None
) -> Callable[[pl.Series], pl.DataFrame]:
    """The texts → jailbreak columns function: the rule tier, or the learned tier
    (``chatlens.signals.jailbreak_learned``; default profile only). There is no LLM tier: the
    LLM label tasks cover refusal type and user reaction, not jailbreak prompts."""
    # None: the learned tier, or the original regexes under the legacy profile
    detector = resolve_detector(profile, detector, "learned")  # type: ignore[assignment]
    _check_detector(detector)
    if detector not in ("rules", "learned") or (detector == "learned" and profile != "default"):
        msg = ("Jailbreak detection has the 'rules' detector (any profile) and the 'learned' "
               f"detector (profile 'default'). Got detector={detector!r}, profile={profile!r}.")
        raise InvalidParameterError(msg)
    if detector == "learned":
        from chatlens.signals.jailbreak_learned import detect_jailbreak_learned

        return detect_jailbreak_learned
    from chatlens.signals.jailbreak import detect_jailbreak

    return lambda texts: detect_jailbreak(texts, profile=profile)


def classify_jailbreak(
    input_path: str | Path,
    *,
    text_column: str,
    out: str | Path,
    profile: str = "default",
    detector: Detector | None = None,
    batch_size: int = BATCH_ROWS,
) -> pl.DataFrame:
    """Add jailbreak columns to every row of a message file and write the result to ``out``.

    Returns the written rows; :func:`classify_file` streams without keeping them.
    """
    detect = jailbreak_detector(profile=profile, detector=detector)
    _, result = classify_file(input_path, text_column=text_column, out=out, detect=detect,
                              flag="jailbreak", label="jailbreak_family", batch_size=batch_size,
                              collect=True)
    assert result is not None
    return result


def llm_available() -> bool:
    """Whether the LLM-judge tier (``chatlens.llm.labels.llm_label``) is installed."""
    try:
        from chatlens.llm.labels import llm_label  # noqa: F401
    except ImportError:
        return False
    return True


def _llm_refusal(texts: pl.Series, config: object | None) -> pl.DataFrame:
    """Map the LLM judge's ``refusal_type`` answers onto the refusal schema.

    Why three cases: a labelled row takes the judge's answer; an empty text is no refusal (as in
    every other tier; no request is sent); a row whose request failed or whose answer was invalid
    stays null in ``refusal``, ``refusal_type``, ``refusal_partial`` and ``refusal_score``, with
    ``llm_error`` saying why. Filling those with "not a refusal" would bias the refusal rate
    downwards by the failure rate, and turn a run where every request failed into "0 flagged".
    """
    from chatlens.llm.labels import EMPTY_TEXT, llm_label
    from chatlens.signals.refusal import detect_refusal

    judged = llm_label(texts.to_list(), "refusal_type", config=config)  # type: ignore[arg-type]
    labelled = pl.col("llm_label").is_not_null()
    empty = pl.col("llm_error") == EMPTY_TEXT
    mapped = judged.select(
        pl.when(labelled).then(pl.col("llm_label") != "none")
        .when(empty).then(pl.lit(value=False)).alias("refusal"),
        pl.when(labelled).then(pl.col("llm_label"))
        .when(empty).then(pl.lit("none")).alias("refusal_type"),
        pl.when(labelled).then(pl.col("llm_partial").fill_null(value=False))
        .when(empty).then(pl.lit(value=False)).alias("refusal_partial"),
        pl.when(labelled).then((pl.col("llm_label") != "none").cast(pl.Float64))
        .when(empty).then(pl.lit(0.0)).alias("refusal_score"),
    )
    rules = detect_refusal(texts)
    return mapped.with_columns(
        pl.Series("refusal_cues", [[]] * len(texts), dtype=pl.List(pl.String)),
        rules["disclaimer"],
        judged["llm_error"],
    )
