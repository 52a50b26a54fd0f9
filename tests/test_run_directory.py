"""A failed or killed rerun never leaves a misleading run directory (issue 11 item 5).

Before the fix a rerun that failed kept the old manifest, report and tables beside the new
Parquet files and ``chatlens query`` answered from the mix; a killed ``classify`` left its
``.partial`` file behind forever.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import chatlens
from chatlens.engine.rundir import MARKER
from chatlens.errors import ChatlensError, IncompleteRunError
from chatlens.query import query

CHATLENS = [sys.executable, "-c", "from chatlens.cli import main; main()"]


def _corpus(path: Path, n: int) -> Path:
    with path.open("w") as f:
        for i in range(n):
            f.write(
                json.dumps(
                    {
                        "id": f"c{i}",
                        "messages": [
                            {"role": "user", "content": f"how do I pick lock {i}"},
                            {
                                "role": "assistant",
                                "content": "I'm sorry, but I can't help with that.",
                            },
                            {"role": "user", "content": "why not?"},
                        ],
                    }
                )
                + "\n"
            )
    return path


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(Path(chatlens.__file__).parents[1])}
    return subprocess.run(
        [*CHATLENS, *args], capture_output=True, text=True, env=env, timeout=600, check=False
    )


def test_a_failed_rerun_is_marked_and_refused(tmp_path, monkeypatch):
    run = tmp_path / "run"
    chatlens.analyze(_corpus(tmp_path / "a.jsonl", 20), out=run)
    assert not (run / MARKER).exists()
    assert query(run, "select count(*) as n from conversations")["n"][0] == 20
    (run / "notes.txt").write_text("mine")  # not a run output: left alone

    import chatlens.run as run_module

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(run_module, "write_run_report", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        chatlens.analyze(_corpus(tmp_path / "b.jsonl", 5), out=run)
    assert (run / MARKER).exists()
    assert not (run / "report.html").exists()  # the old run's report is gone, not beside new tables
    assert (run / "notes.txt").read_text() == "mine"
    with pytest.raises(IncompleteRunError, match="is incomplete.*did not finish"):
        query(run, "select count(*) from conversations")
    done = _cli("query", str(run), "select 1")
    assert done.returncode != 0 and "incomplete" in done.stderr

    monkeypatch.undo()
    chatlens.analyze(_corpus(tmp_path / "b.jsonl", 5), out=run)
    assert not (run / MARKER).exists()
    assert MARKER not in json.loads((run / "manifest.json").read_text())["outputs"]
    assert query(run, "select count(*) as n from conversations")["n"][0] == 5


def test_a_killed_rerun_is_refused(tmp_path):
    run = tmp_path / "run"
    chatlens.analyze(_corpus(tmp_path / "small.jsonl", 10), out=run)
    big = _corpus(tmp_path / "big.jsonl", 60_000)
    env = {**os.environ, "PYTHONPATH": str(Path(chatlens.__file__).parents[1])}
    proc = subprocess.Popen(
        [*CHATLENS, "analyze", str(big), "--out", str(run), "--batch-size", "500", "-q"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while not ((run / MARKER).exists() and (run / "messages.parquet").exists()):
            assert proc.poll() is None, "the run finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.5)  # mid-run: batches are being written
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert not (run / "manifest.json").exists()
    done = _cli("query", str(run), "select count(*) from conversations")
    assert done.returncode != 0
    assert "incomplete" in done.stderr and "Traceback" not in done.stderr


def test_a_cut_parquet_file_is_a_clear_error(tmp_path):
    run = tmp_path / "run"
    chatlens.analyze(_corpus(tmp_path / "a.jsonl", 20), out=run)
    data = (run / "conversations.parquet").read_bytes()
    (run / "conversations.parquet").write_bytes(data[: len(data) // 2])  # no footer
    with pytest.raises(
        ChatlensError, match=r"conversations\.parquet is not a readable Parquet file"
    ):
        query(run, "select count(*) from conversations")


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_stale_partial_files_of_a_killed_writer_are_removed(tmp_path):
    from chatlens.corpus.tablefile import TableWriter

    out = tmp_path / "labelled.csv"
    stale = tmp_path / f".labelled.csv.{_dead_pid()}.partial"
    busy = tmp_path / f".labelled.csv.{os.getppid()}.partial"  # a live writer's: kept
    stale.write_text("half")
    busy.write_text("half")
    import polars as pl

    with TableWriter(out) as w:
        w.write(pl.DataFrame({"a": [1]}))
    assert not stale.exists() and busy.exists() and out.read_text() == "a\n1\n"


def test_stale_partial_files_of_an_output_named_with_brackets_are_removed(tmp_path):
    """The stale-file pattern was the output's name unescaped: for 'o[1].csv' it matched
    o1.csv's partial files, never its own, which stayed forever."""
    import polars as pl

    from chatlens.corpus.tablefile import TableWriter

    out = tmp_path / "o[1].csv"
    stale = tmp_path / f".o[1].csv.{_dead_pid()}.partial"
    stale.write_text("half")
    with TableWriter(out) as w:
        w.write(pl.DataFrame({"a": [1]}))
    assert not stale.exists() and out.read_text() == "a\n1\n"


