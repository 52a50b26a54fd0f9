"""What the docs tell users is true: the README's demo numbers, complete command examples in
docs/cli.md, and no internal issue numbers in anything a user sees."""

from __future__ import annotations

import inspect
import re
import shlex
from pathlib import Path

import pytest
from typer.main import get_command

from chatlens.cli import app

ROOT = Path(__file__).resolve().parents[1]
CLI_DOCS = ROOT / "docs" / "cli.md"
ISSUE = re.compile(r"\bissues? #?\d+", re.I)


def _examples() -> list[str]:
    blocks = re.findall(r"```bash\n(.*?)```", CLI_DOCS.read_text(), re.S)
    text = "\n".join(blocks).replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip().startswith("chatlens ")]


def test_readme_demo_model_count_is_the_demo_corpus():
    from chatlens.synth import generate

    n_models = inspect.signature(generate.synth).parameters["n_models"].default
    readme = (ROOT / "README.md").read_text()
    said = re.search(r"conversations \((\d+) models", readme)
    assert said is not None and int(said.group(1)) == n_models


@pytest.mark.parametrize("example", _examples())
def test_cli_doc_examples_parse(example):
    args = shlex.split(example)[1:]
    cmd = get_command(app)
    while hasattr(cmd, "commands") and args and args[0] in cmd.commands:
        name, args = args[0], args[1:]
        cmd = cmd.commands[name]
    ctx = cmd.make_context(
        name, list(args)
    )  # raises on a dangling option or a missing required one
    assert ctx.params is not None


def test_no_issue_numbers_in_user_facing_text():
    texts = {}
    for path, cmd in _walk(get_command(app), []):
        texts[f"chatlens {' '.join(path)} --help"] = " ".join(
            [cmd.help or ""] + [getattr(p, "help", "") or "" for p in cmd.params]
        )
    for path in (ROOT / "src" / "chatlens" / "data").rglob("*.yaml"):
        texts[str(path.relative_to(ROOT))] = path.read_text()
    found = {where: ISSUE.findall(text) for where, text in texts.items() if ISSUE.search(text)}
    assert not found


def _walk(cmd, path):
    if hasattr(cmd, "commands"):
        for name, sub in cmd.commands.items():
            yield from _walk(sub, [*path, name])
    else:
        yield path, cmd
