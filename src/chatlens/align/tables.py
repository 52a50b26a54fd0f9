"""Reading dialogue tables for ``pairs`` and ``evaluate``; writing artefacts with provenance.

Several input files are stacked; when they lack a generator column, each file's label (its path
relative to the inputs' common folder, without suffix, e.g.
``Qwen/Qwen2.5-14B-Instruct/scored/samples_epoch_00_scored_gpt-5``) names the generator, so
HAL's per-model, per-epoch files pair up as they are.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import polars as pl

from chatlens.align.provenance import Provenance, write_provenance
from chatlens.corpus.tablefile import read_table, write_table
from chatlens.errors import SchemaError


def file_label(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` without its suffix (the file itself when alone)."""
    try:
        rel = path.resolve().relative_to(root)
    except ValueError:
        rel = Path(path.name)
    return str(rel.with_suffix("")) if str(rel) != "." else path.stem


def read_dialogues(paths: list[str | Path], *, generator_column: str = "generator") -> pl.DataFrame:
    """Stack dialogue tables; add ``generator`` from the file label where the column is absent,
    and ``source_file`` (the label) always."""
    if not paths:
        msg = "No input dialogue tables given."
        raise SchemaError(msg)
    ps = [Path(p) for p in paths]
    root = Path(os.path.commonpath([p.resolve().parent for p in ps]))
    frames = []
    for p in ps:
        f = read_table(p)
        if f.height == 0:
            msg = f"Dialogue table {p} has no rows."
            raise SchemaError(msg)
        label = file_label(p, root)
        f = f.with_columns(pl.lit(label).alias("source_file"))
        if generator_column not in f.columns:
            f = f.with_columns(pl.lit(label).alias(generator_column))
        frames.append(f)
    return pl.concat(frames, how="diagonal_relaxed")


def write_artefact(frame: pl.DataFrame, path: Path, prov: Provenance) -> Path:
    """Write ``frame`` to ``path`` (by suffix) and its provenance sidecar."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_table(frame, path)
    write_provenance(path, prov)
    return path


def write_json_artefact(obj: Any, path: Path, prov: Provenance) -> Path:
    """Write ``obj`` as indented JSON and its provenance sidecar."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )
    write_provenance(path, prov)
    return path


def write_text_artefact(text: str, path: Path, prov: Provenance) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    write_provenance(path, prov)
    return path


def write_jsonl_artefact(rows: list[dict[str, Any]], path: Path, prov: Provenance) -> Path:
    """One JSON object per line (what ``datasets.load_dataset("json")`` reads)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    write_provenance(path, prov)
    return path
