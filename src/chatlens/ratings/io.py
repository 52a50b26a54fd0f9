"""Reading comparison tables and writing rating outputs.

Input format follows the file extension: ``.csv``/``.tsv`` (read as text, so a stray "n/a" in a
numeric column becomes a quarantined row instead of a parse failure), ``.jsonl``/``.ndjson``,
``.json`` (a JSON array, e.g. a Chatbot Arena ``clean_battle`` dump) and ``.parquet``.

Outputs of ``OUT.csv``::

    OUT.csv               one row per model and method (schema: chatlens.ratings.api)
    OUT.winrate.csv       pairwise win-rate matrix (row model's mean soft score vs column)
    OUT.counts.csv        pairwise comparison counts
    OUT.pairs.csv         head-to-head tests per pair (sign test, soft-score CI)
    OUT.coefficients.csv  covariate coefficients of the controlled BT (when covariates given)
    OUT.quarantine.csv    rows set aside: row number, reason, raw values
    OUT.png               ratings with intervals, one panel per method
    OUT.winrate.png       win-rate heatmap
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from chatlens.errors import InvalidParameterError, SourceError

if TYPE_CHECKING:
    from chatlens.ratings.api import RatingResult

_READERS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "ndjson",
    ".ndjson": "ndjson",
    ".json": "json",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def read_table(path: str | Path) -> pl.DataFrame:
    """Read a comparison table, choosing the reader by extension.

    Raises
    ------
    SourceError
        When the file is missing, the extension unknown, or the content unreadable.
    """
    p = Path(path)
    kind = _READERS.get(p.suffix.lower())
    if kind is None:
        msg = (
            f"Cannot read {p}: unknown extension {p.suffix!r}. "
            f"Expected one of {sorted(_READERS)}."
        )
        raise SourceError(msg)
    if not p.is_file():
        msg = f"Input file {p} does not exist or is not a file."
        raise SourceError(msg)
    try:
        if kind in ("csv", "tsv"):
            return pl.read_csv(
                p, infer_schema=False, separator="\t" if kind == "tsv" else ",",
                truncate_ragged_lines=False,
            )
        if kind == "ndjson":
            return pl.read_ndjson(p, infer_schema_length=None)
        if kind == "json":
            return pl.read_json(p, infer_schema_length=None)
        return pl.read_parquet(p)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        msg = f"Cannot read {p} as {kind}: {exc}"
        raise SourceError(msg) from exc


def output_paths(out: str | Path) -> dict[str, Path]:
    """The files written for ``out`` (which must end in ``.csv``)."""
    p = Path(out)
    if p.suffix.lower() != ".csv":
        msg = f"The output path must end in .csv. Got {str(p)!r} instead."
        raise InvalidParameterError(msg)
    stem = p.with_suffix("")
    return {
        "ratings": p,
        "winrate": Path(f"{stem}.winrate.csv"),
        "counts": Path(f"{stem}.counts.csv"),
        "pairs": Path(f"{stem}.pairs.csv"),
        "coefficients": Path(f"{stem}.coefficients.csv"),
        "quarantine": Path(f"{stem}.quarantine.csv"),
        "figure": Path(f"{stem}.png"),
        "winrate_figure": Path(f"{stem}.winrate.png"),
    }


def write_result(result: RatingResult, out: str | Path, *, figures: bool = True) -> dict[str, Path]:
    """Write the rating table and its companions next to ``out``; return the paths written.

    The quarantine file is always written (empty with a header when nothing was set aside), so
    a script can rely on it.
    """
    paths = output_paths(out)
    paths["ratings"].parent.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    result.table.write_csv(paths["ratings"])
    written["ratings"] = paths["ratings"]
    result.winrate_matrix.write_csv(paths["winrate"])
    written["winrate"] = paths["winrate"]
    result.count_matrix.write_csv(paths["counts"])
    written["counts"] = paths["counts"]
    if result.pairs.height:
        result.pairs.write_csv(paths["pairs"])
        written["pairs"] = paths["pairs"]
    if result.coefficients.height:
        result.coefficients.write_csv(paths["coefficients"])
        written["coefficients"] = paths["coefficients"]
    result.quarantine.write_csv(paths["quarantine"])
    written["quarantine"] = paths["quarantine"]
    if figures:
        from chatlens.ratings.plots import plot_ratings, plot_winrate

        if result.table.height:
            plot_ratings(result.table, paths["figure"])
            written["figure"] = paths["figure"]
        plot_winrate(result.winrate_matrix, paths["winrate_figure"])
        written["winrate_figure"] = paths["winrate_figure"]
    return written
