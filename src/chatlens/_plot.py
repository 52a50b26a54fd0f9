"""matplotlib, loaded on first use with the headless Agg backend, and one way to save a figure.

Why here, in the base: the report's figures and the ratings' plots both draw with matplotlib;
importing chatlens must never load it, and every figure is written and closed the same way.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from chatlens.vocabulary import CONTROL_AND_BIDI_CHARS


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (renders without a display)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


#: Characters no figure shows as themselves: C0/C1 controls but tab and newline, and the
#: bidirectional embeddings, overrides and isolates (the HTML report's ``esc`` marks the same).
#: In an SVG a C0 control is not even allowed: one ESC in a model name made refusal_by_model.svg
#: malformed XML that no browser or editor opens.
_UNDRAWABLE = re.compile(CONTROL_AND_BIDI_CHARS)
#: Longest text a figure draws: laying out text costs time per character at every draw, so a
#: 100,000-character model name took 20 s per figure (a run's figures over a minute; a
#: megabyte name would take many), for a label nobody can read. Longer text keeps its start and
#: its last :data:`_KEEP_END` characters around a "…" (the end may say "(n=2, small)").
MAX_LABEL_CHARS = 200
_KEEP_END = 50


def _drawable(s: Any) -> str:
    """``s`` as a figure shows it: :data:`_UNDRAWABLE` as U+FFFD, cut to :data:`MAX_LABEL_CHARS`.

    >>> len(_drawable("M" * 10_000 + " (n=2, small)")), _drawable("a" * 300)[-52:-48]
    (200, 'a…aa')
    """
    text = str(s)
    if len(text) > MAX_LABEL_CHARS:
        text = text[: MAX_LABEL_CHARS - 1 - _KEEP_END] + "…" + text[-_KEEP_END:]
    return _UNDRAWABLE.sub("\ufffd", text)


def plain_text(draw: Any) -> Any:
    """Decorator: draw with data strings as plain text, never matplotlib math — a model name such
    as ``$$`` or ``$\\x$`` must not crash a figure (issue 11 item 6) — with every
    :data:`_UNDRAWABLE` character shown as U+FFFD and no text longer than
    :data:`MAX_LABEL_CHARS`.

    Why at ``Text.set_text``: tick labels of category axes are written from the data by
    matplotlib's formatters each time a figure is drawn, so cleaning labels before saving is
    undone by the save; every text a figure shows goes through ``set_text``.
    """

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from matplotlib.text import Text

        original = Text.set_text

        def set_text(self: Any, s: Any) -> None:
            original(self, None if s is None else _drawable(s))

        Text.set_text = set_text  # type: ignore[method-assign]
        try:
            with pyplot().rc_context({"text.parse_math": False}):
                return draw(*args, **kwargs)
        finally:
            Text.set_text = original  # type: ignore[method-assign]

    return wrapper


def save_figure(
    fig: Any, path: str | Path, *, dpi: int, svg: bool = False, tight: bool = True
) -> Path:
    """Lay out, write and close ``fig``; returns ``path``.

    ``svg``: also write a vector copy beside it (same stem, ``.svg``) for papers: text stays
    editable text, and the file is reproducible byte for byte (no date, fixed element ids).
    """
    if tight:
        fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    if svg:
        with pyplot().rc_context({"svg.hashsalt": "chatlens", "svg.fonttype": "none"}):
            fig.savefig(Path(path).with_suffix(".svg"), format="svg", metadata={"Date": None})
    pyplot().close(fig)
    return Path(path)


__all__ = ["plain_text", "pyplot", "save_figure"]
