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


def plain_text(fig: Any) -> Any:
    """Make every text of ``fig`` plain text, never matplotlib math — a model name such as
    ``$$`` or ``$\\x$`` must not crash a figure (issue 11 item 6) — with every
    :data:`_UNDRAWABLE` character shown as U+FFFD and no text longer than
    :data:`MAX_LABEL_CHARS`; returns ``fig``. :func:`save_figure` applies it to every figure.

    Per artist, through matplotlib's API: each text the figure holds gets ``parse_math=False``
    and ``usetex=False`` and its string cleaned. Tick labels are written by the axes' formatters
    at every draw, onto tick artists that may not exist yet (they take ``text.parse_math`` from
    the rc settings when the draw makes them), so each formatter is wrapped in one that cleans its
    labels and escapes their dollar signs, which a label that parses math draws as literal
    dollars. Why not the former class-level patch of ``Text.set_text``: it changed every text of
    the process (other threads' figures too) while a figure was drawn.
    """
    from matplotlib.axis import Tick
    from matplotlib.text import Text

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for formatter, setter in ((axis.get_major_formatter(), axis.set_major_formatter),
                                      (axis.get_minor_formatter(), axis.set_minor_formatter)):
                if not isinstance(formatter, _plain_ticks()):
                    setter(_plain_ticks()(formatter))
    ticks = {id(label) for tick in fig.findobj(Tick) for label in (tick.label1, tick.label2)}
    for text in fig.findobj(Text):
        if id(text) not in ticks:
            text.set_parse_math(False)
            text.set_usetex(False)
            text.set_text(_drawable(text.get_text()))
    return fig


def _tick_label(s: str) -> str:
    """A tick label as plain text in a tick artist that may parse math (the rc setting)."""
    from matplotlib import rcParams

    text = _drawable(s)
    return text.replace("$", r"\$") if rcParams["text.parse_math"] else text


@functools.cache
def _plain_ticks() -> type:
    """The wrapping tick formatter's class (defined on first use: matplotlib loads lazily)."""
    from matplotlib.ticker import Formatter

    class PlainTicks(Formatter):
        """A tick formatter's labels as plain text (:func:`plain_text`); the rest delegated."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def set_axis(self, axis: Any) -> None:
            super().set_axis(axis)
            self.inner.set_axis(axis)

        def set_locs(self, locs: Any) -> None:
            self.inner.set_locs(locs)

        def __call__(self, x: Any, pos: Any = None) -> str:
            return _tick_label(self.inner(x, pos))

        def format_ticks(self, values: Any) -> list[str]:
            return [_tick_label(s) for s in self.inner.format_ticks(values)]

        def format_data(self, value: Any) -> str:
            return self.inner.format_data(value)

        def format_data_short(self, value: Any) -> str:
            return self.inner.format_data_short(value)

        def get_offset(self) -> str:
            return _drawable(self.inner.get_offset())  # the offset text is an artist plain_text sets

    return PlainTicks


def save_figure(
    fig: Any, path: str | Path, *, dpi: int, svg: bool = False, tight: bool = True
) -> Path:
    """Lay out, write and close ``fig`` with its texts as plain text (:func:`plain_text`);
    returns ``path``.

    ``svg``: also write a vector copy beside it (same stem, ``.svg``) for papers: text stays
    editable text, and the file is reproducible byte for byte (no date, fixed element ids).
    """
    plain_text(fig)
    if tight:
        fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    if svg:
        with pyplot().rc_context({"svg.hashsalt": "chatlens", "svg.fonttype": "none"}):
            fig.savefig(Path(path).with_suffix(".svg"), format="svg", metadata={"Date": None})
    pyplot().close(fig)
    return Path(path)


__all__ = ["plain_text", "pyplot", "save_figure"]
