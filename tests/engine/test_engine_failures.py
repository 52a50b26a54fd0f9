"""A failed run leaves nothing behind that looks like output, and a bad Dask set-up costs nothing.

Reviewed bugs: a partition still running when another failed (a cancelled Dask task, a
``LocalCluster`` thread) committed its parts seconds after ``run`` had raised (or into a rerun's
directory); temporary parts of workers that died stayed in the output folders forever (four per
table after one ``KilledWorker``); and ``analyze --engine dask`` with a malformed or unreachable
``--address``, or without the extra, first deleted the previous run, then failed (a malformed
address with a bare ``ValueError`` traceback).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest
from _engine_helpers import sharegpt, write_jsonl

import chatlens
from chatlens.corpus.api import SourceOptions
from chatlens.engine import PartitionError, run
from chatlens.engine.dask import LOOPBACK_HTTP
from chatlens.engine.partitions import plan_partitions
from chatlens.engine.worker import PartitionTask, run_partition
from chatlens.errors import InvalidParameterError, MissingExtraError


def _leftovers(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


def _two_files(tmp_path: Path, first: str, second: str) -> list[str]:
    a = write_jsonl(tmp_path / "a.jsonl", [sharegpt(first, "hi", "hello")])
    b = write_jsonl(tmp_path / "b.jsonl", [sharegpt(second, "hi", "hello")])
    return [str(a), str(b)]


def test_a_partition_of_an_ended_run_commits_nothing(tmp_path: Path) -> None:
    src = _two_files(tmp_path, "x", "y")[:1]
    scan = SourceOptions().open(src)
    (part,) = plan_partitions(scan.files, scan.format)
    for table in ("messages", "conversations", "quarantine"):
        (tmp_path / "out" / table).mkdir(parents=True)
    task = PartitionTask(part, scan.format, scan.options, 100, 1000, (), str(tmp_path / "out"),
                         run_token=str(tmp_path / "out" / ".chatlens-run-gone"))
    with pytest.raises(PartitionError, match=r"partition 0 .*its run ended"):
        run_partition(task)
    assert _leftovers(tmp_path / "out") == []


def test_a_dead_pool_worker_leaves_no_temporary_parts(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(PartitionError, match="worker process died"):
        run(_two_files(tmp_path, "ok", "bad"), ["_engine_stages:die_on_bad"], out=out,
            engine="process", workers=1)
    assert not [name for name in _leftovers(out) if name.endswith(".tmp")]


def test_a_rerun_removes_temporary_parts_of_a_killed_run(tmp_path: Path) -> None:
    out = tmp_path / "out"
    src = _two_files(tmp_path, "x", "y")
    run(src, out=out)
    stale = out / "messages" / ".part-00001.parquet.999999.tmp"
    stale.write_bytes(b"PAR1 half a part")
    (out / ".chatlens-run-0123").touch()
    run(src, out=out)
    assert not stale.exists()
    assert [p.name for p in out.glob(".chatlens-run-*")] == []


@pytest.mark.slow
def test_a_failed_dask_run_commits_no_part_afterwards(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    out = tmp_path / "out"
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
        scheduler_kwargs={"dashboard_address": LOOPBACK_HTTP},
        worker_dashboard_address=LOOPBACK_HTTP,
    ) as cluster:
        with pytest.raises(PartitionError, match=r"partition 1 .*failed: StageError"):
            run(_two_files(tmp_path, "slow", "bad"), ["_engine_stages:slow_or_boom"], out=out,
                engine="dask", address=cluster.scheduler_address)
        time.sleep(2.5)  # the slow partition's task has run to its end by now
    assert _leftovers(out) == []


def _previous_run(tmp_path: Path) -> tuple[Path, list[str], str]:
    src = _two_files(tmp_path, "x", "y")
    out = tmp_path / "run"
    chatlens.analyze(src, out=out, workers=1, detect=False)
    return out, src, (out / "manifest.json").read_text()


def test_analyze_with_a_malformed_dask_address_keeps_the_previous_run(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    out, src, manifest = _previous_run(tmp_path)
    with pytest.raises(InvalidParameterError, match=r"'not an address' is not valid.*tcp://"):
        chatlens.analyze(src, out=out, engine="dask", address="not an address", detect=False)
    assert (out / "manifest.json").read_text() == manifest
    assert not (out / ".chatlens-incomplete").exists()


@pytest.mark.slow
def test_analyze_with_an_unreachable_scheduler_keeps_the_previous_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("distributed")
    from chatlens.engine import dask as dask_engine

    monkeypatch.setattr(dask_engine, "CONNECT_TIMEOUT", "1s")
    out, src, manifest = _previous_run(tmp_path)
    with pytest.raises(PartitionError, match=r"Cannot connect to the Dask scheduler at tcp://"):
        chatlens.analyze(src, out=out, engine="dask", address="tcp://127.0.0.1:1", detect=False)
    assert (out / "manifest.json").read_text() == manifest
    assert json.loads(manifest)["counts"]["rows_in"] == 2


def test_analyze_without_the_dask_extra_keeps_the_previous_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, src, manifest = _previous_run(tmp_path)
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingExtraError, match=r"chatlens\[dask\]"):
        chatlens.analyze(src, out=out, engine="dask", detect=False)
    assert (out / "manifest.json").read_text() == manifest


@pytest.mark.slow
def test_a_runs_own_cluster_listens_on_loopback_only(tmp_path: Path) -> None:
    """Reviewed bug: engine='dask' without an address started a LocalCluster whose scheduler
    served HTTP (health, metrics, worker info) on 0.0.0.0:8787 and, with processes=False, whose
    workers did too: reachable from the network for the whole run."""
    pytest.importorskip("distributed")
    pytest.importorskip("psutil")
    result = run(_two_files(tmp_path, "x", "y")[:1], ["_engine_stages:listening_hosts"],
                 out=tmp_path / "out", engine="dask", workers=1, processes=False)
    (hosts,) = result.scan("conversations").collect().get_column("listening_hosts").to_list()
    assert hosts and set(hosts.split(",")) <= {"127.0.0.1"}, hosts


@pytest.mark.slow
def test_a_task_cancelled_on_the_cluster_is_named(tmp_path: Path) -> None:
    """Reviewed bug: a partition whose task another client cancelled (or a restarted scheduler
    lost) failed with 'failed: NoneType: None'."""
    import threading

    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None,
        scheduler_kwargs={"dashboard_address": LOOPBACK_HTTP},
        worker_dashboard_address=LOOPBACK_HTTP,
    ) as cluster, distributed.Client(cluster) as other:

        def cancel_running() -> None:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                keys = [k for ks in other.processing().values() for k in ks]
                if keys:
                    other.cancel([distributed.Future(k, client=other) for k in keys], force=True)
                    return
                time.sleep(0.05)

        canceller = threading.Thread(target=cancel_running)
        canceller.start()
        with pytest.raises(PartitionError, match=r"partition 0 .*ended 'cancelled' without a result"):
            run(_two_files(tmp_path, "slow", "x")[:1], ["_engine_stages:slow_or_boom"],
                out=tmp_path / "out", engine="dask", address=cluster.scheduler_address)
        canceller.join()


@pytest.mark.slow
def test_a_relative_source_is_read_from_the_drivers_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reviewed bug: tasks carried the source path as given, and a Dask worker opened it
    relative to its own working directory (where it was started): 'data/a.jsonl' analysed the
    worker's data/a.jsonl, another file, silently (or failed with a missing file), while the
    manifest fingerprinted the driver's. Paths are made absolute; provenance keeps the name."""
    import os

    distributed = pytest.importorskip("distributed")
    for where, text in (("driver", "the real data"), ("worker", "some other data")):
        (tmp_path / where / "data").mkdir(parents=True)
        write_jsonl(tmp_path / where / "data" / "a.jsonl",
                    [sharegpt("c1", text, "ok"), {"id": "c2", "conversations": []}])
    monkeypatch.chdir(tmp_path / "driver")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
        scheduler_kwargs={"dashboard_address": LOOPBACK_HTTP},
        worker_dashboard_address=LOOPBACK_HTTP,
    ) as cluster, distributed.Client(cluster) as client:
        client.run(os.chdir, str(tmp_path / "worker"))  # a worker started elsewhere
        result = run("data/a.jsonl", out=tmp_path / "out", engine="dask", address=client)
    assert result.scan("messages").collect().get_column("content").to_list() == [
        "the real data", "ok"]
    assert result.scan("quarantine").collect().get_column("file").to_list() == ["data/a.jsonl"]


