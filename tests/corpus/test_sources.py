from __future__ import annotations

import importlib
import json
from pathlib import Path

import polars as pl
import pytest

from chatlens.corpus import sources
from chatlens.corpus.sources import classify, open_batches, resolve
from chatlens.errors import HubAccessError, InvalidParameterError, SourceError

TOKEN = "hf_SECRET_token_value_123"


def _names(files) -> list[str]:
    return [Path(f.name).name for f in files]


def test_file_list_order_and_dedupe(kit, write_jsonl):
    a = write_jsonl("a.jsonl", [kit.lmsys_record("a")])
    b = write_jsonl("b.jsonl", [kit.lmsys_record("b")])
    files = resolve([b, str(a), b])
    assert _names(files) == ["b.jsonl", "a.jsonl"]
    assert [f.container for f in files] == ["jsonl", "jsonl"]


def test_directory_recursive_skips_hidden_and_non_data(kit, tmp_path, write_jsonl):
    write_jsonl("d/x.jsonl", [kit.lmsys_record("x")])
    write_jsonl("d/sub/y.jsonl.gz", [kit.lmsys_record("y")], compress="gz")
    write_jsonl("d/.hidden.jsonl", [kit.lmsys_record("h")])
    write_jsonl("d/.cache/z.jsonl", [kit.lmsys_record("z")])
    (tmp_path / "d" / "README.md").write_text("not data")
    files = resolve(tmp_path / "d")
    assert _names(files) == ["y.jsonl.gz", "x.jsonl"]  # sorted by path: d/sub/... < d/x...
    nested, _, _, _ = kit.collect(open_batches(tmp_path / "d"))
    assert sorted(nested["conversation_id"]) == ["x", "y"]


def test_glob_and_compression(kit, tmp_path, write_jsonl):
    recs = [kit.lmsys_record(f"c{i}") for i in range(3)]
    write_jsonl("g/a.jsonl.gz", recs, compress="gz")
    write_jsonl("g/b.jsonl.zst", recs, compress="zst")
    write_jsonl("g/c.txt", recs)
    files = resolve(str(tmp_path / "g" / "*.jsonl.*"))
    assert [(f.container, f.compression) for f in files] == [("jsonl", "gzip"), ("jsonl", "zstd")]
    nested, _, _, _ = kit.collect(open_batches(str(tmp_path / "**" / "*.jsonl.*")))
    assert nested.height == 6
    assert set(nested["_file"].map_elements(lambda s: Path(s).name, return_dtype=pl.String)) == {"a.jsonl.gz", "b.jsonl.zst"}


def test_container_sniffed_from_bytes(kit, tmp_path, write_jsonl, write_parquet):
    jsonl_named_json = write_jsonl("x.json", [kit.lmsys_record("a"), kit.lmsys_record("b")])
    assert classify(jsonl_named_json).container == "jsonl"
    pq = write_parquet("noext", [kit.lmsys_record("a")])
    assert classify(pq).container == "parquet"
    arr = tmp_path / "arr.data.json"
    arr.write_text(json.dumps([{"a": 1}]))
    assert classify(arr).container == "json"


def test_missing_sources_are_clear_errors(tmp_path):
    with pytest.raises(SourceError, match="not found"):
        resolve(tmp_path / "nope.jsonl")
    (tmp_path / "emptydir").mkdir()
    with pytest.raises(SourceError, match="no data files"):
        resolve(tmp_path / "emptydir")
    with pytest.raises(SourceError, match="matches no data files"):
        resolve(str(tmp_path / "*.parquet"))
    with pytest.raises(SourceError, match="No source"):
        resolve([])


def test_open_batches_validates_parameters(kit, write_jsonl):
    path = write_jsonl("a.jsonl", [kit.lmsys_record("a")])
    with pytest.raises(InvalidParameterError, match="Did you mean 'lmsys'"):
        open_batches(path, format="lmsy")
    with pytest.raises(InvalidParameterError, match="batch_size"):
        open_batches(path, batch_size=0)
    with pytest.raises(InvalidParameterError, match="oasst_paths"):
        open_batches(path, oasst_paths="some")
    with pytest.raises(InvalidParameterError, match="format='table' only"):
        open_batches(path, format="lmsys", column_map={"role": "r"})


# ---- Hugging Face hub (same code path, download monkeypatched) ---------------------------------


