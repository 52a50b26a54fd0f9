"""matplotlib, loaded on first use with the headless Agg backend, and one way to save a figure.

Why here, in the base: the report's figures and the ratings' plots both draw with matplotlib;
importing chatlens must never load it, and every figure is written and closed the same way.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (renders without a display)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def plain_text(draw: Any) -> Any:
    """Decorator: draw with data strings as plain text, never matplotlib math — a model name such
    as ``$$`` or ``$\\x$`` must not crash a figure (issue 11 item 6)."""

    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with pyplot().rc_context({"text.parse_math": False}):
            return draw(*args, **kwargs)

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
