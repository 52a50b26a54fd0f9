"""Files are read by name, never as glob patterns: a folder named 'runs [v1]' (or a TMPDIR
holding '[') made polars' default glob expand the path to nothing ('expanded paths were empty')."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

import chatlens

GLOB_DIR = "runs [v1]"


def test_table_files_in_a_folder_with_brackets_are_read(tmp_path: Path) -> None:
    from chatlens.align.personas import read_personas
    from chatlens.corpus.tablefile import table_rows
    from chatlens.validate.datasets import _read_csv

    folder = tmp_path / GLOB_DIR
    folder.mkdir()
    pl.DataFrame({"persona_id": ["p1", "p2"], "persona": ["a nurse", "a farmer"]}).write_csv(folder / "p.csv")
    assert [r["persona_id"] for r in read_personas(folder / "p.csv")] == ["p1", "p2"]
    assert table_rows(folder / "p.csv") == 2  # was None (no progress total), the error swallowed
    assert _read_csv(folder / "p.csv").height == 2


def test_validate_on_synth_with_brackets_in_the_temporary_folder(tmp_path: Path, monkeypatch) -> None:
    import tempfile

    from chatlens.features.validate import validate_on_synth

    folder = tmp_path / GLOB_DIR
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    assert validate_on_synth(n_conversations=20).metrics.height > 0


def test_no_polars_reader_globs_a_path() -> None:
    # pl.read_/scan_ parquet|csv|ndjson on a path glob by default; every call in the package
    # passes glob=False (calls on in-memory bytes have no glob to turn off)
    root = Path(chatlens.__file__).parent
    call = re.compile(r"pl\.(?:read|scan)_(?:parquet|csv|ndjson)\(([^\n]*)")
    bad = [f"{p.relative_to(root)}: {m.group(0)}" for p in root.rglob("*.py")
           for m in call.finditer(p.read_text(encoding="utf-8"))
           if "glob=False" not in m.group(1) and not re.match(r"\s*(data|io\.|res\.|\"messages/\*)", m.group(1))]
    assert bad == []
