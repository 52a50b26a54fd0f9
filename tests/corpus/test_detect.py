from __future__ import annotations

import json

import pytest

from chatlens.corpus.detect import detect_format
from chatlens.corpus.sources import open_batches, resolve
from chatlens.errors import FormatDetectionError

SAMPLES = {
    "lmsys": {"conversation_id": "c", "model": "m", "conversation": [{"role": "user", "content": "x"}],
              "turn": 1, "language": "English", "openai_moderation": [], "redacted": False},
    "wildchat": {"conversation_hash": "h", "model": "m", "conversation": [{"role": "user", "content": "x"}],
                 "hashed_ip": "ip"},
    "sharegpt": {"id": "s", "conversations": [{"from": "human", "value": "x"}]},
    "openai": {"messages": [{"role": "user", "content": "x"}]},
    "arena": {"question_id": "q", "model_a": "a", "model_b": "b", "winner": "tie",
              "conversation_a": [{"role": "user", "content": "x"}], "conversation_b": [{"role": "user", "content": "x"}]},
    "hh": {"chosen": "\n\nHuman: x\n\nAssistant: y", "rejected": "\n\nHuman: x\n\nAssistant: z"},
    "oasst": {"message_tree_id": "t", "tree_state": "ready_for_export",
              "prompt": {"message_id": "t", "text": "x", "role": "prompter", "replies": []}},
    "table": {"conversation_id": "c", "role": "user", "content": "x"},
}


@pytest.mark.parametrize("fmt", sorted(SAMPLES))
@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
def test_detects_each_format(fmt, kind, write_jsonl, write_parquet):
    rec = SAMPLES[fmt]
    if kind == "parquet" and fmt == "lmsys":
        rec = {**rec, "openai_moderation": [{"flagged": False}]}
    path = write_jsonl(f"{fmt}.jsonl", [rec, rec]) if kind == "jsonl" else write_parquet(f"{fmt}.parquet", [rec, rec])
    assert detect_format(resolve(path)) == fmt
    assert open_batches(path).format == fmt


def test_detects_json_array_and_dices_object(write_json):
    assert detect_format(resolve(write_json("sg.json", [SAMPLES["sharegpt"]] * 3))) == "sharegpt"
    doc = {"dataset": "Dices", "annotations": [{"metric": "safety"}, {"metric": "x"}, {"metric": "y"}],
           "instances": [{"id": 1, "instance": {"user_prompt": "USER: hi", "response": "yo"}}]}
    assert detect_format(resolve(write_json("d.json", doc))) == "dices"


def test_unknown_keys_error_says_what_it_saw(write_jsonl):
    path = write_jsonl("odd.jsonl", [{"foo": 1, "bar": "x"}])
    with pytest.raises(FormatDetectionError) as err:
        open_batches(path)
    text = str(err.value)
    assert "odd.jsonl" in text and "foo" in text and "bar" in text
    assert "lmsys" in text and "format='table'" in text


def test_explicit_format_wins(kit, write_jsonl):
    path = write_jsonl("x.jsonl", [SAMPLES["openai"]])
    assert open_batches(path, format="sharegpt").format == "sharegpt"  # not second-guessed
    nested, quarantine, _, _ = kit.collect(open_batches(path, format="sharegpt"))
    assert nested.height == 0 and "missing key 'conversations'" in quarantine["reason"][0]


def test_mixed_formats_are_refused(tmp_path, write_jsonl):
    write_jsonl("m/a.jsonl", [SAMPLES["openai"]])
    write_jsonl("m/b.jsonl", [SAMPLES["hh"]])
    with pytest.raises(FormatDetectionError, match="different formats"):
        open_batches(tmp_path / "m")


def test_detection_skips_malformed_first_lines(write_jsonl):
    path = write_jsonl("x.jsonl", [b"{broken", SAMPLES["hh"]])
    assert detect_format(resolve(path)) == "hh"


def test_csv_prompt_completion_is_openai(tmp_path):
    path = tmp_path / "pc.csv"
    path.write_text("id,prompt,completion,final_label\n1,hi,hello,full_compliance\n")
    assert detect_format(resolve(path)) == "openai"
    nested = next(iter(open_batches(path))).nested
    assert [m["role"] for m in nested["messages"][0].to_list()] == ["user", "assistant"]
    assert json.loads(nested["extra"][0])["final_label"] == "full_compliance"


def test_metadata_file_next_to_data_gets_a_helpful_error(tmp_path, write_jsonl, write_json):
    write_jsonl("run/data.jsonl", [SAMPLES["lmsys"]])
    write_json("run/meta.json", {"generator": "x", "models": [{"model": "m", "rate": 0.1}]})
    with pytest.raises(FormatDetectionError, match="look like lmsys.*glob"):
        open_batches(tmp_path / "run")
    assert open_batches(str(tmp_path / "run" / "*.jsonl")).format == "lmsys"


def test_files_beyond_the_first_five_are_sniffed_too(tmp_path, write_jsonl):
    for i in range(5):
        write_jsonl(f"m/a{i}.jsonl", [SAMPLES["sharegpt"]])
    write_jsonl("m/b_openai.jsonl", [SAMPLES["openai"]])  # the sixth file, sorted last
    with pytest.raises(FormatDetectionError, match="b_openai.jsonl looks like openai"):
        open_batches(tmp_path / "m")


def test_a_mixed_folder_the_sample_misses_is_named_in_the_warning(tmp_path, write_jsonl):
    import chatlens
    from chatlens.corpus import detect

    for i in range(20):
        records = [SAMPLES["openai"]] * 30 if i == 6 else [{**SAMPLES["sharegpt"], "id": f"s{i}"}]
        write_jsonl(f"m/f{i:02d}.jsonl", records)
    sniffed = [f.path.name for f in detect._files_to_sniff(resolve(tmp_path / "m"))]
    assert "f06.jsonl" not in sniffed and len(sniffed) == 10 and sniffed[-1] == "f19.jsonl"
    summary = chatlens.info(tmp_path / "m")
    assert summary.format == "sharegpt" and summary.quarantined == 30
    warning = summary.detection_warning(detected=True)
    assert "different formats" in warning and "20 input files" in warning
