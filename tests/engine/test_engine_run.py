"""run(): outputs, counts, quarantine, duplicates, failures, validation (local engine; fast)."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import polars as pl
import pytest
from _engine_helpers import sharegpt, write_jsonl

from chatlens.corpus.api import SourceOptions, read
from chatlens.engine import PartitionError, StageSpec, run
from chatlens.errors import InvalidParameterError, MissingExtraError, StageError


def _mixed_source(tmp_path: Path) -> list[Path]:
    a = write_jsonl(
        tmp_path / "a.jsonl",
        [
            sharegpt("a1", "hi", "hello"),
            sharegpt("a2", "x", "y", "z"),
            sharegpt("a1", "dup", "in file"),
        ],
        extra_lines=["{not json"],
    )
    b = write_jsonl(
        tmp_path / "b.jsonl", [sharegpt("b1", "q", "r"), sharegpt("a2", "again", "here")]
    )
    return [a, b]


def test_local_run_writes_parts_and_counts_add_up(tmp_path: Path) -> None:
    src = _mixed_source(tmp_path)
    result = run([str(p) for p in src], ["message_length"], out=tmp_path / "out")
    s = result.summary
    assert (s.records_in, s.conversations, s.quarantined) == (6, 4, 2)
    assert s.records_in == s.conversations + s.quarantined
    assert sum(p.records_in for p in result.partitions) == 6
    for table in ("messages", "conversations", "quarantine"):
        assert sorted(p.name for p in (tmp_path / "out" / table).iterdir()) == [
            "part-00000.parquet",
            "part-00001.parquet",
        ]
    reasons = result.scan("quarantine").collect().get_column("reason").to_list()
    assert any(r.startswith("malformed JSON") for r in reasons)
    assert any(r.startswith("duplicate conversation_id") for r in reasons)  # a1 within file a
    conv = result.scan("conversations").collect()
    assert conv.get_column("conversation_id").to_list() == ["a1", "a2", "b1", "a2"]
    assert "user_chars" in conv.columns
    assert result.scan("messages").collect().get_column("n_words").sum() == 9
    # a2 is in both files: no worker can see it, the run reports it
    assert result.duplicates.count == 1
    assert result.duplicates.extra_rows == 1
    assert result.duplicates.sample == ("a2",)
    seconds = result.partitions[0].seconds
    assert set(seconds) == {"read", "stages", "stage:message_length", "write", "wall"}
    assert 0 <= seconds["stage:message_length"] <= seconds["stages"]
    assert result.partition_frame().height == 2
    assert result.public()["duplicates_across_partitions"]["sample"] == ["a2"]


def test_same_tables_as_the_single_process_reader(synth_files: list[Path]) -> None:
    src = [str(p) for p in synth_files]
    corpus = read(src)
    out = synth_files[0].parent / "engine_local"
    result = run(src, out=out, partition_rows=300, batch_size=128)
    assert len(result.partitions) == 8
    assert result.scan("messages").collect().equals(corpus.messages)
    assert result.scan("conversations").collect().equals(corpus.conversations)
    assert result.summary == corpus.summary
    assert result.duplicates.count == 0


def test_keep_text_false_and_stale_parts_removed(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "a.jsonl", [sharegpt("a1", "hi", "hello")])
    out = tmp_path / "out"
    (out / "messages").mkdir(parents=True)
    (out / "messages" / "part-00099.parquet").write_bytes(b"stale")
    (out / "messages" / "notes.txt").write_text("keep me")
    result = run(src, ["message_length"], out=out, keep_text=False)
    assert sorted(p.name for p in (out / "messages").iterdir()) == [
        "notes.txt",
        "part-00000.parquet",
    ]
    messages = result.scan("messages").collect()
    assert "content" not in messages.columns
    assert messages.get_column("n_words").to_list() == [1, 1]  # stages still saw the text


def test_empty_partition_has_the_same_schema(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", [sharegpt("a1", "hi", "hello")])
    b = write_jsonl(tmp_path / "b.jsonl", [], extra_lines=["{broken"])
    result = run([str(a), str(b)], ["message_length"], out=tmp_path / "out")
    parts = sorted((tmp_path / "out" / "messages").glob("part-*.parquet"))
    schemas = [pl.read_parquet_schema(p) for p in parts]
    assert schemas[0] == schemas[1]
    assert pl.read_parquet(parts[1]).height == 0
    assert (result.rows_in, result.rows_analysed, result.rows_quarantined) == (2, 1, 1)


def test_stage_failure_names_the_partition(tmp_path: Path) -> None:
    a = write_jsonl(tmp_path / "a.jsonl", [sharegpt("ok", "hi", "hello")])
    b = write_jsonl(tmp_path / "b.jsonl", [sharegpt("bad", "hi", "hello")])
    with pytest.raises(
        PartitionError, match=r"partition 1 \(.*b\.jsonl\) failed: StageError: Stage 'boom_on_bad'"
    ) as info:
        run([str(a), str(b)], ["_engine_stages:boom_on_bad"], out=tmp_path / "out")
    assert info.value.partition == 1
    assert not list((tmp_path / "out").rglob(".part-*"))  # no half-written temporaries left


def test_broken_stage_fails_before_any_work(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "a.jsonl", [sharegpt("a1", "hi", "hello")])
    with pytest.raises(StageError, match="removed column 'content'"):
        run(src, [StageSpec("drop", "_engine_stages:drop_content")], out=tmp_path / "out")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"engine": "spark"}, "engine"),
        ({"workers": 0}, "workers"),
        ({"address": "tcp://x:1"}, "address"),
        ({"batch_size": 0}, "batch_size"),
        ({"options": {"format": "sharegpt"}}, "SourceOptions"),
        ({"duplicates": "drop"}, "duplicates"),
    ],
)
def test_parameters_validated(tmp_path: Path, kwargs: dict, match: str) -> None:
    src = write_jsonl(tmp_path / "a.jsonl", [sharegpt("a1", "hi", "hello")])
    with pytest.raises(InvalidParameterError, match=match):
        run(src, out=tmp_path / "out", **kwargs)


def test_source_options_are_used(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "a.jsonl", [sharegpt("a1", "a" * 50, "hello")])
    result = run(
        src, out=tmp_path / "out", options=SourceOptions(format="sharegpt", max_message_chars=10)
    )
    messages = result.scan("messages").collect()
    assert messages.get_column("content").str.len_chars().max() == 10
    assert result.summary.repairs == {"truncated": 1}


def test_dask_without_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = write_jsonl(tmp_path / "a.jsonl", [sharegpt("a1", "hi", "hello")])
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingExtraError, match=r"chatlens\[dask\]"):
        run(src, out=tmp_path / "out", engine="dask")


def test_compact_writes_one_file_in_order(tmp_path: Path) -> None:
    src = _mixed_source(tmp_path)
    result = run([str(p) for p in src], ["message_length"], out=tmp_path / "out")
    dest = result.compact("conversations", tmp_path / "conversations.parquet")
    assert pl.read_parquet(dest).equals(result.scan("conversations").collect())
    with pytest.raises(InvalidParameterError, match="Unknown table"):
        result.scan("nope")


def test_quarantine_mode_equals_the_single_process_reader(tmp_path: Path) -> None:
    src = [str(p) for p in _mixed_source(tmp_path)]
    corpus = read(src)
    result = run(src, out=tmp_path / "out", duplicates="quarantine")
    assert result.scan("conversations").collect().equals(corpus.conversations)
    assert result.scan("messages").collect().equals(corpus.messages)
    assert result.summary == corpus.summary
    assert result.duplicates.to_dict() == {
        "count": 1,
        "extra_rows": 1,
        "sample": ["a2"],
        "quarantined": 1,
    }
    moved = pl.read_parquet(tmp_path / "out" / "quarantine" / "part-00001.parquet")
    assert moved.select("file", "conversation_id", "reason").rows() == [
        (src[1], "a2", "duplicate conversation_id (an earlier record has the same id)")
    ]
    assert '"a2"' in moved.get_column("raw")[0]


def test_quarantine_mode_keeps_the_first_of_three(tmp_path: Path) -> None:
    files = [
        str(
            write_jsonl(
                tmp_path / f"{name}.jsonl", [sharegpt("same", name, "r"), sharegpt(name, "x", "y")]
            )
        )
        for name in ("a", "b", "c")
    ]
    result = run(files, ["message_length"], out=tmp_path / "out", duplicates="quarantine")
    conv = result.scan("conversations").collect()
    assert conv.get_column("conversation_id").to_list() == ["same", "a", "b", "c"]
    kept = result.scan("messages").collect().filter(pl.col("conversation_id") == "same")
    assert kept.get_column("content").to_list() == ["a", "r"]  # the first occurrence, from a.jsonl
    assert (result.rows_in, result.rows_analysed, result.rows_quarantined) == (6, 4, 2)
    assert result.duplicates.extra_rows == 2 and result.duplicates.quarantined == 2
    assert result.summary.quarantine_reasons == {
        "duplicate conversation_id (an earlier record has the same id)": 2
    }
    assert "user_chars" in conv.columns  # stage columns survive the rewrite
    # the report-only mode leaves the tables as written
    again = run(files, out=tmp_path / "out2")
    assert again.rows_analysed == 6 and again.duplicates.quarantined == 0


def test_single_layout_equals_parts_and_the_reader(tmp_path: Path) -> None:
    """The local engine's single layout (what analyze uses) writes one file per table, in order,
    with ids repeated across files quarantined as read: the tables of a single-process read."""
    src = [str(p) for p in _mixed_source(tmp_path)]
    corpus = read(src)
    single = run(src, ["message_length"], out=tmp_path / "single", layout="single")
    parts = run(src, ["message_length"], out=tmp_path / "parts", duplicates="quarantine")
    assert sorted(p.name for p in (tmp_path / "single").iterdir()) == [
        "conversations.parquet",
        "messages.parquet",
        "quarantine.parquet",
    ]
    for table in ("messages", "conversations"):
        assert single.scan(table).collect().equals(parts.scan(table).collect())
    assert single.scan("conversations").collect().drop("user_chars", "assistant_chars").equals(
        corpus.conversations
    )
    assert single.scan("quarantine").collect().equals(corpus.quarantine)
    assert single.summary == corpus.summary == parts.summary
    assert single.public()["layout"] == "single"


def test_single_layout_checks_the_stage_contract(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "a.jsonl", [sharegpt("a", "hi", "there")])
    with pytest.raises(PartitionError, match="expected 2 rows"):
        run(src, ["_engine_stages:filter_rows"], out=tmp_path / "out", layout="single")


def test_single_layout_is_local_only(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "a.jsonl", [sharegpt("a", "hi", "there")])
    with pytest.raises(InvalidParameterError, match="'single' with engine='local'"):
        run(src, out=tmp_path / "out", engine="process", layout="single")


def test_analyze_local_runs_through_the_engine_contract(tmp_path: Path) -> None:
    """A local ``analyze`` checks the stage contract too (it used to run its own loop)."""
    import chatlens
    from chatlens.engine.stages import STAGES, register_stage
    from chatlens.pipeline.profile import Profile, ProfileStage

    if "test_filter_rows" not in STAGES:
        register_stage("test_filter_rows", "_engine_stages:filter_rows")
    broken = Profile(
        name="broken", version=1, source="a test",
        # the behaviour tables' stages first (their columns are checked before the run starts)
        stages=(ProfileStage("signals"), ProfileStage("behaviour"),
                ProfileStage("test_filter_rows")),
        tables="behaviour", definitions="default",
    )
    src = write_jsonl(tmp_path / "a.jsonl", [sharegpt("a", "hi", "there")])
    with pytest.raises(PartitionError, match="expected 2 rows"):
        chatlens.analyze(src, out=tmp_path / "run", profile=broken)


def test_quarantined_repeats_take_their_repairs_with_them(tmp_path: Path) -> None:
    """Reviewed bug: a repeated id in a later partition whose messages were repaired (truncated,
    null content, non-alternating) kept those repairs in the summary after it was moved to
    quarantine; one process never repairs a repeat. analyze: manifest counts.repairs and
    tables/repairs.csv were {} with 1 worker and 3 repairs with 2."""
    a = write_jsonl(tmp_path / "a.jsonl", [sharegpt("X", "q", "a")])
    repaired = {"id": "X", "conversations": [
        {"from": "human", "value": "q"}, {"from": "human", "value": "q2"},
        {"from": "gpt", "value": None}, {"from": "gpt", "value": "y" * 50}]}
    b = write_jsonl(tmp_path / "b.jsonl", [repaired, sharegpt("Z", "q", "z" * 50)])
    src = [str(a), str(b)]
    opts = SourceOptions(max_message_chars=20)
    parts = run(src, out=tmp_path / "parts", duplicates="quarantine", options=opts)
    one = run(src, out=tmp_path / "one", layout="single", options=opts)
    assert parts.summary.repairs == one.summary.repairs == {"truncated": 1}
    assert parts.summary == one.summary == read(src, max_message_chars=20).summary


def test_parts_sort_by_name_in_partition_order_whatever_their_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reviewed bug: parts were named with a fixed 5 digits, so a run of more than 100,000
    partitions (a folder of as many JSONL files) had 'part-100000' sort before 'part-10001', and
    the scans and the compacted tables were out of input order. Names now take as many digits as
    the run needs; shown here with the minimum lowered to 1 digit and 12 partitions."""
    from chatlens.engine import worker

    monkeypatch.setattr(worker, "PART_DIGITS", 1)
    files = [str(write_jsonl(tmp_path / f"f{i:02d}.jsonl", [sharegpt(f"c{i}", "q", "a")]))
             for i in range(12)]
    files.append(str(write_jsonl(tmp_path / "g.jsonl", [sharegpt("c1", "again", "a")])))
    result = run(files, out=tmp_path / "out", duplicates="quarantine")
    names = sorted(p.name for p in (tmp_path / "out" / "conversations").glob("part-*.parquet"))
    assert names[:3] == ["part-00.parquet", "part-01.parquet", "part-02.parquet"]
    expected = [f"c{i}" for i in range(12)]
    assert result.scan("conversations").collect().get_column("conversation_id").to_list() == expected
    by_glob = pl.scan_parquet(tmp_path / "out" / "conversations" / "*.parquet").collect()
    assert by_glob.get_column("conversation_id").to_list() == expected
    assert result.duplicates.quarantined == 1


