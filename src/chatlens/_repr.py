"""Short reprs for result objects: what a notebook or a REPL shows after ``result = analyze(...)``.

Why: a dataclass repr prints every field, so a run result dumped every table it holds (thousands
of lines). A result's repr names the class and shows scalars, and only the shape of frames and
the names of collections.
"""

from __future__ import annotations

import dataclasses
from typing import Any

#: Longest scalar shown before it is cut with "…".
MAX_SCALAR = 60
#: Names of a mapping shown before "… N more".
MAX_NAMES = 6


def _frame(value: Any) -> str | None:
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple) and len(shape) == 2 and hasattr(value, "columns"):
        return f"<{type(value).__name__} {shape[0]:,}×{shape[1]}>"
    return None


def _value(value: Any) -> str:
    shown = _frame(value)
    if shown is not None:
        return shown
    if isinstance(value, dict):
        names = [str(k) for k in value]
        head = ", ".join(names[:MAX_NAMES])
        more = f", … {len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else ""
        return "{" + head + more + "}"
    if isinstance(value, (list, tuple)) and len(value) > MAX_NAMES:
        return f"<{type(value).__name__} of {len(value):,}>"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return f"<{type(value).__name__}>"
    text = repr(value)
    return text if len(text) <= MAX_SCALAR else text[: MAX_SCALAR - 1] + "…"


def short_repr(obj: Any, **extra: Any) -> str:
    """``Class(field=value, …)`` with frames as ``<DataFrame rows×cols>``, mappings as their
    keys and long values cut; ``extra`` values (counts) are shown after the fields.

    Examples
    --------
    >>> import polars as pl
    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class R:
    ...     out: str
    ...     tables: dict
    >>> short_repr(R("runs/x", {"a": pl.DataFrame({"x": [1, 2]})}))
    "R(out='runs/x', tables={a})"
    >>> short_repr(R("runs/x", pl.DataFrame({"x": [1, 2]})))
    "R(out='runs/x', tables=<DataFrame 2×1>)"
    """
    fields = [f.name for f in dataclasses.fields(obj) if f.repr]
    parts = [f"{name}={_value(getattr(obj, name))}" for name in fields]
    parts += [f"{name}={_value(value)}" for name, value in extra.items()]
    return f"{type(obj).__name__}({', '.join(parts)})"


__all__ = ["short_repr"]