@pytest.fixture
def hub_repo(tmp_path, kit):
    """A local directory laid out like the hub repo lmsys/lmsys-chat-1m."""
    root = tmp_path / "hub" / "datasets--lmsys--lmsys-chat-1m" / "snapshots" / "abc"
    (root / "data").mkdir(parents=True)
    for i in range(2):
        recs = [kit.lmsys_record(f"s{i}-{j}", 1 + j % 2) for j in range(5)]
        pl.DataFrame(recs).write_parquet(root / "data" / f"train-0000{i}-of-00002.parquet")
    (root / "README.md").write_text("---\nlicense: other\n---")
    (root / ".gitattributes").write_text("*.parquet filter=lfs")
    return root


def test_hub_dataset_id_downloads_and_reads(kit, monkeypatch, hub_repo):
    import huggingface_hub

    calls = []

    def fake_snapshot_download(repo_id, **kwargs):
        calls.append((repo_id, kwargs))
        return str(hub_repo)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    scan = open_batches("lmsys/lmsys-chat-1m")
    assert scan.format == "lmsys"
    assert [f.name for f in scan.files] == [
        "hf://datasets/lmsys/lmsys-chat-1m/data/train-00000-of-00002.parquet",
        "hf://datasets/lmsys/lmsys-chat-1m/data/train-00001-of-00002.parquet",
    ]
    (repo_id, kwargs), *_ = calls
    assert repo_id == "lmsys/lmsys-chat-1m"
    assert kwargs["repo_type"] == "dataset" and kwargs["token"] == TOKEN
    assert "*.parquet" in kwargs["allow_patterns"]
    nested, _, _, _ = kit.collect(scan)
    assert nested.height == 10
    assert nested["_file"][0].startswith("hf://datasets/lmsys/lmsys-chat-1m/data/")
    assert TOKEN not in repr(scan) and TOKEN not in str(nested.drop("messages").rows())


def test_hub_uri_with_pattern_and_explicit_token(monkeypatch, hub_repo):
    import huggingface_hub

    seen = {}

    def fake(repo_id, **kwargs):
        seen.update(kwargs, repo_id=repo_id)
        return str(hub_repo)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    files = resolve("hf://datasets/lmsys/lmsys-chat-1m/data/train-00001-*.parquet", hf_token="tok")
    assert [Path(f.name).name for f in files] == ["train-00001-of-00002.parquet"]
    assert seen["allow_patterns"] == ["data/train-00001-*.parquet"] and seen["token"] == "tok"


def _http_error(cls, status: int):
    http = None
    for mod in ("httpx2", "httpx", "requests"):
        try:
            http = importlib.import_module(mod)
            break
        except ImportError:
            continue
    if http is None or not hasattr(http, "Request"):
        pytest.skip("no HTTP library to build a huggingface_hub error")
    url = "https://huggingface.co/api/datasets/lmsys/lmsys-chat-1m"
    response = http.Response(status, request=http.Request("GET", url))
    return cls("Access to dataset lmsys/lmsys-chat-1m is restricted.", response=response)


def test_gated_dataset_without_token(monkeypatch):
    import huggingface_hub
    from huggingface_hub import errors

    def gated(repo_id, **kwargs):
        raise _http_error(errors.GatedRepoError, 401)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", gated)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(HubAccessError) as err:
        open_batches("lmsys/lmsys-chat-1m")
    text = str(err.value)
    assert "gated" in text and "accept its license" in text and "HF_TOKEN" in text
    assert "https://huggingface.co/datasets/lmsys/lmsys-chat-1m" in text


def test_gated_dataset_error_never_shows_the_token(monkeypatch):
    import huggingface_hub
    from huggingface_hub import errors

    def gated(repo_id, **kwargs):
        raise _http_error(errors.GatedRepoError, 403)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", gated)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with pytest.raises(HubAccessError) as err:
        resolve("allenai/WildChat-1M")
    assert TOKEN not in str(err.value)


def test_no_network(monkeypatch):
    import huggingface_hub
    from huggingface_hub import errors

    def offline(repo_id, **kwargs):
        raise errors.LocalEntryNotFoundError("Cannot find the requested files in the disk cache")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", offline)
    with pytest.raises(HubAccessError, match="Cannot reach the Hugging Face hub"):
        resolve("allenai/WildChat-1M")


