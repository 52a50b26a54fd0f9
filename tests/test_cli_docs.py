"""Every CLI command has help, an example, and a section in docs/cli.md."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from chatlens.cli import app

DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _commands() -> Iterator[tuple[list[str], object]]:
    def walk(cmd: object, path: list[str]) -> Iterator[tuple[list[str], object]]:
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                yield from walk(sub, [*path, name])
        else:
            yield path, cmd

    yield from walk(get_command(app), [])


COMMANDS = list(_commands())


def test_there_are_commands() -> None:
    names = {" ".join(p) for p, _ in COMMANDS}
    assert {"analyze", "info", "query", "synth"} <= names


@pytest.mark.parametrize(("path", "cmd"), COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_command_is_documented_with_example(path: list[str], cmd: object) -> None:
    assert "Example:" in (cmd.help or ""), f"'chatlens {' '.join(path)}' has no 'Example:' line in its help"
    assert f"## `chatlens {' '.join(path)}`" in DOCS.read_text(), f"docs/cli.md lacks 'chatlens {' '.join(path)}'"
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
