"""Exit codes and loud warnings: a command that produced nothing does not exit 0, and an
auto-detected format that quarantined most rows says so (docs/cli.md, "Exit codes")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.cli._common import ExitCode, cli_wording

runner = CliRunner()
DOCS = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _battle(i: int) -> dict:
    return {
        "question_id": f"q{i}",
        "model_a": "vicuna-13b",
        "model_b": "alpaca-13b",
        "winner": "model_a",
        "conversation_a": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello"},
        ],
        "conversation_b": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "no"},
        ],
    }


@pytest.fixture
def wrapped_arena(tmp_path: Path) -> Path:
    """An Arena export wrapped in another container: detected as DICES, every row quarantined."""
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"instances": [{"battle": _battle(i)} for i in range(10)]}))
    return path


@pytest.mark.parametrize("command", ["info", "analyze"])
def test_everything_quarantined_exits_no_result_with_a_format_warning(
    command, wrapped_arena, tmp_path
):
    args = [command, str(wrapped_arena)] + (
        ["--out", str(tmp_path / "run")] if command == "analyze" else []
    )
    res = runner.invoke(app, [*args, "-q"])
    assert res.exit_code == ExitCode.NO_RESULT == 3, res.output
    assert "detected as 'dices'" in res.output and "10 of 10 rows were quarantined" in res.output
    assert "--format" in res.output and "format=" not in res.output
    assert "all 10 input rows were quarantined" in res.output


def test_more_than_half_quarantined_warns_but_succeeds(tmp_path):
    good = {
        "id": "a",
        "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}],
    }
    rows = [good] + [{"id": f"b{i}", "conversations": []} for i in range(2)]
    src = tmp_path / "log.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    res = runner.invoke(app, ["info", str(src)])
    assert res.exit_code == 0, res.output
    assert "warning:" in res.output and "2 of 3 rows were quarantined" in res.output
    # an explicit format is the user's choice: no warning
    res = runner.invoke(app, ["info", str(src), "--format", "sharegpt"])
    assert res.exit_code == 0 and "warning:" not in res.output


def test_lite_with_a_wrong_speaker_exits_no_result(tmp_path):
    src = tmp_path / "c.jsonl"
    pl.DataFrame({"conv": ["I: hi\nW: hey lol", "I: hi\nW: Hello!"]}).write_ndjson(src)
    res = runner.invoke(
        app,
        [
            "humanlike",
            "lite",
            str(src),
            "--text-column",
            "conv",
            "--speaker",
            "Z",
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    assert res.exit_code == ExitCode.NO_RESULT, res.output
    assert "--speaker" in res.output and "'Z'" in res.output


def test_classify_of_an_empty_file_exits_no_result(tmp_path):
    src = tmp_path / "empty.csv"
    src.write_text("content\n")
    res = runner.invoke(
        app,
        [
            "classify",
            "refusal",
            str(src),
            "--text-column",
            "content",
            "--out",
            str(tmp_path / "o.csv"),
        ],
    )
    assert res.exit_code == ExitCode.NO_RESULT, res.output


def test_cli_errors_use_option_names_not_python_parameters(tmp_path):
    src = tmp_path / "x.json"
    src.write_text(json.dumps({"data": {"rows": [1, 2]}}))
    res = runner.invoke(app, ["info", str(src)])
    assert res.exit_code == ExitCode.ERROR
    assert "Pass --format" in res.output and "format=" not in res.output
    assert "--column-map" in res.output and "conversation_id=chat" in res.output
    res = runner.invoke(app, ["info", str(src), "--layout", "x"])
    assert "The option --layout must be" in res.output and "open_batches" not in res.output


def test_cli_wording_leaves_parameters_the_command_lacks_alone():
    msg = "The 'duplicates' parameter of run must be 'report'. Pass format= or use batch_size."
    assert cli_wording(msg, {"--batch-size"}) == (
        "The 'duplicates' parameter of run must be 'report'. Pass format= or use --batch-size."
    )


def test_every_exit_code_is_documented():
    text = DOCS.read_text()
    section = text[text.index("## Exit codes") :]
    for code in ExitCode:
        assert re.search(rf"^\| {code.value} \|", section, re.M), (
            f"exit code {code.value} not in docs/cli.md"
        )


def test_a_truncated_csv_gz_exits_1_every_time(tmp_path) -> None:
    """After a read error inside pyarrow's streaming CSV reader, interpreter finalization aborted
    the console script in about a third of the runs (exit 134 after the right message); an
    error exit of the console script now skips finalization."""
    import gzip
    import subprocess
    import sys

    rows = "conversation_id,role,content\n" + "".join(
        f"c{i},user,hello {i}\nc{i},assistant,hi {i}\n" for i in range(200_000))
    data = gzip.compress(rows.encode())
    src = tmp_path / "cut.csv.gz"
    src.write_bytes(data[: len(data) // 2])
    codes = set()
    for _ in range(6):
        done = subprocess.run([sys.executable, "-c", "from chatlens.cli import main; main()",
                               "info", str(src)], capture_output=True, text=True, check=False)
        codes.add(done.returncode)
        assert "corrupt or truncated" in done.stderr
    assert codes == {1}
