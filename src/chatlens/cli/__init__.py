"""The ``chatlens`` command: a thin typer shell over the Python API.

Each command group lives in its own module with a ``register(app)`` function; this module only
assembles them, so adding a command never touches another group's file. Heavy libraries are
imported inside command functions, so ``chatlens --help`` stays fast.
"""

from __future__ import annotations

import importlib
import pkgutil

import typer

from chatlens import __version__
from chatlens._progress import set_quiet

app = typer.Typer(
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
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or status lines."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """chatlens: refusals, reactions, human-likeness and ratings from real conversation logs."""
    set_quiet(quiet)


for _name in COMMAND_MODULES:
    importlib.import_module(f"chatlens.cli.{_name}").register(app)


def main() -> None:
    """Entry point of the ``chatlens`` console script."""
    app()
