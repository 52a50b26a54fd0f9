"""matplotlib, loaded on first use with the headless Agg backend, and one way to save a figure.

Why here, in the base: the report's figures and the ratings' plots both draw with matplotlib;
importing chatlens must never load it, and every figure is written and closed the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (renders without a display)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | Path, *, dpi: int) -> Path:
    """Lay out, write and close ``fig``; returns ``path``."""
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
    return Path(path)


__all__ = ["pyplot", "save_figure"]
