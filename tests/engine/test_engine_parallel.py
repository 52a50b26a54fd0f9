"""Determinism across engines, and failures from other processes naming their partition."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import polars as pl
import pytest
from _engine_helpers import sharegpt, write_jsonl

from chatlens.engine import PartitionError, run
from chatlens.engine.api import EngineResult
from chatlens.engine.dask import LOOPBACK_HTTP
from chatlens.engine.pool import usable_cores

KEY = ["conversation_id", "message_index"]


def _tables(result: EngineResult) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    return (
        result.scan("messages").collect().sort(KEY),
        result.scan("conversations").collect().sort("conversation_id"),
        result.scan("quarantine").collect(),
    )


@pytest.fixture(scope="module")
def local_result(synth_files: list[Path]) -> EngineResult:
    out = synth_files[0].parent / "det_local"
    return run([str(p) for p in synth_files], ["message_length"], out=out, partition_rows=300)


def _assert_same(result: EngineResult, reference: EngineResult) -> None:
    for got, want in zip(_tables(result), _tables(reference), strict=True):
        assert got.equals(want)
    assert result.summary == reference.summary
    assert [p.records_in for p in result.partitions] == [p.records_in for p in reference.partitions]
    # parts in partition order: unsorted reads are identical too
    assert result.scan("messages").collect().equals(reference.scan("messages").collect())


def test_process_pool_matches_local(synth_files: list[Path], local_result: EngineResult) -> None:
    out = synth_files[0].parent / "det_process"
    result = run(
        [str(p) for p in synth_files],
        ["message_length"],
        out=out,
        engine="process",
        workers=2,
        partition_rows=300,
    )
    assert result.workers == 2
    assert len(result.partitions) == 8
    _assert_same(result, local_result)


@pytest.mark.slow
def test_dask_local_cluster_matches_local(
    synth_files: list[Path], local_result: EngineResult
) -> None:
    pytest.importorskip("distributed")
    out = synth_files[0].parent / "det_dask"
    result = run(
        [str(p) for p in synth_files],
        ["message_length"],
        out=out,
        engine="dask",
        workers=2,
        processes=False,
        partition_rows=300,
    )
    _assert_same(result, local_result)


def _failing_source(tmp_path: Path) -> list[str]:
    a = write_jsonl(tmp_path / "a.jsonl", [sharegpt("ok", "hi", "hello")])
    b = write_jsonl(tmp_path / "b.jsonl", [sharegpt("bad", "hi", "hello")])
    return [str(a), str(b)]


def test_process_failure_names_the_partition(tmp_path: Path) -> None:
    with pytest.raises(
        PartitionError, match=r"partition 1 \(.*b\.jsonl\) failed: StageError"
    ) as info:
        run(
            _failing_source(tmp_path),
            ["_engine_stages:boom_on_bad"],
            out=tmp_path / "out",
            engine="process",
            workers=2,
        )
    assert info.value.partition == 1


@pytest.mark.slow
def test_dask_failure_names_the_partition(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    with pytest.raises(
        PartitionError, match=r"partition 1 \(.*b\.jsonl\) failed: StageError"
    ) as info:
        run(
            _failing_source(tmp_path),
            ["_engine_stages:boom_on_bad"],
            out=tmp_path / "out",
            engine="dask",
            workers=2,
            processes=False,
        )
    assert info.value.partition == 1


def test_dead_pool_worker_is_reported(tmp_path: Path) -> None:
    with pytest.raises(
        PartitionError,
        match=r"partition 1 \(.*b\.jsonl\) failed: BrokenProcessPool.*worker process died",
    ):
        run(
            _failing_source(tmp_path),
            ["_engine_stages:die_on_bad"],
            out=tmp_path / "out",
            engine="process",
            workers=1,
        )


@pytest.mark.slow
def test_dask_worker_processes(synth_files: list[Path], local_result: EngineResult) -> None:
    """Real worker processes: tasks and results cross process boundaries (pickling)."""
    pytest.importorskip("distributed")
    out = synth_files[0].parent / "det_dask_proc"
    result = run(
        [str(p) for p in synth_files],
        ["message_length"],
        out=out,
        engine="dask",
        workers=2,
        processes=True,
        partition_rows=300,
    )
    _assert_same(result, local_result)
    assert f"{socket.gethostname()}:{os.getpid()}" not in {p.worker for p in result.partitions}


@pytest.mark.slow
def test_dask_existing_cluster_by_address_and_client(
    synth_files: list[Path], local_result: EngineResult
) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
        scheduler_kwargs={"dashboard_address": LOOPBACK_HTTP},
        worker_dashboard_address=LOOPBACK_HTTP,
    ) as cluster:
        src = [str(p) for p in synth_files]
        out = synth_files[0].parent / "det_dask_addr"
        by_address = run(
            src,
            ["message_length"],
            out=out,
            engine="dask",
            address=cluster.scheduler_address,
            partition_rows=300,
        )
        _assert_same(by_address, local_result)
        with distributed.Client(cluster) as client:
            by_client = run(
                src, ["message_length"], out=out, engine="dask", address=client, partition_rows=300
            )
            assert client.status == "running"  # a client passed in is left open
        _assert_same(by_client, local_result)


def test_pool_workers_get_their_share_of_threads(tmp_path: Path) -> None:
    if "POLARS_MAX_THREADS" in os.environ:
        pytest.skip("POLARS_MAX_THREADS is set in the environment; workers inherit it")
    src = _failing_source(tmp_path)  # two partitions: two workers (no more than partitions)
    result = run(
        src, ["_engine_stages:polars_threads"], out=tmp_path / "out", engine="process", workers=2
    )
    threads = result.scan("conversations").collect().get_column("polars_threads").unique().to_list()
    assert threads == [max(1, usable_cores() // 2)]


def test_no_more_workers_than_partitions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reviewed bug: --workers above the partition count started that many workers anyway: a
    LocalCluster of 8 worker processes for one file (2.6x the wall time and 2.3x the memory of
    1 worker), and the pool sized each busy worker's polars threads for 8 (8 cores, 8 workers,
    2 partitions: 1 thread each where 4 were free)."""
    if "POLARS_MAX_THREADS" in os.environ:
        pytest.skip("POLARS_MAX_THREADS is set in the environment; workers inherit it")
    distributed = pytest.importorskip("distributed")
    sizes: list[int] = []
    real = distributed.LocalCluster

    def sized(*args, **kwargs):
        sizes.append(kwargs["n_workers"])
        return real(*args, **kwargs)

    monkeypatch.setattr(distributed, "LocalCluster", sized)
    src = _failing_source(tmp_path)
    run(src[:1], ["message_length"], out=tmp_path / "dask", engine="dask", workers=4,
        processes=False)
    assert sizes == [1]
    monkeypatch.setattr("chatlens.engine.pool.usable_cores", lambda: 8)
    result = run(src, ["_engine_stages:polars_threads"], out=tmp_path / "pool", engine="process",
                 workers=8)
    threads = result.scan("conversations").collect().get_column("polars_threads").unique()
    assert threads.to_list() == [4]


