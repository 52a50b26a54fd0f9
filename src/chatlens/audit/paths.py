"""Where an audit sample's files go, and the defaults the CLI shows (no heavy import here: the CLI
reads them when it starts)."""

from __future__ import annotations

from pathlib import Path

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


__all__ = ["DEFAULT_MAX_CHARS", "DEFAULT_N", "DESIGN_SUFFIX", "SHEET_SUFFIX", "design_path_for",
           "sheet_path_for"]