def test_local_path_wins_over_hub_id(kit, tmp_path, monkeypatch, write_jsonl):
    write_jsonl("owner/name.jsonl", [kit.lmsys_record("a")])
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sources, "_download", lambda *a, **k: pytest.fail("hub must not be called"))
    assert _names(resolve("owner/name.jsonl")) == ["name.jsonl"]


def test_hub_prefers_parquet_over_metadata_json(monkeypatch, hub_repo):
    import huggingface_hub

    (hub_repo / "dataset_info.json").write_text(json.dumps({"features": {}}))
    asked = []

    def fake(repo_id, **kwargs):
        asked.append(kwargs["allow_patterns"])
        return str(hub_repo)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake)
    files = resolve("lmsys/lmsys-chat-1m")
    assert [f.container for f in files] == ["parquet", "parquet"]
    assert len(asked) == 1 and all(p.startswith("*.parquet") for p in asked[0])


def test_hub_falls_back_to_jsonl_when_no_parquet(kit, monkeypatch, tmp_path, write_jsonl):
    import huggingface_hub

    write_jsonl("repo/train.jsonl.gz", [kit.lmsys_record("a")], compress="gz")
    asked = []

    def fake(repo_id, **kwargs):
        asked.append(kwargs["allow_patterns"][0])
        return str(tmp_path / "repo")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake)
    files = resolve("someone/chats")
    assert [Path(f.name).name for f in files] == ["train.jsonl.gz"]
    assert asked == ["*.parquet", "*.jsonl"]


def test_bom_is_ignored(kit, tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + kit.encode_lines([kit.lmsys_record("a"), kit.lmsys_record("b")]))
    nested, quarantine, _, _ = kit.collect(open_batches(path, format="lmsys"))
    assert nested.height == 2 and quarantine.height == 0
    csv = tmp_path / "bom.csv"
    csv.write_bytes(b"\xef\xbb\xbfconversation_id,role,content\nc,user,hi\n")
    nested, _, _, _ = kit.collect(open_batches(csv, format="table"))
    assert nested["conversation_id"].to_list() == ["c"]


@pytest.mark.parametrize("name", ["lines.json", "array.json.gz", "listed.json", "listed.json.gz", "one.json.gz"])
def test_a_bom_is_ignored_in_every_json_shape_and_detection(kit, tmp_path, name):
    # a .json of JSON lines, a JSON object keeping its records under a key (DICES's shape) and
    # every .json.gz failed detection when the file began with a UTF-8 byte-order mark
    import gzip

    records = [kit.lmsys_record("a"), kit.lmsys_record("b")]
    body = {"lines.json": kit.encode_lines(records),
            "listed.json": json.dumps({"version": 1, "data": records}).encode(),
            "one.json": json.dumps(records[0]).encode()}.get(name.removesuffix(".gz"), json.dumps(records).encode())
    data = b"\xef\xbb\xbf" + body
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    scan = open_batches(path)
    nested, quarantine, _, _ = kit.collect(scan)
    assert scan.format == "lmsys"
    assert (nested.height, quarantine.height) == (1 if name == "one.json.gz" else 2, 0)


def test_an_empty_file_beside_others_is_read(kit, tmp_path):
    # reading the rest of an empty (or BOM-only) file asked pyarrow for -1 bytes: SystemError
    for i in range(3):
        (tmp_path / f"{i}.json").write_text(json.dumps(kit.lmsys_record(f"c{i}")))
    (tmp_path / "empty.json").write_bytes(b"")
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf")
    nested, quarantine, _, _ = kit.collect(open_batches(tmp_path))
    assert (nested.height, quarantine.height) == (3, 0)


