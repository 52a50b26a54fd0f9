"""The ``chatlens`` command: a thin typer shell over the Python API.

Each command group lives in its own module with a ``register(app)`` function; this module only
assembles them, so adding a command never touches another group's file. Heavy libraries are
imported inside command functions, so ``chatlens --help`` stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import typer
from typer.core import TyperGroup

from chatlens import __version__
from chatlens._progress import set_quiet

QUIET_FLAGS = ("-q", "--quiet")


class QuietAnywhere(TyperGroup):
    """``-q``/``--quiet`` is accepted anywhere on the command line, not only before the
    subcommand (``chatlens analyze data.jsonl --quiet``): it is moved to the front, where the root
    callback reads it. Arguments after ``--`` are left alone."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        head, tail = args[:end], args[end:]
        if any(a in QUIET_FLAGS for a in head):
            head = ["--quiet", *(a for a in head if a not in QUIET_FLAGS)]
        return super().parse_args(ctx, head + tail)


app = typer.Typer(
    cls=QuietAnywhere,
    name="chatlens",
    help="Behavioural science of human-AI interaction from conversation logs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

#: Command-group modules: every public module of chatlens.cli exposes register(app).
COMMAND_MODULES: tuple[str, ...] = tuple(
    sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"chatlens {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars, status lines or result tables (errors still go to stderr); accepted after any subcommand too."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """chatlens: refusals, reactions, human-likeness and ratings from real conversation logs."""
    from chatlens.cli._common import out_console

    set_quiet(quiet)
    # quiet: no progress, no status lines and no result tables; errors still go to stderr
    out_console.quiet = quiet


for _name in COMMAND_MODULES:
    importlib.import_module(f"chatlens.cli.{_name}").register(app)


def _format_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                    line: str | None = None) -> str:
    """A warning as one line for people: its kind and message, not the source line that
    raised it (Python's default shows chatlens's code to a user who cannot act on it). The
    message is :func:`~chatlens._progress.printable`: a library's warning may quote data
    (matplotlib's "Glyph 27 (\\x1b) missing" wrote the ESC of a model name to stderr)."""
    from chatlens._progress import printable

    return f"warning: {category.__name__}: {printable(message)}\n"


def main() -> None:
    """Entry point of the ``chatlens`` console script."""
    import warnings

    from chatlens.cli import _common

    warnings.formatwarning = _format_warning
    _common.HARD_EXIT_ON_ERROR = True
    app()
