"""Where an audit sample's files go, and the defaults the CLI shows (no heavy import here: the CLI
reads them when it starts)."""

from __future__ import annotations

from pathlib import Path

from chatlens.errors import InvalidParameterError

#: Characters of each text kept in a sample row (a spreadsheet cell holds at most 32,767).
DEFAULT_MAX_CHARS = 6000
DEFAULT_N = 400
DESIGN_SUFFIX = ".design.json"
SHEET_SUFFIX = ".html"


def design_path_for(sample_path: str | Path) -> Path:
    """Where a sample written to ``sample_path`` has its design (``<path>.design.json``)."""
    p = Path(sample_path)
    return p.with_name(p.name + DESIGN_SUFFIX)


def sheet_path_for(sample_path: str | Path) -> Path:
    """Where a sample written to ``sample_path`` has its reading sheet (``<path>.html``)."""
    p = Path(sample_path)
    return p.with_name(p.name + SHEET_SUFFIX)


def refuse_existing(sample_path: str | Path, *, overwrite: bool = False, sheet: bool = True) -> None:
    """Refuse to replace a sample, its design or its sheet unless ``overwrite``: the sample may
    hold a reader's labels. The CLI asks before drawing, which can read a large source again."""
    paths = [Path(sample_path), design_path_for(sample_path)]
    if sheet:
        paths.append(sheet_path_for(sample_path))
    existing = [p for p in paths if p.exists()]
    if existing and not overwrite:
        msg = (f"{existing[0]} exists and may hold a reader's labels; choose another --out or "
               "pass --overwrite.")
        raise InvalidParameterError(msg)


def refuse_sample_as_out(out: str | Path, labelled: str | Path, design: str | Path | None = None) -> None:
    """Refuse an estimate's ``out`` that is the labelled sample or its design: writing the
    estimates there replaced the reader's labels (or the record of the draw) with no way back."""
    design = design_path_for(labelled) if design is None else design
    for path, what in ((labelled, "the labelled sample"), (design, "the sample's design")):
        if Path(out).resolve() == Path(path).resolve():
            msg = (f"--out {out} is {what}: the estimates would replace it (and the reader's "
                   "labels with it). Expected another path.")
            raise InvalidParameterError(msg)


__all__ = ["DEFAULT_MAX_CHARS", "DEFAULT_N", "DESIGN_SUFFIX", "SHEET_SUFFIX", "design_path_for",
           "refuse_existing", "refuse_sample_as_out", "sheet_path_for"]
