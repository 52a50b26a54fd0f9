"""Helpers shared by every CLI module: error translation and shared options.

The CLI is a thin shell: commands parse options, call the same-named library function and print
its result. Any :class:`~chatlens.errors.ChatlensError` becomes a one-line message on stderr and
exit code 1 (2 for usage errors), never a traceback. Every exit code is in :class:`ExitCode`
(documented in docs/cli.md).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import sys
from collections.abc import Callable
from enum import IntEnum
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape as rich_escape
from rich.table import Table

from chatlens._progress import printable
from chatlens.errors import ChatlensError

F = TypeVar("F", bound=Callable[..., Any])


def escape(text: object) -> str:
    """Data text made safe for the terminal: control characters (ANSI escapes that clear the
    screen or move the cursor, bells, backspaces) and bidirectional overrides become U+FFFD
    (:func:`printable`), then Rich markup is escaped.

    Conversation text, model names and file names are untrusted: every data string the CLI
    prints goes through here (issue 11: terminal escape injection).
    """
    return rich_escape(printable(text))


def write_data(text: str) -> None:
    """Machine output (``--output csv``/``json``) on stdout: exact when piped or redirected (a
    script or a file gets the data as it is), :func:`printable` on a terminal (CSV cannot escape
    an ESC, and a conversation id must not clear the screen). Not ``typer.echo``: it strips ANSI
    sequences when stdout is not a terminal, so a redirected CSV silently lost part of a value."""
    stream = sys.stdout
    stream.write(printable(text) if stream.isatty() else text)
    stream.flush()


def _wide_when_piped() -> int | None:
    """The console width: the terminal's (rich finds it on any std stream, or ``$COLUMNS``);
    when there is no terminal at all (piped to a file or another program) a wide page instead of
    rich's 80 columns, so names in tables are not cut or folded for a reader that has no width."""
    if os.environ.get("COLUMNS") or any(os.isatty(fd) for fd in (0, 1, 2)):
        return None
    return max(shutil.get_terminal_size((0, 0)).columns, PIPED_WIDTH)


#: Width of table output written to a pipe or a file (no terminal to fit).
PIPED_WIDTH = 160

err_console = Console(stderr=True, highlight=False)
out_console = Console(highlight=False, width=_wide_when_piped())


def name_column(table: Table, header: str, **kwargs: Any) -> None:
    """A column of names (models, reasons, labels): folded onto a second line when the terminal
    is narrow, never cut to "guanaco…" (four models then read the same)."""
    table.add_column(header, overflow="fold", **kwargs)


def more_rows(table: Table, shown: int, total: int, where: str = "", *, hint: str = "") -> None:
    """Add the "… N more" row to a table that shows ``shown`` of ``total`` rows (never truncate
    silently); ``where`` says where the full table is (``tables/refusal_by_model.csv``), or
    ``hint`` how to see the rest when no file holds them (``query``'s options)."""
    if total > shown:
        extra = f" (all in {where})" if where else f" ({hint})" if hint else ""
        table.add_row(
            f"[dim]… {total - shown:,} more{escape(extra)}[/]", *[""] * (len(table.columns) - 1)
        )


class ExitCode(IntEnum):
    """The one list of the ``chatlens`` command's exit codes (docs/cli.md, "Exit codes")."""

    OK = 0
    #: a ChatlensError (bad input, bad option value, a failed data-file check) or an unreadable file
    ERROR = 1
    #: a usage error found by the option parser (unknown option, missing argument)
    USAGE = 2
    #: the command ran but produced no result: every input row was quarantined, or no row was
    #: scored (e.g. ``humanlike lite`` with a ``--speaker`` no transcript has)
    NO_RESULT = 3


def warn(message: str) -> None:
    """A loud warning on stderr (shown with ``--quiet`` too: it says a result is probably wrong);
    :func:`printable`, as it may quote data."""
    err_console.print("[bold yellow]warning:[/] ", end="")
    err_console.print(printable(message), markup=False, soft_wrap=True)


