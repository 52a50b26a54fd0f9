"""Helpers shared by every CLI module: error translation and shared options.

The CLI is a thin shell: commands parse options, call the same-named library function and print
its result. Any :class:`~chatlens.errors.ChatlensError` becomes a one-line message on stderr and
exit code 1 (2 for usage errors), never a traceback.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape as rich_escape

from chatlens.errors import ChatlensError

F = TypeVar("F", bound=Callable[..., Any])

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def escape(text: object) -> str:
    """Data text made safe for the terminal: control characters (ANSI escapes that clear the
    screen or move the cursor, bells, backspaces) become U+FFFD, then Rich markup is escaped.

    Conversation text, model names and file names are untrusted: every data string the CLI
    prints goes through here (issue 11: terminal escape injection).
    """
    return rich_escape(_CONTROL.sub("\ufffd", str(text)))


err_console = Console(stderr=True, highlight=False)
out_console = Console(highlight=False)


def handle_errors(fn: F) -> F:
    """Turn ChatlensError (and bad-file OSErrors) into a clean message and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ChatlensError as exc:
            err_console.print(f"[bold red]error:[/] {type(exc).__name__}: ", end="")
            err_console.print(str(exc), markup=False, soft_wrap=True)
            raise typer.Exit(code=1) from None
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            err_console.print("[bold red]error:[/] ", end="")
            err_console.print(str(exc), markup=False, soft_wrap=True)
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]
