"""Regression tests for issue 11's crashes: each fails on the code before its fix."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl

import chatlens


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_prompts_only_corpus_is_analysed(tmp_path):
    src = _write(tmp_path / "u.jsonl", [{"messages": [{"role": "user", "content": "hi"}]}])
    chatlens.analyze(src, out=tmp_path / "run")
    msgs = pl.read_parquet(tmp_path / "run" / "messages.parquet")
    assert msgs.height == 1 and msgs["refusal"].null_count() == 1


def test_a_batch_without_assistant_messages_keeps_the_schema(tmp_path):
    rows = [{"conversation_id": f"c{i}", "conversation": [
        {"role": "user", "content": "hi"}, {"role": "assistant", "content": "I'm sorry, I can't."}]}
        for i in range(3)]
    rows.append({"conversation_id": "last", "conversation": [{"role": "user", "content": "only me"}]})
    src = _write(tmp_path / "m.jsonl", rows)
    chatlens.analyze(src, out=tmp_path / "run", batch_size=1)
    msgs = pl.read_parquet(tmp_path / "run" / "messages.parquet")
    assert msgs["conversation_id"].n_unique() == 4


def test_dollar_signs_in_names_are_plain_text_in_figures(tmp_path):
    rows = [{"conversation_id": f"c{i}", "model": name, "language": "$\\x$", "conversation": [
        {"role": "user", "content": "how do I pick a lock"},
        {"role": "assistant", "content": "I'm sorry, but I can't help with that."},
        {"role": "user", "content": "why not??"}]}
        for i, name in enumerate(["$$", "$\\x$", "a$b$c"])]
    src = _write(tmp_path / "d.jsonl", rows)
    chatlens.analyze(src, out=tmp_path / "run")
    assert (tmp_path / "run" / "figures" / "refusal_by_model.png").is_file()
    assert (tmp_path / "run" / "manifest.json").is_file()


def test_dollar_signs_in_rating_plots(tmp_path):
    from chatlens.ratings.plots import plot_ratings

    table = pl.DataFrame({"method": ["elo", "elo"], "model": ["$$", "$\\x$"], "rating": [1500.0, 1490.0],
                          "ci_low": [1490.0, 1480.0], "ci_high": [1510.0, 1500.0],
                          "interval": ["bootstrap 95%", "bootstrap 95%"]})
    assert plot_ratings(table, tmp_path / "r.png").is_file()


def test_table_rows_without_an_id_are_quarantined_wherever_they_are(tmp_path):
    src = tmp_path / "e.csv"
    src.write_text("chat,speaker,text\nc0,user,hi\nc0,assistant,yo\n,user,lost\nc1,user,hi\nc1,assistant,yo\n")
    corpus = chatlens.read(src, format="table",
                           column_map={"conversation_id": "chat", "role": "speaker", "content": "text"})
    msgs = corpus.messages.collect() if isinstance(corpus.messages, pl.LazyFrame) else corpus.messages
    quarantine = corpus.quarantine
    quarantine = quarantine.collect() if isinstance(quarantine, pl.LazyFrame) else quarantine
    assert msgs.height == 4
    assert quarantine.height == 1 and "no conversation id" in quarantine["reason"][0]


def test_deeply_nested_json_line_is_quarantined_not_a_crash(tmp_path):
    import subprocess
    import sys

    n = 20_000
    good = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}
    src = tmp_path / "d.jsonl"
    src.write_text('{"a":' * n + "1" + "}" * n + "\n" + json.dumps(good) + "\n")
    # in a subprocess: before the fix pyarrow's reader killed the interpreter (SIGSEGV)
    code = ("import chatlens,sys; c = chatlens.read(sys.argv[1], format='openai'); "
            "print(c.summary.conversations, c.summary.quarantined)")
    done = subprocess.run([sys.executable, "-c", code, str(src)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["1", "1"]


def test_sharegpt_array_nested_past_the_recursion_limit(tmp_path):
    n = 3000
    good = {"id": "a", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}
    src = tmp_path / "deep.json"
    src.write_text("[" + json.dumps(good) + "," + "[" * n + "]" * n + "]")
    corpus = chatlens.read(src, format="sharegpt")
    assert corpus.summary.conversations == 1 and corpus.summary.quarantined == 1


def test_csv_header_with_bare_carriage_returns_and_duplicate_names(tmp_path):
    import pytest

    from chatlens.errors import SchemaError

    cmap = {"conversation_id": "chat", "role": "speaker", "content": "text"}
    cr = tmp_path / "cr.csv"
    cr.write_bytes(b"chat,speaker,text\rc0,user,hi\rc0,assistant,yo\r")
    assert chatlens.read(cr, format="table", column_map=cmap).summary.messages == 2
    dup = tmp_path / "dup.csv"
    dup.write_text("chat,speaker,text,text\nc0,user,hi,x\n")
    with pytest.raises(SchemaError, match=r"dup\.csv, row 1.*'text'.*more than once"):
        _ = chatlens.read(dup, format="table", column_map=cmap).summary


#: The child's own peak RSS in MB: VmHWM of its address space (ru_maxrss would also count the
#: pytest process it was forked from, which can be larger than the bound under test).
PEAK_MB = ("int(next(l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM'))) // 1024")


def _read_in_child(src: Path, fmt: str) -> tuple[int, int, int]:
    """(conversations, quarantined, peak RSS in MB) of reading ``src`` in a fresh process."""
    import subprocess
    import sys

    code = (f"import chatlens, sys; c = chatlens.read(sys.argv[1], format={fmt!r}); "
            f"print(c.summary.conversations, c.summary.quarantined, {PEAK_MB})")
    done = subprocess.run([sys.executable, "-c", code, str(src)], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    conversations, quarantined, rss_mb = map(int, done.stdout.split())
    return conversations, quarantined, rss_mb


def test_deep_json_streams_in_memory_linear_in_its_depth(tmp_path):
    """ijson's prefix strings made memory quadratic in the depth (1 GB at 20,000 levels, 4 GB at
    40,000 from a 80 KB file; found by benchmarks/fuzz_readers.py)."""
    n = 30_000
    good = {"id": "a", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "yo"}]}
    src = tmp_path / "deep.json"
    src.write_text("[" + json.dumps(good) + "," + "[" * n + "]" * n + "," + json.dumps({**good, "id": "b"}) + "]")
    conversations, quarantined, rss_mb = _read_in_child(src, "sharegpt")
    assert (conversations, quarantined) == (2, 1)
    assert rss_mb < 700


def test_the_json_stream_finds_records_at_every_prefix():
    import io

    from chatlens.corpus.readers._jsonstream import MAX_RECORD_DEPTH, TooDeep, stream_items

    deep = "[" * (MAX_RECORD_DEPTH + 5) + "]" * (MAX_RECORD_DEPTH + 5)
    doc = '{"meta": [1, 2], "instances": [{"a": [1, {"b": null}]}, ' + deep + ', "x", 3.5], "z": {}}'
    items = list(stream_items(io.BytesIO(doc.encode()), "instances.item"))
    assert items[0] == {"a": [1, {"b": None}]} and isinstance(items[1], TooDeep) and items[2:] == ["x", 3.5]
    assert list(stream_items(io.BytesIO(b'[{"a": 1}, [2]]'), "item")) == [{"a": 1}, [2]]
    assert list(stream_items(io.BytesIO(b'{"a": {"b": 1}}'), "")) == [{"a": {"b": 1}}]
    assert list(stream_items(io.BytesIO(b'{"item": [1]}'), "item")) == []


def test_a_megabyte_key_does_not_blow_up_the_fast_json_path(tmp_path):
    """A 3 MB key inside 50 levels of nesting took polars' Arrow conversion 17 s and 4.4 GB
    (found by benchmarks/fuzz_readers.py); such chunks now go record by record."""
    good = {"conversation_id": "g", "conversation": [{"role": "user", "content": "hi"},
                                                     {"role": "assistant", "content": "yo"}]}
    src = tmp_path / "k.jsonl"
    src.write_text(json.dumps(good) + "\n" + '{"a":' * 50 + json.dumps({"k" * 3_000_000: 1}) + "}" * 50 + "\n")
    conversations, quarantined, rss_mb = _read_in_child(src, "lmsys")
    assert (conversations, quarantined) == (1, 1)
    assert rss_mb < 1000


def test_parquet_text_that_is_not_utf8_is_a_clean_error(tmp_path):
    """One flipped bit in a Parquet file gave a text value invalid UTF-8, and polars panicked
    (PanicException, not an Exception) when it reached Python (found by the property tests)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import pytest

    from chatlens.errors import SourceError

    chat = pa.array([b"c0", b"c\xf4", b"c1", b"c1"], type=pa.binary()).view(pa.string())  # no check
    table = pa.table({"chat": chat, "speaker": ["user", "assistant", "user", "assistant"],
                      "text": ["hi", "yo", "hi", "yo"]})
    src = tmp_path / "bad.parquet"
    pq.write_table(table, src)
    cmap = {"conversation_id": "chat", "role": "speaker", "content": "text"}
    with pytest.raises(SourceError, match=r"bad\.parquet.*column 'chat' holds text that is not valid UTF-8 in rows 0-3"):
        chatlens.read(src, format="table", column_map=cmap)
    nested = pa.table({"conversation": pa.array([[{"role": "user", "content": "hi"}]]),
                       "conversation_id": chat.slice(1, 1)})
    pq.write_table(nested, tmp_path / "lmsys.parquet")
    with pytest.raises(SourceError, match="column 'conversation_id'"):
        chatlens.read(tmp_path / "lmsys.parquet", format="lmsys")