def test_a_thread_limit_in_the_environment_stays_on_dask_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reviewed bug: the pool keeps a POLARS_MAX_THREADS the user set (os.environ.setdefault),
    but a run's own LocalCluster passed its share of the cores as the workers' env=, which
    overrides the environment: POLARS_MAX_THREADS=1 ran 2 polars threads per Dask worker process
    on 2 cores (1 in the pool). Checked on what the cluster is given (starting worker processes
    costs seconds)."""
    distributed = pytest.importorskip("distributed")
    given: list[dict] = []

    class Stop(Exception):
        pass

    def spy(*args, **kwargs):
        given.append(kwargs.get("env", {}))
        raise Stop

    monkeypatch.setattr(distributed, "LocalCluster", spy)
    monkeypatch.setenv("POLARS_MAX_THREADS", "1")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    with pytest.raises(Stop):
        run(_failing_source(tmp_path)[:1], ["message_length"], out=tmp_path / "out",
            engine="dask", workers=1)
    assert given == [{"OMP_NUM_THREADS": str(usable_cores())}]


def test_the_default_worker_count_is_the_usable_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reviewed bug: with no 'workers', the pool (and a LocalCluster) started os.cpu_count()
    workers, the machine's cores, not the usable ones: under 'taskset -c 0' on 2 cores
    'analyze --engine process' ran 2 workers (a SLURM job given 4 of 64 cores: 64 workers, each
    loading the models). Shown with 1 usable core of 8."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    result = run(_failing_source(tmp_path)[:1], ["_engine_stages:polars_threads"],
                 out=tmp_path / "out", engine="process")
    assert result.workers == 1


def test_engine_import_stays_light(modules_loaded_by) -> None:
    """Pool workers import chatlens.engine.pool before polars, so the thread budget can apply."""
    assert modules_loaded_by("import chatlens.engine.pool", ("polars", "pyarrow")) == []


def test_process_workers_return_the_data_files_they_loaded(synth_files: list[Path]) -> None:
    """The stages' models are loaded in the pool's workers; each partition brings back their
    records, so the run's manifest can list them (not only what the driver loaded)."""
    result = run(
        [str(synth_files[0])], ["signals"], out=synth_files[0].parent / "files_process",
        engine="process", workers=2, partition_rows=600,
    )
    assert len(result.partitions) == 2
    assert all(p.worker.split(":")[1] != str(os.getpid()) for p in result.partitions)
    files = [r.file for r in result.data_files]
    assert "<bundled>/signals/refusal_model.json" in files
    assert len(files) == len(set(files))