def no_result(message: str) -> NoReturn:
    """Print why nothing was produced and exit with :attr:`ExitCode.NO_RESULT` (the message
    :func:`printable`: it may name a file)."""
    err_console.print("[bold red]error:[/] ", end="")
    err_console.print(printable(message), markup=False, soft_wrap=True)
    raise typer.Exit(code=ExitCode.NO_RESULT)


def _command_options(fn: Callable[..., Any]) -> set[str]:
    """The long option names of a typer command function, read from its ``typer.Option`` defaults."""
    import inspect

    from typer.models import OptionInfo

    names: set[str] = set()
    for name, param in inspect.signature(fn).parameters.items():
        if isinstance(param.default, OptionInfo):
            decls = [d for d in (param.default.param_decls or ()) if d.startswith("--")]
            names.update(d.split("/")[0] for d in decls or [f"--{name.replace('_', '-')}"])
    return names


def cli_wording(message: str, options: set[str]) -> str:
    """A library message in command-line words: ``format=`` / ``format='table'`` / "the
    'batch_size' parameter of f" / ``column_map`` / a column-map dict become ``--format``,
    ``--format table``, "the option --batch-size", ``--column-map`` and ``a=b,c=d``, but only
    for options the running command has (others stay in Python words, which are then right)."""

    def opt(name: str) -> str | None:
        o = "--" + name.replace("_", "-")
        return o if o in options else None

    def parameter(m: re.Match[str]) -> str:
        o = opt(m.group(2))
        return f"{m.group(1)} option {o}" if o else m.group(0)

    def assign(m: re.Match[str]) -> str:
        o = opt(m.group(1))
        if o is None:
            return m.group(0)
        return f"{o} {m.group(2)}" if m.group(2) is not None else o

    def snake(m: re.Match[str]) -> str:
        return opt(m.group(0)) or m.group(0)

    message = re.sub(r"\b([Tt]he) '(\w+)' parameter of [\w.]+", parameter, message)
    message = re.sub(r"\b(\w+)=(?:'([^']*)'|(?![\w{\[(]))", assign, message)
    if "--column-map" in options:  # a column_map dict example -> the option's a=b,c=d form
        pairs = re.compile(r"'(\w+)': '([^']*)'")
        message = re.sub(
            r"\{'\w+': '[^']*'(?:, '\w+': '[^']*')*\}",
            lambda m: ",".join(f"{k}={v}" for k, v in pairs.findall(m.group(0))),
            message,
        )
    return re.sub(r"(?<![\w'-])[a-z]+(?:_[a-z]+)+\b(?!')", snake, message)


#: Set by the console script's entry point (:func:`chatlens.cli.main`), never by in-process
#: callers such as tests: an error exit then skips interpreter finalization (see below).
HARD_EXIT_ON_ERROR = False


def _error_exit() -> typer.Exit:
    """Exit code 1 after an error message. In the console script the process ends here, its
    output flushed, without interpreter finalization: after a read error inside pyarrow's
    streaming CSV reader (a truncated .csv.gz), finalization aborted the process in about a third
    of the runs ("terminate called without an active exception", exit 134 instead of 1) once the
    message had been printed. Nothing is left to clean up by then: every file is closed by the
    context managers the error unwound."""
    if HARD_EXIT_ON_ERROR:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(ExitCode.ERROR)
    return typer.Exit(code=ExitCode.ERROR)


def handle_errors(fn: F) -> F:
    """Turn ChatlensError (and bad-file OSErrors) into a clean message and exit code 1; the
    message is put in command-line words (:func:`cli_wording`) and made :func:`printable`: it
    may quote data (a server's error body, a file name) carrying terminal escapes."""

    options = _command_options(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ChatlensError as exc:
            err_console.print(f"[bold red]error:[/] {type(exc).__name__}: ", end="")
            err_console.print(
                printable(cli_wording(str(exc), options)), markup=False, soft_wrap=True
            )
            raise _error_exit() from None
        except (FileNotFoundError, IsADirectoryError, PermissionError) as exc:
            err_console.print("[bold red]error:[/] ", end="")
            err_console.print(printable(exc), markup=False, soft_wrap=True)
            raise _error_exit() from None

    return wrapper  # type: ignore[return-value]
