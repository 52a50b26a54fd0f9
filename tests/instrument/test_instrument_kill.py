"""``chatlens instrument discover`` killed with SIGKILL in the LLM step resumes to the same files."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

from instrument_helpers import PAIR_OPTIONS, fake_llm, make_pairs
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.instrument import steps
from chatlens.llm.testing import FakeOpenAIServer, FakeReply

N_PAIRS = 24


def slow(body, n):
    reply = fake_llm(body, n)
    return FakeReply(content=reply.content, delay_s=0.25)


def cached(cache: Path) -> int:
    db = cache / "llm_cache.sqlite"
    if not db.exists():
        return 0
    try:
        with closing(sqlite3.connect(db, timeout=5)) as con:
            return con.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def args(inp: Path, out: Path, server: FakeOpenAIServer) -> list[str]:
    return [
        "instrument",
        "discover",
        str(inp),
        *PAIR_OPTIONS,
        "--model",
        "fake-judge",
        "--base-url",
        server.base_url,
        "--concurrency",
        "2",
        "--max-retries",
        "0",
        "--min-cluster-size",
        "2",
        "--n-items",
        "6",
        "--out",
        str(out),
    ]


def test_sigkill_mid_llm_step_then_rerun_gives_identical_artefacts(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    inp = tmp_path / "pairs.csv"
    make_pairs(N_PAIRS).write_csv(inp)
    out = tmp_path / "killed"
    with FakeOpenAIServer(slow) as server:
        env = {**os.environ, "CHATLENS_QUIET": "1"}
        code = "import sys; from chatlens.cli import main; sys.argv[0] = 'chatlens'; main()"
        proc = subprocess.Popen(
            [sys.executable, "-c", code, *args(inp, out, server)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 60
        while cached(out / "llm-cache") < 4 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        _, stderr = proc.communicate(timeout=10)
        assert proc.returncode == -signal.SIGKILL, stderr.decode()[-2000:]
        answered = cached(out / "llm-cache")
        assert 4 <= answered < N_PAIRS and not (out / "statements.parquet").exists()
        before = server.n_requests
        runner = CliRunner()
        r = runner.invoke(app, args(inp, out, server))
        assert r.exit_code == 0, r.output
        assert server.n_requests - before == N_PAIRS - answered + 1  # the rest + condense
        clean = tmp_path / "clean"
        r = runner.invoke(app, args(inp, clean, server))
        assert r.exit_code == 0, r.output
    for files in steps.ARTEFACTS.values():
        for f in files:
            assert (out / f).read_bytes() == (clean / f).read_bytes(), f