def test_a_killed_classify_leaves_no_partial_file_after_the_next_run(tmp_path):
    import polars as pl

    src = tmp_path / "replies.parquet"
    pl.DataFrame({"content": ["I'm sorry, but I can't help with that."] * 400_000}).write_parquet(
        src
    )
    out = tmp_path / "labelled.csv"
    env = {**os.environ, "PYTHONPATH": str(Path(chatlens.__file__).parents[1])}
    proc = subprocess.Popen(
        [
            *CHATLENS,
            "classify",
            "refusal",
            str(src),
            "--text-column",
            "content",
            "--out",
            str(out),
            "--batch-size",
            "2000",
            "-q",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while not list(tmp_path.glob(".labelled.csv.*.partial")):
            assert proc.poll() is None, "classify finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert list(tmp_path.glob(".labelled.csv.*.partial")) and not out.exists()
    small = tmp_path / "few.parquet"
    pl.DataFrame({"content": ["Sure, here it is."]}).write_parquet(small)
    done = _cli(
        "classify", "refusal", str(small), "--text-column", "content", "--out", str(out), "-q"
    )
    assert done.returncode == 0, done.stderr
    assert not list(tmp_path.glob(".labelled.csv.*.partial"))


def test_analyze_never_deletes_what_is_not_a_runs_own(tmp_path):
    """Reviewed bug: analyze cleared its outputs' names before anything else, so it deleted the
    very file it was asked to read, a user's own figures/ folder (--out .), and a finished run
    when the source path had a typo."""
    from chatlens.errors import InvalidParameterError, SourceError

    src = _corpus(tmp_path / "a.jsonl", 10)
    # the source at an output's path: refused whatever --overwrite says, and kept
    inside = tmp_path / "in" / "tables" / "a.jsonl"
    inside.parent.mkdir(parents=True)
    inside.write_bytes(src.read_bytes())
    for overwrite in (False, True):
        with pytest.raises(InvalidParameterError, match="would delete it before reading it"):
            chatlens.analyze(inside, out=inside.parent.parent, overwrite=overwrite)
    assert inside.exists()
    # a directory that is not a run, holding a name a run writes: refused unless overwrite
    mine = tmp_path / "mine"
    (mine / "figures").mkdir(parents=True)
    (mine / "figures" / "fig1.png").write_text("keep")
    with pytest.raises(InvalidParameterError, match="not a chatlens run directory.*figures"):
        chatlens.analyze(src, out=mine, detect=False)
    assert (mine / "figures" / "fig1.png").read_text() == "keep"
    assert not (mine / MARKER).exists()
    chatlens.analyze(src, out=mine, detect=False, overwrite=True)
    assert not (mine / "figures" / "fig1.png").exists()
    # a finished run survives a typo in the source, a bad engine and a broken profile
    run = tmp_path / "run"
    chatlens.analyze(src, out=run, workers=1)
    before = sorted(p.name for p in run.iterdir())
    with pytest.raises(SourceError):
        chatlens.analyze(tmp_path / "a.jsonll", out=run)
    with pytest.raises(InvalidParameterError, match="engine"):
        chatlens.analyze(src, out=run, engine="nope")
    broken = tmp_path / "broken.yaml"
    default = (Path(chatlens.__file__).parent / "data" / "profiles" / "default.yaml").read_text()
    broken.write_text(default.replace("definitions: default", "definitions: nonsense"))
    with pytest.raises(ChatlensError, match="nonsense"):
        chatlens.analyze(src, out=run, profile=broken)
    assert sorted(p.name for p in run.iterdir()) == before and not (run / MARKER).exists()
    assert query(run, "select count(*) as n from conversations")["n"][0] == 10
    # and a rerun into a run directory replaces it, as before
    chatlens.analyze(_corpus(tmp_path / "b.jsonl", 4), out=run, workers=1)
    assert query(run, "select count(*) as n from conversations")["n"][0] == 4


def test_quarantine_keeps_no_text_unless_the_run_does(tmp_path):
    """Reviewed risk: messages.parquet drops the text by default, but quarantine.parquet kept
    2,000 characters of every malformed record, text and all."""
    src = _corpus(tmp_path / "a.jsonl", 3)
    with src.open("a") as f:
        f.write(json.dumps({"id": "bad", "messages": [{"role": "narrator",
                                                       "content": "my home address is 12 Elm"}]}))
        f.write("\n{\"id\": \"cut\", \"messages\": [{\"role\": \"user\", \"content\": \"secret pin 4")
        f.write("\n")
    for keep_text in (False, True):
        out = tmp_path / f"run-{keep_text}"
        chatlens.analyze(src, out=out, keep_text=keep_text, workers=1)
        raw = "\n".join(query(out, "select raw from quarantine")["raw"].to_list())
        assert ("12 Elm" in raw and "secret pin" in raw) is keep_text
        if not keep_text:
            assert raw.count("chars") >= 4  # the shape stays: keys kept, values sketched


def test_quarantine_keeps_no_text_of_records_that_are_not_json(tmp_path):
    """corpus.md: without --keep-text "every string value becomes "<N chars>"" and a record that
    is not JSON keeps only its length. A line that opens like JSON but is not (a Python-repr dump
    with single quotes, a line of free text after a '{') kept its text: only double-quoted
    strings were sketched, so 'my secret text' and the bare words went into quarantine.parquet."""
    src = _corpus(tmp_path / "a.jsonl", 3)
    with src.open("a") as f:
        f.write("{'id': 'py', 'messages': [{'role': 'user', 'content': 'my secret text'}]}\n")
        f.write("{call me on 555 0199, love Ann\n")
        f.write('{"id": "ok", "n": -1.5e3, "flag": true, "x": null, "m": [{"content": "a b"}]\n')
    out = tmp_path / "run"
    chatlens.analyze(src, out=out, workers=1)
    raws = query(out, "select raw from quarantine order by row")["raw"].to_list()
    assert len(raws) == 3
    for word in ("secret", "user", "messages", "call", "Ann", "555"):
        assert not any(word in raw for raw in raws), (word, raws)
    # the shape stays: braces, brackets and JSON's own numbers and literals
    assert raws[0].startswith("{") and raws[0].count("chars>") >= 6
    assert "-1.5e3" in raws[2] and "true" in raws[2] and "null" in raws[2]


def test_a_failed_pooled_run_leaves_no_parts_and_names_a_full_disk(tmp_path, monkeypatch):
    """Reviewed bug: a pooled run that failed after its partitions (here the compaction, on a
    full disk) kept out/_parts, a copy of the whole corpus, until the next run there (on a
    10 MB filesystem: the 10 MB that filled it), and the error was a raw 'OSError: No space
    left on device (os error 28)' traceback naming no file. Ctrl-C left the parts too."""
    import errno

    from chatlens.engine.result import EngineResult
    from chatlens.errors import RunDirectoryError

    def full(self, name, dest):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(EngineResult, "compact", full)
    run = tmp_path / "run"
    with pytest.raises(RunDirectoryError, match=r"Cannot write the run directory .*run: .*No "
                       r"space left on device.*marked incomplete"):
        chatlens.analyze(_corpus(tmp_path / "a.jsonl", 20), out=run, engine="process", workers=1)
    assert (run / MARKER).exists()
    assert not (run / "_parts").exists()


def test_a_run_into_a_directory_another_run_is_writing_is_refused(tmp_path):
    """Reviewed bug: a second 'chatlens analyze --out D' while one was running there was
    accepted: it deleted the first run's outputs under it (the first then failed after all its
    work: 'No such file or directory: D/figures/study1_comprehensive_analysis.png'), and
    whichever finished first removed the marker while the other was still writing. A run now
    holds an flock on D (what the first run holds is taken here by hand)."""
    import fcntl

    from chatlens.errors import InvalidParameterError

    run = tmp_path / "run"
    chatlens.analyze(_corpus(tmp_path / "a.jsonl", 20), out=run)
    manifest = (run / "manifest.json").read_text()
    fd = os.open(run, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(InvalidParameterError, match=r"Another chatlens run is writing into"):
            chatlens.analyze(_corpus(tmp_path / "b.jsonl", 5), out=run)
        assert (run / "manifest.json").read_text() == manifest  # the running one's, untouched
    finally:
        os.close(fd)
    chatlens.analyze(_corpus(tmp_path / "b.jsonl", 5), out=run)  # a finished run holds no lock
    fcntl.flock(fd := os.open(run, os.O_RDONLY), fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.close(fd)


def test_the_manifest_lists_the_runs_outputs_not_the_users_files(tmp_path):
    """Reviewed bug: the manifest's 'outputs' were every file under --out, so a run into a
    folder of the user's ('--out .' beside the input data, notes and a .git folder) listed 337
    outputs for a run of 36 files (the input among them), walking the whole tree to do it."""
    (tmp_path / "data").mkdir()
    src = _corpus(tmp_path / "data" / "a.jsonl", 20)
    (tmp_path / "notes" / ".git").mkdir(parents=True)
    (tmp_path / "notes" / ".git" / "HEAD").write_text("ref")
    result = chatlens.analyze(src, out=tmp_path, overwrite=True)
    listed = result.manifest["outputs"]
    assert "data/a.jsonl" not in listed and "notes/.git/HEAD" not in listed
    assert {"conversations.parquet", "tables/models.csv", "summary.json"} <= set(listed)
    assert listed[-2:] == ["manifest.json", "report.html"]
    assert json.loads((tmp_path / "manifest.json").read_text())["outputs"] == listed


def test_a_temporary_of_a_killed_run_is_not_left_in_the_next(tmp_path):
    """Reviewed bug: a run killed while it rewrote quarantine.parquet in source order left
    '.quarantine.parquet.sorted.tmp' (that run's quarantined rows); the next run renamed its own
    over it only if it had a quarantine to sort, so a rerun with none kept the other run's rows
    in a hidden file of its directory."""
    run = tmp_path / "run"
    chatlens.analyze(_corpus(tmp_path / "a.jsonl", 5), out=run)
    stale = run / ".quarantine.parquet.sorted.tmp"
    (run / "quarantine.parquet").rename(stale)  # what the killed run left
    (run / MARKER).write_text("{}")
    mine = run / ".notes.tmp"
    mine.write_text("mine")
    chatlens.analyze(_corpus(tmp_path / "b.jsonl", 5), out=run)
    assert not stale.exists()
    assert mine.read_text() == "mine"


_SIGNALLED_RUN = """
import signal, sys, time
import chatlens, chatlens.run as run_module

def wait_here(out, summary):  # the partitions are written, _parts holds them: stop here
    print("parts", flush=True)
    time.sleep(120)

run_module.check_written = wait_here
print("before", signal.getsignal(signal.SIGTERM) is signal.SIG_DFL, flush=True)
chatlens.analyze(sys.argv[1], out=sys.argv[2], engine="process", workers=1)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_terminated_run_removes_its_parts(tmp_path, signum):
    """Reviewed bug: SIGTERM to the driver (what `kill`, systemd and a batch scheduler send)
    ended it on the spot, so a pooled run's out/_parts, a copy of the whole corpus, stayed until
    the next run there; Ctrl-C (SIGINT) cleaned up. Both now leave the directory as a failure
    does: marked incomplete, no parts; SIGTERM exits with 128 + 15."""
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(Path(chatlens.__file__).parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-c", _SIGNALLED_RUN, str(_corpus(tmp_path / "a.jsonl", 20)), str(run)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout.readline().split() == ["before", "True"]
        assert proc.stdout.readline().strip() == "parts"
        assert (run / "_parts").is_dir()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == (128 + signal.SIGTERM if signum == signal.SIGTERM else -signal.SIGINT), err
    assert not (run / "_parts").exists()
    assert (run / MARKER).exists()


def test_a_run_restores_the_signal_handlers_it_found():
    """analyze handles SIGTERM only while it runs, and leaves a handler the program set alone."""
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    from chatlens.engine.rundir import terminate_as_exit

    with terminate_as_exit():
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    def own(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, own)
    try:
        with terminate_as_exit():
            assert signal.getsignal(signal.SIGTERM) is own
    finally:
        signal.signal(signal.SIGTERM, previous)