def test_an_output_path_with_glob_characters(tmp_path: Path) -> None:
    """Reviewed bug: polars and DuckDB read the output path as a glob pattern, so after every
    partition had run, 'chatlens analyze ... --out "runs/an [1]"' crashed with a traceback
    (ComputeError "expanded paths were empty" with 1 worker, DuckDB IOException "No files
    found" with 2): '[1]' is a character class."""
    import chatlens

    a = write_jsonl(tmp_path / "a.jsonl", [sharegpt("X", "q", "a"), sharegpt("Y", "q", "a")])
    b = write_jsonl(tmp_path / "b.jsonl", [sharegpt("X", "again", "a")],
                    extra_lines=["{not json"])
    src = [str(a), str(b)]
    result = run(src, out=tmp_path / "run [1]", duplicates="quarantine")
    assert result.duplicates.quarantined == 1
    assert result.scan("conversations").collect().height == 2
    for workers in (1, 2):
        done = chatlens.analyze(src, out=tmp_path / f"an [{workers}]", workers=workers,
                                engine="local" if workers == 1 else "process")
        assert (done.rows_in, done.rows_analysed, done.rows_quarantined) == (4, 2, 2)


def test_a_hash_collision_across_partitions_is_not_a_duplicate(tmp_path: Path, monkeypatch) -> None:
    """The cross-partition check compares 64-bit hashes of the ids first (the ids themselves
    took 1.0 GB for 5M), then the actual ids of the hashes seen twice. With every id hashing
    alike, only the id really in two partitions is a duplicate and moved to quarantine; the
    distinct ids that collide stay analysed."""
    from chatlens.engine import duplicates

    monkeypatch.setattr(duplicates, "_id_hashes", lambda ids: pl.Series(ids.name, [7] * ids.len(), dtype=pl.UInt64))
    a = write_jsonl(tmp_path / "a.jsonl", [sharegpt("a1", "hi", "hello"), sharegpt("both", "x", "y")])
    b = write_jsonl(tmp_path / "b.jsonl", [sharegpt("b1", "hi", "hello"), sharegpt("both", "x", "y")])
    result = run([str(a), str(b)], out=tmp_path / "out", duplicates="quarantine")
    assert result.duplicates.sample == ("both",)
    assert (result.duplicates.count, result.duplicates.extra_rows, result.duplicates.quarantined) == (1, 1, 1)
    ids = result.scan("conversations").collect().get_column("conversation_id").to_list()
    assert sorted(ids) == ["a1", "b1", "both"]
    assert (result.rows_in, result.rows_analysed, result.rows_quarantined) == (4, 3, 1)


