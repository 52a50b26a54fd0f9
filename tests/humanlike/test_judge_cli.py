"""``chatlens humanlike judge`` end to end: a killed job resumes from the cache, keys never leak."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from chatlens.humanlike.instruments import load_instrument
from chatlens.llm.testing import FakeOpenAIServer, FakeReply

INST = load_instrument("hal16q")
SECRET = "sk-judge-SECRET-7f3a9c1e5b"
N_DIALOGUES = 12
#: Server delay per answer: long enough that a loaded machine's polling loop (below) still kills
#: the judge mid-run (12 answers at concurrency 2 take ~1.8 s), short enough to keep the test fast.
DELAY_S = 0.3


def answer(body, n):
    prompt = body["messages"][1]["content"]
    row = int(prompt.rsplit("W: reply number ", 1)[1].split()[0])
    ratings = {k: (int(k) + row) % 5 + 1 for k in reversed(INST.keys)}
    return FakeReply(content=json.dumps({"likert_evaluation": ratings}), delay_s=DELAY_S)


def write_input(path: Path) -> Path:
    pl.DataFrame({
        "id": list(range(N_DIALOGUES)),
        "transcript": [f"I: hello\nW: reply number {i} here\nI: bye" for i in range(N_DIALOGUES)],
    }).write_csv(path)
    return path


def cached_rows(cache: Path) -> int:
    db = cache / "llm_cache.sqlite"
    if not db.exists():
        return 0
    try:
        with closing(sqlite3.connect(db, timeout=5)) as con:
            return con.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    except sqlite3.OperationalError:  # table not created yet
        return 0


def cli_args(inp: Path, out: Path, cache: Path, server: FakeOpenAIServer) -> list[str]:
    return ["humanlike", "judge", str(inp), "--instrument", "hal16q", "--text-column",
            "transcript", "--speaker", "W", "--model", "gpt-4o-mini", "--base-url",
            server.base_url, "--concurrency", "2", "--cache", str(cache), "--timeout", "2",
            "--out", str(out)]


def test_killed_job_resumes_from_cache_and_key_never_leaks(tmp_path, monkeypatch):
    inp = write_input(tmp_path / "in.csv")
    out, cache = tmp_path / "rated.csv", tmp_path / "cache"
    with FakeOpenAIServer(answer) as server:
        env = {**os.environ, "OPENAI_API_KEY": SECRET, "CHATLENS_QUIET": "1"}
        code = "import sys; from chatlens.cli import main; sys.argv[0] = 'chatlens'; main()"
        proc = subprocess.Popen([sys.executable, "-c", code, *cli_args(inp, out, cache, server)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while cached_rows(cache) < 4 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)  # mid-run: some answers cached, others in flight
        stdout, stderr = proc.communicate(timeout=10)
        assert proc.returncode == -signal.SIGKILL, stderr.decode()[-2000:]
        assert not out.exists()
        first_run = server.n_requests
        cached = cached_rows(cache)
        assert 4 <= cached < N_DIALOGUES

        # rerun: only the dialogues not in the cache reach the server
        from chatlens.cli import app

        monkeypatch.setenv("OPENAI_API_KEY", SECRET)
        result = CliRunner().invoke(app, cli_args(inp, out, cache, server))
        assert result.exit_code == 0, result.output
        assert server.n_requests - first_run == N_DIALOGUES - cached
        assert all(h == f"Bearer {SECRET}" for h in server.auth_headers)

    rated = pl.read_csv(out)
    assert rated.height == N_DIALOGUES and rated["hl_error"].null_count() == N_DIALOGUES
    assert rated["id"].to_list() == list(range(N_DIALOGUES))
    for row in range(N_DIALOGUES):
        assert rated["hl_item_3"][row] == (3 + row) % 5 + 1  # parsed by key
    summary = json.loads((tmp_path / "rated.judge.json").read_text())
    assert summary["usage"]["cache_hits"] == cached and summary["valid"] == N_DIALOGUES
    assert "cache hits" in result.output
    # the key is nowhere: outputs, summary, cache files, console output
    for f in [out, tmp_path / "rated.judge.json", *cache.iterdir()]:
        assert SECRET.encode() not in f.read_bytes(), f
    assert SECRET not in result.output
    assert SECRET.encode() not in stdout + stderr


def test_server_errors_and_bad_json_do_not_crash_the_command(tmp_path, monkeypatch):
    def flaky(body, n):
        prompt = body["messages"][1]["content"]
        row = int(prompt.rsplit("W: reply number ", 1)[1].split()[0])
        if row % 3 == 0:
            return FakeReply(status=503, content="overloaded")
        if row % 3 == 1:
            return FakeReply(content="I'd rate them all 5. {not json")
        return answer(body, n)

    inp = write_input(tmp_path / "in.csv")
    out = tmp_path / "rated.parquet"
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    from chatlens.cli import app

    with FakeOpenAIServer(flaky) as server:
        args = cli_args(inp, out, tmp_path / "cache", server)
        args += ["--max-retries", "1", "--max-reasks", "1", "--concurrency", "4",
                 "--param", "max_tokens=null", "--param", "max_completion_tokens=512",
                 "--param", "reasoning_effort=high"]
        result = CliRunner().invoke(app, ["--quiet", *args])
        body = server.bodies[0]
        assert "max_tokens" not in body and body["max_completion_tokens"] == 512
        assert body["reasoning_effort"] == "high" and body["temperature"] == 0.0
    assert result.exit_code == 0, result.output
    rated = pl.read_parquet(out)
    errors = rated["hl_error"].to_list()
    assert sum(e is None for e in errors) == 4
    assert sum(e is not None and e.startswith("request failed") for e in errors) == 4
    assert sum(e is not None and "re-ask" in e for e in errors) == 4
    summary = json.loads((tmp_path / "rated.judge.json").read_text())
    assert (summary["invalid"], summary["failed_requests"]) == (8, 4)


def test_samples_valid_counts_reach_the_summary_and_the_table(tmp_path, monkeypatch):
    """``--samples 3`` with two unparseable answers of 6: the summary file and the printed table
    say 4 of 6 answers were valid (they said nothing of it before)."""

    def some_bad(body, n):
        return FakeReply(content="{nope") if n in (1, 4) else answer(body, n)

    pl.DataFrame({"transcript": [f"I: hi\nW: reply number {i} here" for i in range(2)]}).write_csv(
        tmp_path / "in.csv")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    from chatlens.cli import app

    with FakeOpenAIServer(some_bad) as server:
        args = cli_args(tmp_path / "in.csv", tmp_path / "rated.csv", tmp_path / "cache", server)
        args += ["--samples", "3", "--temperature", "1", "--max-reasks", "0"]
        result = CliRunner().invoke(app, args)
        assert server.n_requests == 6
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "rated.judge.json").read_text())
    assert summary["samples"]["answers_asked"] == 6 and summary["samples"]["answers_valid"] == 4
    assert pl.read_csv(tmp_path / "rated.csv")["hl_n_valid_samples"].sum() == 4
    assert "valid answers / asked" in result.output and "4 / 6" in result.output


def test_missing_model_is_a_clean_error(tmp_path, monkeypatch):
    monkeypatch.delenv("CHATLENS_MODEL", raising=False)
    from chatlens.cli import app

    inp = write_input(tmp_path / "in.csv")
    result = CliRunner().invoke(app, ["humanlike", "judge", str(inp), "--text-column",
                                      "transcript", "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 1
    assert "CHATLENS_MODEL" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("flag", ["--help"])
def test_help_lists_the_options(flag):
    from chatlens.cli import app

    result = CliRunner().invoke(app, ["humanlike", "judge", flag])
    assert result.exit_code == 0
    for opt in ["--instrument", "--text-column", "--speaker", "--model", "--base-url",
                "--api-key-env", "--concurrency", "--cache", "--out"]:
        assert opt in result.output


def test_a_key_echoed_in_a_200_answer_is_masked_in_hl_raw_and_the_cache(tmp_path, monkeypatch):
    """A server echoing the Authorization header in a normal answer put the key, unmasked, in
    the output's hl_raw and in the response cache (review repro 07)."""
    from chatlens.cli import app

    inp = tmp_path / "in.csv"
    pl.DataFrame({"id": [1], "transcript": ["I: hi\nW: hey"]}).write_csv(inp)
    out, cache = tmp_path / "rated.csv", tmp_path / "cache"
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with FakeOpenAIServer(lambda body, n: FakeReply(content=f"I saw Bearer {SECRET}")) as server:
        result = CliRunner().invoke(app, cli_args(inp, out, cache, server))
    assert result.exit_code == 3, result.output  # no valid rating
    raw = pl.read_csv(out)["hl_raw"][0]
    assert raw.startswith("I saw ***")
    for f in [out, *cache.iterdir()]:
        assert SECRET.encode() not in f.read_bytes(), f
    assert SECRET not in result.output


