"""The one progress/log facility: nothing else in the library prints.

Why one place: the library runs inside notebooks, CLIs and cluster workers. Only this module
decides whether to draw progress bars or write status lines (to stderr, so stdout stays clean for
data), and ``--quiet`` silences it globally via :func:`set_quiet`.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from chatlens.vocabulary import CONTROL_AND_BIDI_CHARS

T = TypeVar("T")

_state = {"quiet": os.environ.get("CHATLENS_QUIET", "") not in ("", "0")}
console = Console(stderr=True, highlight=False)

#: Characters a terminal acts on instead of showing: C0/C1 controls but tab and newline (ANSI
#: and OSC sequences start with ESC or CSI: clear the screen, retitle the window, hyperlinks; a
#: CR overwrites the line) and the bidirectional embeddings, overrides and isolates (a U+202E in
#: a model name turns the rest of the line around, as the HTML report's ``esc`` says).
TERMINAL_UNSAFE = re.compile(CONTROL_AND_BIDI_CHARS)


def printable(text: object) -> str:
    r"""``text`` with every :data:`TERMINAL_UNSAFE` character replaced by U+FFFD (a reader sees
    that something was there). File names, model names and messages quoted in status lines,
    progress bars and errors are data: they must not drive the terminal.

    >>> printable("evil\x1b[2J\u202emodel\tok") == "evil\ufffd[2J\ufffdmodel\tok"
    True
    """
    return TERMINAL_UNSAFE.sub("\ufffd", str(text))


def set_quiet(quiet: bool = True) -> None:  # noqa: FBT001 - mirrors the CLI flag
    """Silence (or re-enable) progress bars and status lines for this process."""
    _state["quiet"] = quiet


def is_quiet() -> bool:
    """Whether progress output is currently silenced."""
    return _state["quiet"]


def status(message: str) -> None:
    """Write one status line to stderr unless quiet. ``message`` is printed as it is (no rich
    markup), with its control characters shown as U+FFFD (:func:`printable`: it may name a file)."""
    if not _state["quiet"]:
        console.print(printable(message), markup=False)


def _bar(transient: bool, unit: str = "items") -> Progress:  # noqa: FBT001
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}", markup=False),  # descriptions name files and models
        BarColumn(),
        DownloadColumn() if unit == "bytes" else MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
        disable=_state["quiet"] or not sys.stderr.isatty() and os.environ.get("CHATLENS_PROGRESS") != "1",
    )


def track(
    iterable: Iterable[T], *, description: str, total: float | None = None
) -> Iterator[T]:
    """Iterate with a progress bar on stderr (hidden when quiet or not a terminal)."""
    with _bar(transient=False) as bar:
        task = bar.add_task(printable(description), total=total)
        for item in iterable:
            yield item
            bar.advance(task)


@contextmanager
def progress_bar(
    *, description: str, total: float | None = None, unit: str = "items"
) -> Iterator[callable]:
    """A progress bar advanced by hand: ``with progress_bar(...) as advance: advance(n)``.

    Give ``total`` whenever it is knowable (rows in a Parquet footer, bytes of the input files,
    items to judge): a bar without one shows "77/?". ``unit="bytes"`` shows "12.0/79.0 MB".
    """
    with _bar(transient=False, unit=unit) as bar:
        task = bar.add_task(printable(description), total=total)

        def advance(n: float = 1) -> None:
            bar.advance(task, n)

        yield advance