def test_ids_repeated_across_files_quarantine_as_one_process_reads_them(tmp_path: Path) -> None:
    """Reviewed bug: a 2-worker analyze wrote the cross-file repeats with a null row, the canonical
    row as raw and last; one process wrote the source row, the source record, in reading order."""
    import chatlens

    files = []
    for f in range(3):
        rows = [sharegpt(f"c{(f * 7 + i) % 12}", f"question {f}-{i}", f"answer {f}-{i}")
                for i in range(8)]
        path = write_jsonl(tmp_path / f"part{f}.jsonl", rows)
        with path.open("a") as handle:
            handle.write("{not json\n")  # a malformed line among them
        files.append(path)
    one = chatlens.analyze([str(p) for p in files], out=tmp_path / "one", workers=1)
    two = chatlens.analyze([str(p) for p in files], out=tmp_path / "two", workers=2,
                           engine="process")
    assert two.manifest["engine"]["engine"] == "process"
    q1 = pl.read_parquet(tmp_path / "one" / "quarantine.parquet")
    q2 = pl.read_parquet(tmp_path / "two" / "quarantine.parquet")
    assert q1.height == q2.height > 3 and q1["row"].null_count() == 0
    assert q1.equals(q2)
    assert one.summary == two.summary


def test_a_repeat_of_a_set_aside_record_is_the_same_whatever_the_partitions(
    tmp_path: Path,
) -> None:
    """Reviewed bug: an id first seen on a record set aside for an unknown role, then on a valid
    record 27 rows later, was quarantined as a duplicate when one process read the file (one
    batch) and kept when row-group partitions split them: analyze gave 38 analysed and 2
    quarantined with 1 worker, 39 and 1 with 2."""
    from chatlens.corpus.api import SourceOptions

    rows = []
    for i in range(40):
        messages = [{"from": "human", "value": f"q{i}"}, {"from": "gpt", "value": f"a{i}"}]
        cid = "X" if i in (3, 30) else f"c{i}"
        if i == 3:
            messages[0]["from"] = "robot"
        rows.append({"id": cid, "conversations": messages})
    path = tmp_path / "a.parquet"
    pl.DataFrame(rows).write_parquet(path, row_group_size=10)
    opts = SourceOptions(format="sharegpt")
    one = run(str(path), out=tmp_path / "one", layout="single", options=opts)
    parts = run(str(path), out=tmp_path / "parts", partition_rows=10, duplicates="quarantine",
                options=opts)
    assert len(parts.partitions) == 4
    assert (one.rows_analysed, one.rows_quarantined) == (39, 1)
    assert one.summary == parts.summary
    assert one.scan("conversations").collect().equals(parts.scan("conversations").collect())
    assert one.scan("quarantine").collect().equals(parts.scan("quarantine").collect())


def test_quarantine_reasons_do_not_depend_on_the_partitions(tmp_path: Path) -> None:
    """Reviewed bug: a record with an unknown role whose id a kept record of an earlier file has
    was quarantined as "duplicate conversation_id" by one process and for its role by a 2-worker
    analyze (no worker knows another partition's ids), so quarantine.parquet and
    tables/quarantine_reasons.csv differed. A record's own defects now come first everywhere."""
    import chatlens

    a = write_jsonl(tmp_path / "a.jsonl", [sharegpt("X", "q", "a"), sharegpt("Y", "q", "a")])
    bad = sharegpt("X", "q", "a")
    bad["conversations"][0]["from"] = "robot"  # type: ignore[index]
    b = write_jsonl(tmp_path / "b.jsonl", [bad, sharegpt("Y", "again", "a")])
    src = [str(a), str(b)]
    one = run(src, out=tmp_path / "one", layout="single")
    parts = run(src, out=tmp_path / "parts", duplicates="quarantine")
    reasons = [r.split(":")[0] for r in one.scan("quarantine").collect().get_column("reason")]
    assert reasons == ["message 0", "duplicate conversation_id (an earlier record has the same id)"]
    assert one.scan("quarantine").collect().equals(parts.scan("quarantine").collect())
    assert one.summary == parts.summary == chatlens.read(src).summary