def test_hl_raw_and_cache_are_masked_whatever_the_transport(tmp_path, monkeypatch):
    """The cache and hl_raw mask the key themselves (not only the OpenAI transport does)."""
    from chatlens.humanlike.judge import judge
    from chatlens.llm import LLMConfig, MockTransport, make_client

    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    client = make_client(LLMConfig(model="m", cache_dir=tmp_path / "c", max_reasks=0),
                         transport=MockTransport(lambda r: f"echo {SECRET} and hf_abcdefghijk"))
    res = judge(pl.DataFrame({"dialogue": ["I: hi\nW: hey"]}), instrument=INST, speaker="W",
                client=client)
    assert res.frame["hl_raw"][0] == "echo *** and ***"
    for f in (tmp_path / "c").iterdir():
        assert SECRET.encode() not in f.read_bytes() and b"hf_abcdefghijk" not in f.read_bytes()


def test_a_shared_instruments_name_is_printed_as_text(tmp_path, monkeypatch):
    """The summary table's title held the instrument's name and version as Rich markup: a shared
    rubric named 'rubric[bold]<ESC>[2J' printed bold and cleared the screen."""
    import chatlens
    from chatlens.cli import app

    bundled = Path(chatlens.__file__).parent / "data" / "instruments" / "hal16q.yaml"
    text = bundled.read_text(encoding="utf-8")
    rubric = tmp_path / "rubric.yaml"
    rubric.write_text(text.replace("name: hal16q\n", 'name: "rubric[bold]\\e[2J"\n', 1),
                      encoding="utf-8")
    inp = write_input(tmp_path / "in.csv")
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    with FakeOpenAIServer(lambda body, n: FakeReply(content="{}")) as server:
        args = cli_args(inp, tmp_path / "rated.csv", tmp_path / "cache", server)
        args[args.index("hal16q")] = str(rubric)
        res = CliRunner().invoke(app, args)
    assert "humanlike judge: rubric[bold]\ufffd[2J" in res.output
    assert "\x1b" not in res.output