_STAGE_STARTED, _STAGE_GO_ON = threading.Event(), threading.Event()


def _waiting_stage(batch):
    """A stage that waits until the test lets it go on (a run caught while it writes; the empty
    batch the stages are checked on before the run passes)."""
    if batch.messages.height:
        _STAGE_STARTED.set()
        _STAGE_GO_ON.wait(60)
    return batch


def test_a_second_run_into_a_directory_a_run_is_writing_is_refused(tmp_path: Path) -> None:
    """Reviewed bug: only analyze took the run-directory lock. Two engine.run calls (the Python
    API) into one directory were both accepted: the second cleared the first's parts and run
    token, and the first failed after its work ("its run ended ... before it finished").
    engine.run now locks the directory it writes (the thread holding it may take it again, as
    analyze does around engine.run), so the second is refused and the first finishes."""
    from chatlens.engine.rundir import lock_run

    src = write_jsonl(tmp_path / "a.jsonl", [sharegpt("a1", "hi", "hello")])
    out = tmp_path / "out"
    results: list = []
    _STAGE_STARTED.clear(), _STAGE_GO_ON.clear()
    first = threading.Thread(target=lambda: results.append(run(src, [f"{__name__}:_waiting_stage"], out=out)))
    first.start()
    try:
        assert _STAGE_STARTED.wait(60)
        with pytest.raises(InvalidParameterError, match=r"Another chatlens run is writing into"):
            run(src, out=out)
    finally:
        _STAGE_GO_ON.set()
        first.join(60)
    assert results and results[0].rows_analysed == 1
    with lock_run(out), lock_run(out):  # free again, and taken twice by one thread
        assert run(src, out=out).rows_analysed == 1
