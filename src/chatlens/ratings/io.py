"""Reading comparison tables and writing rating outputs.

Input format follows the file extension: ``.csv``/``.tsv`` (read as text, so a stray "n/a" in a
numeric column becomes a quarantined row instead of a parse failure), ``.jsonl``/``.ndjson``,
``.json`` (a JSON array, e.g. a Chatbot Arena ``clean_battle`` dump) and ``.parquet``, through the
package's one table reader (:func:`chatlens.corpus.tablefile.read_table`).

Outputs of ``OUT.csv``::

    OUT.csv               one row per model and method (schema: chatlens.ratings.result)
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

from chatlens.corpus import tablefile
from chatlens.errors import InvalidParameterError

if TYPE_CHECKING:
    from chatlens.ratings.result import RatingResult

def read_table(path: str | Path) -> pl.DataFrame:
    """Read a comparison table with :func:`chatlens.corpus.tablefile.read_table`, CSV cells as text.

    Text keeps a stray "n/a" in a numeric column from failing the read: the row is quarantined
    with its reason instead. Errors are the shared reader's
    (:class:`~chatlens.errors.SourceError` naming the file and the expected formats).
    """
    return tablefile.read_table(path, infer_schema=False)


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
    tablefile.neutralise_formulas(result.table).write_csv(paths["ratings"])
    written["ratings"] = paths["ratings"]
    tablefile.neutralise_formulas(result.winrate_matrix).write_csv(paths["winrate"])
    written["winrate"] = paths["winrate"]
    tablefile.neutralise_formulas(result.count_matrix).write_csv(paths["counts"])
    written["counts"] = paths["counts"]
    if result.pairs.height:
        tablefile.neutralise_formulas(result.pairs).write_csv(paths["pairs"])
        written["pairs"] = paths["pairs"]
    if result.coefficients.height:
        tablefile.neutralise_formulas(result.coefficients).write_csv(paths["coefficients"])
        written["coefficients"] = paths["coefficients"]
    tablefile.neutralise_formulas(result.quarantine).write_csv(paths["quarantine"])
    written["quarantine"] = paths["quarantine"]
    if figures:
        from chatlens.ratings.plots import plot_ratings, plot_winrate

        if result.table.height:
            plot_ratings(result.table, paths["figure"])
            written["figure"] = paths["figure"]
        plot_winrate(result.winrate_matrix, paths["winrate_figure"])
        written["winrate_figure"] = paths["winrate_figure"]
    return written
