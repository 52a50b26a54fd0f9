"""Console tables never truncate silently: "… N more" rows, and names folded, not cut."""

from __future__ import annotations

from types import SimpleNamespace

import polars as pl
import pytest

from chatlens.cli import _common
from chatlens.cli._common import out_console
from chatlens.cli.corpus import print_behaviour


@pytest.fixture
def narrow_console():
    saved = out_console._width
    out_console.width = 60
    yield out_console
    out_console._width = saved


def test_refusal_by_model_says_how_many_more_and_keeps_names_whole(narrow_console):
    models = [f"guanaco-{n}b-merged-{i}" for i, n in enumerate([7, 13, 33, 65] * 4 + [7, 13, 33])]
    frame = pl.DataFrame(
        {
            "model": models,
            "n": [100] * 19,
            "rate": [0.1] * 19,
            "ci_low": [0.05] * 19,
            "ci_high": [0.2] * 19,
        }
    )
    behaviour = SimpleNamespace(tables={"refusal_by_model": frame}, headline={})
    with narrow_console.capture() as cap:
        print_behaviour(behaviour)
    text = cap.get()
    flat = text.replace("│", "").replace("\n", "").replace(" ", "")
    assert "…4more(allintables/refusal_by_model.csv)" in flat
    for name in models[:15]:  # folded across lines at 60 columns, never cut to "guanaco…"
        assert name in flat
    assert flat.count("…") == 1


def test_output_to_a_pipe_is_wide(monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.setattr("os.isatty", lambda fd: False)
    assert _common._wide_when_piped() >= _common.PIPED_WIDTH
    monkeypatch.setenv("COLUMNS", "100")
    assert _common._wide_when_piped() is None  # the user's COLUMNS wins (rich reads it)