def test_a_failed_pool_run_stops_the_partitions_still_running(tmp_path: Path) -> None:
    """Reviewed bug: after a partition failed, leaving the pool waited for the partitions
    already running or queued (a failure in 1.4 s was reported after 7.9 s with two 3 s
    neighbours; minutes with real partitions), and they committed parts of the failed run."""
    out = tmp_path / "out"
    with pytest.raises(PartitionError, match=r"partition 1 .*failed: StageError"):
        run(_two_files(tmp_path, "slow", "bad"), ["_engine_stages:slow_or_boom"], out=out,
            engine="process", workers=2)
    assert _leftovers(out) == []


def test_a_full_disk_in_a_local_run_is_the_partitions_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reviewed bug: on a full disk the local engine's write failed (PartitionError naming the
    partition and 'No space left on device'), then closing the run's files wrote their footers
    and failed too: that second OSError replaced the first, and 'chatlens analyze --workers 1'
    into a full 3 MB filesystem ended in a traceback (exit 1, no 'error:' line)."""
    import errno

    from chatlens.corpus.sink import ParquetSink

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ParquetSink, "write", full)
    monkeypatch.setattr(ParquetSink, "close", full)
    with pytest.raises(PartitionError, match=r"partition 0 \(.*a\.jsonl\) failed: OSError: .*No space left"):
        run(_two_files(tmp_path, "x", "y"), ["message_length"], out=tmp_path / "out",
            layout="single")


def test_a_partition_run_again_on_the_cluster_leaves_no_temporary_parts(tmp_path: Path) -> None:
    """Reviewed bug: a Dask worker that died in the middle of a partition (its nanny restarts it
    and the scheduler runs the task again) left its temporary parts ('.part-00000.parquet.<pid>
    .tmp', one per table) beside the parts of the run, which succeeded: the run itself now
    removes them when it ends."""
    from chatlens.engine.stages import StageSpec

    pytest.importorskip("distributed")
    out = tmp_path / "out"
    stage = StageSpec("die_once", "_engine_stages:die_once", {"flag": str(tmp_path / "died")})
    src = _two_files(tmp_path, "x", "y")[:1]
    result = run(src, [stage], out=out, engine="dask", workers=1)
    assert (tmp_path / "died").exists() and result.rows_analysed == 1
    assert _leftovers(out) == [f"{t}/part-00000.parquet" for t in
                               ("conversations", "messages", "quarantine")]


def test_pool_workers_leave_no_temporary_files(tmp_path: Path) -> None:
    """Reviewed bug: a pool worker terminated because another partition failed (or because the
    driver died) runs no clean-up, so what it had in TMPDIR stayed there: a failed run over a
    27 MB interleaved message-table CSV left /tmp/chatlens-table-*/ (3.7 MB of its rows, message
    text) behind. The workers now write temporaries into one folder of the run, removed when the
    pool has ended (shown with a stage that leaves a folder, as a terminated reader does)."""
    out = tmp_path / "out"
    result = run(_two_files(tmp_path, "x", "y"), ["_engine_stages:leave_a_temporary_folder"],
                 out=out, engine="process", workers=2)
    folders = result.scan("conversations").collect().get_column("tmp_folder").to_list()
    assert len(folders) == 2 and all(Path(f).name.startswith("chatlens-test-") for f in folders)
    assert not [f for f in folders if Path(f).exists()]


def test_a_malformed_dask_address_leaves_no_new_output_directory(tmp_path: Path) -> None:
    """engine.run created (locked) the output directory before connecting to the scheduler, so
    a mistyped address left an empty new directory behind: it connects first now."""
    pytest.importorskip("distributed")
    src = _two_files(tmp_path, "x", "y")
    out = tmp_path / "new-run"
    with pytest.raises(InvalidParameterError, match=r"'not an address' is not valid"):
        run(src, out=out, engine="dask", address="not an address")
    assert not out.exists()
    # and again in the same process (a failed Client used to break the next one)
    with pytest.raises(InvalidParameterError, match=r"'tcp://host' is not valid"):
        chatlens.analyze(src, out=out, engine="dask", address="tcp://host", detect=False)
    assert not out.exists()