@pytest.mark.parametrize(("mark", "encoding"), [(b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"),
                                                (b"\xff\xfe\x00\x00", "UTF-32")])
def test_a_utf16_or_utf32_file_is_an_error_that_says_so(kit, tmp_path, mark, encoding):
    path = tmp_path / "chats.jsonl"
    text = kit.encode_lines([kit.lmsys_record("a")]).decode()
    codec = {"UTF-16": "utf-16-le" if mark == b"\xff\xfe" else "utf-16-be", "UTF-32": "utf-32-le"}[encoding]
    path.write_bytes(mark + text.encode(codec))
    with pytest.raises(SourceError, match=f"is {encoding} text .* expected UTF-8"):
        kit.collect(open_batches(path, format="lmsys"))


def test_other_hub_client_errors_become_hub_access_errors(monkeypatch):
    import huggingface_hub

    class ConnectError(Exception):
        pass

    def broken(repo_id, **kwargs):
        raise ConnectError("connection refused")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", broken)
    with pytest.raises(HubAccessError, match="ConnectError"):
        resolve("allenai/WildChat-1M")


def test_unknown_hub_dataset(monkeypatch):
    import huggingface_hub
    from huggingface_hub import errors

    def missing(repo_id, **kwargs):
        raise _http_error(errors.RepositoryNotFoundError, 404)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", missing)
    with pytest.raises(HubAccessError, match="not found or is private"):
        resolve("nobody/no-such-dataset")


def test_ignore_file_skips_listed_files_in_directories_and_globs(tmp_path):
    d = tmp_path / "d"
    (d / "sub").mkdir(parents=True)
    for name in ("chats.jsonl", "labels.jsonl", "notes[1].json", "sub/labels.jsonl"):
        (d / name).write_text(json.dumps({"conversations": [{"from": "human", "value": "hi"}]}) + "\n")
    assert _names(resolve(d)) == ["chats.jsonl", "labels.jsonl", "notes[1].json", "labels.jsonl"]
    (d / sources.IGNORE_FILE).write_text("# not conversations\n\nlabels.jsonl\n notes[[]1].json \n")
    # Patterns match names in their own folder only (sub/ has no ignore file).
    assert [f.path.relative_to(d).as_posix() for f in resolve(d)] == ["chats.jsonl", "sub/labels.jsonl"]
    assert _names(resolve(str(d / "*.json*"))) == ["chats.jsonl"]
    (d / sources.IGNORE_FILE).write_text("*.jsonl\n")
    assert _names(resolve(str(d / "*.json*"))) == ["notes[1].json"]
    # A listed file named explicitly is still read.
    assert _names(resolve(d / "labels.jsonl")) == ["labels.jsonl"]
    (d / sources.IGNORE_FILE).write_text("*\n")
    with pytest.raises(SourceError, match="matches no data files"):
        resolve(str(d / "*.jsonl"))


def test_ignore_file_written_by_notepad_is_read(tmp_path):
    # a byte-order mark and CRLF line ends (Windows Notepad): the first pattern never matched
    for name in ("chats.jsonl", "labels.jsonl"):
        (tmp_path / name).write_text(json.dumps({"conversations": [{"from": "human", "value": "hi"}]}) + "\n")
    (tmp_path / sources.IGNORE_FILE).write_bytes(b"\xef\xbb\xbflabels.jsonl\r\n")
    assert _names(resolve(tmp_path)) == ["chats.jsonl"]


def _sg(text: str) -> str:
    return json.dumps({"conversations": [{"from": "human", "value": text}, {"from": "gpt", "value": "a"}]})


@pytest.mark.parametrize("compress", [False, True])
def test_json_lines_in_a_json_file_whatever_the_first_line(tmp_path, compress):
    import gzip

    import chatlens

    good = _sg("hi")
    cases = {
        "bad_first": good[:-5] + "\n" + good + "\n" + good + "\n",  # malformed first line
        "big_first": _sg("x" * (1 << 20)) + "\n" + good + "\n" + good + "\n",  # beyond the head
    }
    for name, text in cases.items():
        path = tmp_path / (f"{name}.json.gz" if compress else f"{name}.json")
        path.write_bytes(gzip.compress(text.encode()) if compress else text.encode())
        assert classify(path).container == "jsonl", name
        corpus = chatlens.read(path)
        assert corpus.summary.records_in == 3, name
        assert corpus.quarantine.height == (1 if name == "bad_first" else 0)


def test_json_documents_stay_json(tmp_path):
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps({"id": "c1", "conversations": [{"from": "human", "value": "q"}]}, indent=2))
    broken = tmp_path / "broken.json"
    broken.write_text('{"a": 1,\n  "b": [\n    {"c": 2}\n  ]\n')  # truncated, nested object indented
    one_line = tmp_path / "one.json"
    one_line.write_text(_sg("x" * (1 << 20)))
    assert [classify(p).container for p in (pretty, broken, one_line)] == ["json"] * 3
