"""Tests of the synthetic LMSYS-shaped corpus and its ground truth (chatlens.synth)."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from chatlens import datafiles
from chatlens.errors import DataFileError, InvalidParameterError
from chatlens.synth import (
    CONVERSATION_TRUTH_SCHEMA,
    LMSYS_SCHEMA,
    TRUTH_SCHEMA,
    sidecar_paths,
    synth,
)
from chatlens.synth.bank import check_bank, load_bank, load_common, parse_bank
from chatlens.synth.config import load_config, parse_config
from chatlens.synth.render import compile_banks
from chatlens.synth.vocab import (
    JAILBREAK_FAMILIES,
    KINDS,
    LANGUAGE_FILES,
    MODERATION_CATEGORIES,
    OPTIONAL_KINDS,
)

N_MAIN = 20_000


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory):
    """One 20k-conversation corpus (all languages, 12 models) shared by the consistency tests."""
    out = tmp_path_factory.mktemp("synth") / "main.parquet"
    res = synth(N_MAIN, seed=7, out=out)
    data = pl.read_parquet(res.path)
    truth = pl.read_parquet(res.truth_path)
    conv_truth = pl.read_parquet(res.conversations_truth_path)
    messages = (
        data.select("conversation_id", "conversation")
        .explode("conversation")
        .unnest("conversation")
        .with_columns(message_index=pl.int_range(pl.len()).over("conversation_id").cast(pl.Int32))
    )
    joined = truth.join(messages, on=["conversation_id", "message_index"], how="left")
    return res, data, truth, conv_truth, joined


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ----------------------------------------------------------------------------- schema
def test_schema_is_exactly_lmsys(corpus):
    res, data, *_ = corpus
    schema = pq.read_schema(res.path)
    assert schema.names == [
        "conversation_id",
        "model",
        "conversation",
        "turn",
        "language",
        "openai_moderation",
        "redacted",
    ]
    assert schema.remove_metadata().equals(LMSYS_SCHEMA)
    msg_fields = {f.name for f in schema.field("conversation").type.value_type}
    assert msg_fields == {"content", "role"}
    entry = schema.field("openai_moderation").type.value_type
    assert [f.name for f in entry] == ["categories", "category_scores", "flagged"]
    assert [f.name for f in entry.field("categories").type] == list(MODERATION_CATEGORIES)
    assert str(entry.field("category_scores").type.field(0).type) == "double"
    assert data.schema["turn"] == pl.Int64
    assert data["conversation_id"].str.len_chars().unique().to_list() == [32]
    assert data["conversation_id"].n_unique() == N_MAIN


def test_moderation_has_one_entry_per_message(corpus):
    _, data, *_ = corpus
    lens = data.select(
        pl.col("conversation").list.len().alias("m"), pl.col("openai_moderation").list.len().alias("o")
    )
    assert (lens["m"] == lens["o"]).all()
    flagged = data.select(pl.col("openai_moderation").list.eval(pl.element().struct.field("flagged")).list.any())
    share = flagged.to_series().mean()
    assert 0.005 < share < 0.2  # LMSYS: about 5% of conversations flagged


def test_roles_alternate_and_turn_counts_rounds(corpus):
    _, data, truth, *_ = corpus
    roles = truth.group_by("conversation_id", maintain_order=True).agg(
        pl.col("role"), pl.col("turn").max().alias("t")
    )
    first = roles["role"].list.first()
    last = roles["role"].list.last()
    assert (first == "user").all() and (last == "assistant").all()
    assert (truth["role"] == pl.Series(np.where(truth["message_index"] % 2 == 0, "user", "assistant"))).all()
    turns = data.select("conversation_id", "turn").join(roles, on="conversation_id")
    assert (turns["turn"] == turns["t"]).all()
    assert (data["conversation"].list.len() == 2 * data["turn"]).all()


def test_redacted_conversations_show_name_placeholders(corpus):
    _, data, *_ = corpus
    text = data.with_columns(
        txt=pl.col("conversation").list.eval(pl.element().struct.field("content")).list.join("\n")
    )
    has = text["txt"].str.contains("NAME_1", literal=True)
    assert (has == text["redacted"]).all()
    assert 0.005 < text["redacted"].mean() < 0.1


def test_turn_distribution_is_lmsys_like(corpus):
    _, data, *_ = corpus
    one = (data["turn"] == 1).mean()
    assert 0.6 < one < 0.8
    assert data["turn"].max() >= 10
    assert 1.6 < data["turn"].mean() < 2.6


# ----------------------------------------------------------------------------- ground truth
def test_truth_schema_and_rows(corpus):
    res, data, truth, conv_truth, joined = corpus
    assert pq.read_schema(res.truth_path).remove_metadata().equals(TRUTH_SCHEMA)
    assert pq.read_schema(res.conversations_truth_path).remove_metadata().equals(CONVERSATION_TRUTH_SCHEMA)
    assert truth.height == res.messages == data["conversation"].list.len().sum()
    assert joined["content"].null_count() == 0
    assert (joined["role"] == joined["role_right"]).all()
    assert conv_truth.height == N_MAIN


def test_refusal_labels_are_consistent(corpus):
    *_, joined = corpus
    ref = joined.filter(pl.col("refusal"))
    assert ref.height > 500
    assert (ref["role"] == "assistant").all()
    assert (ref["refusal_type"] != "none").all()
    assert (joined.filter(~pl.col("refusal"))["refusal_type"] == "none").all()
    assert (joined.filter(pl.col("refusal_partial"))["refusal"]).all()
    assert not (ref["lookalike"]).any(), "a refusal must not be marked as a look-alike"
    assert set(ref["refusal_type"].unique()) == {"capability", "policy", "mixed"}
    kinds = set(ref["kind"].unique())
    assert {"refusal_direct", "refusal_lecture", "refusal_redirect", "refusal_late", "refusal_partial",
            "refusal_cap", "refusal_mixed", "refusal_repeat"} <= kinds


def test_reaction_follows_every_non_final_refusal(corpus):
    _, _, truth, conv_truth, _ = corpus
    t = truth.sort("conversation_id", "message_index").with_columns(
        prev_refusal=pl.col("refusal").shift(1).over("conversation_id").fill_null(False),
        is_last=pl.col("message_index") == pl.col("message_index").max().over("conversation_id"),
    )
    after = t.filter(pl.col("prev_refusal"))
    assert after.height > 100
    assert (after["role"] == "user").all()
    assert after["reaction"].null_count() == 0
    assert t.filter(~pl.col("prev_refusal"))["reaction"].null_count() == t.filter(~pl.col("prev_refusal")).height
    assert set(after["reaction"].unique()) == {"rephrase", "jailbreak", "pushback", "accept", "new_topic"}
    # abandonment = a refusal that is the last message
    expected = t["refusal"] & t["is_last"]
    assert (t["abandoned_after"] == expected).all()
    abandoned = t.filter(pl.col("abandoned_after")).select("conversation_id").unique()
    assert set(abandoned["conversation_id"]) == set(conv_truth.filter(pl.col("abandoned"))["conversation_id"])


def test_jailbreak_labels(corpus):
    _, _, truth, conv_truth, joined = corpus
    jb = joined.filter(pl.col("jailbreak"))
    assert (jb["role"] == "user").all()
    assert set(jb["jailbreak_family"].unique()) == set(JAILBREAK_FAMILIES)
    assert (joined.filter(~pl.col("jailbreak"))["jailbreak_family"] == "none").all()
    first = jb.filter(pl.col("message_index") == 0)
    assert first.height > 50, "jailbreak attempts also appear as first messages"
    assert first["reaction"].null_count() == first.height
    assert set(first["conversation_id"]) == set(conv_truth.filter(pl.col("jailbreak_first"))["conversation_id"])
    # the obfuscation family really carries base64
    obf = jb.filter(pl.col("jailbreak_family") == "obfuscation")["content"]
    assert obf.str.contains(r"[A-Za-z0-9+/]{16,}={0,2}").any()
    # benign jailbreak look-alikes (Sudan, guidance, act as a Linux terminal) are not jailbreaks
    look = joined.filter(pl.col("jailbreak_lookalike"))
    assert look.height > 100 and not look["jailbreak"].any()
    en = look.filter(pl.col("language") == "en")["content"].str.to_lowercase()
    assert en.str.contains("sudan").any() and en.str.contains("guidance").any()


def test_sentiment_and_profanity(corpus):
    *_, joined = corpus
    user = joined.filter(pl.col("role") == "user")
    asst = joined.filter(pl.col("role") == "assistant")
    assert asst["sentiment"].null_count() == asst.height
    assert user["sentiment"].null_count() == 0
    assert set(user["sentiment"].unique()) == {"neg", "neu", "pos"}
    assert (asst["profanity_count"] == 0).all()
    prof = user.filter(pl.col("profanity_count") > 0)
    assert prof.height > 50
    words = set()
    for code in LANGUAGE_FILES:
        words |= {v["text"].lower() for v in load_bank(code).slots["swear"].values}
    words |= {"hell"}
    pattern = "(?i)" + "|".join(sorted(map(lambda w: __import__("re").escape(w), words), key=len, reverse=True))
    assert prof["content"].str.contains(pattern).all()
    # pushback carries negative sentiment; profanity is not only in pushback
    assert (user.filter(pl.col("kind") == "pushback")["sentiment"] == "neg").all()
    assert prof.filter(pl.col("kind") != "pushback").height > 0


def test_every_language_appears_with_refusals_and_reactions(corpus):
    _, data, _, _, joined = corpus
    config = load_config()
    assert set(data["language"].unique()) == {lang.name for lang in config.languages}
    per_lang = joined.group_by("language").agg(
        pl.col("refusal").sum().alias("refusals"),
        pl.col("lookalike").sum().alias("lookalikes"),
        pl.col("reaction").drop_nulls().n_unique().alias("reactions"),
    )
    assert per_lang.height == len(LANGUAGE_FILES)
    assert (per_lang["refusals"] >= 5).all()
    assert (per_lang["lookalikes"] >= 5).all()
    assert (per_lang["reactions"] >= 3).all()


def test_lookalikes_and_disclaimers_are_not_refusals(corpus):
    *_, joined = corpus
    en = joined.filter((pl.col("language") == "en") & (pl.col("role") == "assistant"))
    look = en.filter(pl.col("lookalike"))
    assert not look["refusal"].any()
    texts = look["content"]
    for needle in ("sorry to hear", "without a join", "harmful to your health", "dangerous sea voyage",
                   "do not have access to the server"):
        assert texts.str.contains(needle, literal=True).any(), needle
    # refusal strings inside code blocks
    code_look = look.filter(pl.col("content").str.contains("```", literal=True))
    assert code_look["content"].str.contains("I'm sorry|I cannot|unable to").any()
    disc = en.filter(pl.col("disclaimer"))
    assert disc["content"].str.contains(r"(?i)\ban ai\b|language model|computer program").all()
    helpful_disc = disc.filter(~pl.col("refusal"))
    assert helpful_disc.filter(pl.col("content").str.contains("personal opinions, but")).height > 0
    refusing_disc = disc.filter(pl.col("refusal"))
    assert refusing_disc.height > 0


def test_refusal_phrasing_variety(corpus):
    *_, joined = corpus
    ref = joined.filter(pl.col("refusal") & (pl.col("language") == "en"))["content"]
    for needle in ("’", "As an AI language model, I don't have", "It's important to note", "There is no",
                   "Instead,", "unable to", "I apologize"):
        assert ref.str.contains(needle, literal=True).any(), needle
    # some refusals come at the end of a long answer
    late = joined.filter(pl.col("kind") == "refusal_late")
    assert late["content"].str.len_chars().mean() > 300


def test_lengths_and_variety(corpus):
    *_, joined = corpus
    en = joined.filter(pl.col("language") == "en").with_columns(
        words=pl.col("content").str.split(" ").list.len()
    )
    mean = en.group_by("role").agg(pl.col("words").mean()).sort("role")
    asst_mean, user_mean = mean["words"].to_list()
    assert 110 < asst_mean < 220
    assert 5 < user_mean < 60
    assert en.filter(pl.col("role") == "assistant")["words"].quantile(0.99) > 350
    asst = joined.filter(pl.col("role") == "assistant")["content"]
    assert asst.n_unique() / asst.len() > 0.6
    assert asst.str.contains("```", literal=True).mean() > 0.05


# ----------------------------------------------------------------------------- model rates
def test_model_refusal_rates_match_config_and_differ(corpus):
    res, _, truth, conv_truth, _ = corpus
    first = truth.filter(pl.col("message_index") == 1).select("conversation_id", "refusal")
    per_model = (
        conv_truth.filter(~pl.col("jailbreak_first"))
        .join(first, on="conversation_id")
        .group_by("model")
        .agg(
            pl.len().alias("n"),
            pl.col("refusal").mean().alias("observed"),
            pl.col("refusal_rate").mean().alias("expected"),
            (pl.col("refusal_rate") * (1 - pl.col("refusal_rate"))).sum().alias("var_sum"),
        )
    )
    assert per_model.height == 12
    for row in per_model.iter_rows(named=True):
        se = math.sqrt(row["var_sum"]) / row["n"]
        assert abs(row["observed"] - row["expected"]) < 4 * se + 1e-9, row
    configured = dict(zip(res.models["model"], res.models["refusal_rate"], strict=True))
    assert max(configured.values()) / min(configured.values()) >= 5
    obs = dict(zip(per_model["model"], per_model["observed"], strict=True))
    assert obs["llama-2-13b-chat"] > 2 * obs["vicuna-13b"] > 0
    # Zipf-like popularity: the most popular model has the most conversations
    counts = conv_truth.group_by("model").len().sort("len", descending=True)
    assert counts["model"][0] == "vicuna-13b"


def test_model_family_refusal_signatures(corpus):
    _, data, _, _, joined = corpus
    ref = joined.filter(pl.col("refusal") & (pl.col("language") == "en")).join(
        data.select("conversation_id", "model"), on="conversation_id"
    )
    llama = ref.filter(pl.col("model") == "llama-2-13b-chat")["content"]
    assert llama.str.contains("I'm just an AI|responsible and ethical AI|Thank you for reaching out").any()
    claude = ref.filter(pl.col("model").str.starts_with("claude"))["content"]
    assert claude.str.contains("comfortable").any()
    # models without a signature never use one
    sig = ref.filter(pl.col("kind") == "refusal_signature")
    assert set(sig["model"].unique()) <= {"vicuna-13b", "koala-13b", "llama-2-13b-chat", "vicuna-33b",
                                          "gpt-3.5-turbo", "claude-1", "gpt-4", "claude-instant-1"}
    assert not joined.filter((pl.col("kind") == "refusal_signature") & (pl.col("language") != "en")).height


def test_capability_policy_mix_differs_between_models(corpus):
    *_, joined = corpus
    ref = joined.filter(pl.col("refusal") & (pl.col("kind") != "refusal_repeat")).join(
        corpus[1].select("conversation_id", "model"), on="conversation_id"
    )
    share = ref.group_by("model").agg((pl.col("refusal_type") == "capability").mean().alias("cap"))
    cap = dict(zip(share["model"], share["cap"], strict=True))
    assert cap["fastchat-t5-3b"] > cap["llama-2-13b-chat"] + 0.2


# ----------------------------------------------------------------------------- determinism & formats
def test_same_seed_gives_identical_bytes(tmp_path):
    a = synth(2_000, seed=3, out=tmp_path / "a" / "x.parquet", chunk_size=700)
    b = synth(2_000, seed=3, out=tmp_path / "b" / "x.parquet", chunk_size=700)
    for pa_, pb in zip(
        (a.path, a.truth_path, a.conversations_truth_path, a.manifest_path),
        (b.path, b.truth_path, b.conversations_truth_path, b.manifest_path),
        strict=True,
    ):
        assert _sha(pa_) == _sha(pb), pa_.name
    c = synth(2_000, seed=4, out=tmp_path / "c" / "x.parquet", chunk_size=700)
    assert _sha(c.path) != _sha(a.path)


def test_jsonl_output_has_the_same_content(tmp_path):
    p = synth(300, seed=5, out=tmp_path / "s.parquet")
    j = synth(300, seed=5, out=tmp_path / "s.jsonl")
    assert j.format == "jsonl" and p.format == "parquet"
    a = pl.read_parquet(p.path)
    b = pl.read_ndjson(j.path)
    assert a.columns == b.columns
    assert a["conversation"].to_list() == b["conversation"].to_list()
    first = json.loads(j.path.read_text(encoding="utf-8").splitlines()[0])
    assert set(first["openai_moderation"][0]["categories"]) == set(MODERATION_CATEGORIES)
    assert _sha(p.truth_path) == _sha(j.truth_path)


def test_sidecar_paths():
    assert [p.name for p in sidecar_paths("d/demo.parquet")] == [
        "demo.truth.parquet",
        "demo.truth_conversations.parquet",
        "demo.synth.json",
    ]


def test_dotted_corpus_names_keep_their_own_ground_truth(tmp_path):
    """Sidecars were named after the text before the first dot: demo.small.parquet and
    demo.large.parquet both wrote demo.truth.parquet, so the second replaced the first's ground
    truth (100 conversations beside a truth of 300 others, 0 ids in common)."""
    assert sidecar_paths("d/demo.small.parquet")[0].name == "demo.small.truth.parquet"
    small = synth(50, seed=1, out=tmp_path / "demo.small.parquet")
    large = synth(80, seed=2, out=tmp_path / "demo.large.parquet")
    assert small.truth_path != large.truth_path
    ids = set(pl.read_parquet(small.path)["conversation_id"])
    assert set(pl.read_parquet(small.truth_path)["conversation_id"]) == ids


def test_a_folder_of_synth_output_reads_as_its_corpora(tmp_path):
    from chatlens.corpus.api import info
    from chatlens.corpus.sources import IGNORE_FILE, resolve

    def names(files) -> list[str]:
        return [f.path.name for f in files]

    a = synth(60, seed=3, out=tmp_path / "d" / "corpus.parquet")
    synth(40, seed=4, out=tmp_path / "d" / "other.jsonl")
    synth(60, seed=3, out=tmp_path / "d" / "corpus.parquet")  # rewritten: listed once
    assert (tmp_path / "d" / IGNORE_FILE).read_text().splitlines() == [
        "corpus.truth.parquet", "corpus.truth_conversations.parquet", "corpus.synth.json",
        "other.truth.parquet", "other.truth_conversations.parquet", "other.synth.json",
    ]
    assert names(resolve(tmp_path / "d")) == ["corpus.parquet", "other.jsonl"]
    assert names(resolve(str(tmp_path / "d" / "*.parquet"))) == ["corpus.parquet"]
    summary = info(tmp_path / "d")
    assert (summary.files, summary.conversations, summary.quarantined) == (2, 100, 0)
    # Named explicitly, a sidecar is still read.
    assert names(resolve(a.truth_path)) == ["corpus.truth.parquet"]


def test_the_package_is_callable_in_any_import_order(tmp_path):
    import subprocess
    import sys

    for first in ("import chatlens", "import chatlens.synth.generate"):
        code = (
            f"{first}; import chatlens; "
            f"res = chatlens.synth(5, seed=1, out={str(tmp_path / 'p.parquet')!r}); "
            "print(res.conversations, chatlens.synth.sidecar_paths(res.path)[0].name)"
        )
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        assert done.stdout.split() == ["5", "p.truth.parquet"]


def test_language_and_model_selection(tmp_path):
    res = synth(1_500, seed=1, out=tmp_path / "x.parquet", languages={"ja": 1.0, "ko": 1.0}, n_models=3)
    data = pl.read_parquet(res.path)
    assert set(data["language"].unique()) == {"Japanese", "Korean"}
    assert set(data["model"].unique()) == {"vicuna-13b", "koala-13b", "alpaca-13b"}
    manifest = json.loads(res.manifest_path.read_text())
    assert manifest["seed"] == 1 and manifest["conversations"] == 1_500
    assert set(manifest["languages"]) == {"ja", "ko"}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_conversations": 0},
        {"n_conversations": 10, "seed": -1},
        {"n_conversations": 10, "n_models": 99},
        {"n_conversations": 10, "languages": ["xx"]},
        {"n_conversations": 10, "languages": []},
        {"n_conversations": 10, "languages": ["en", "en"]},  # the manifest said en: 0.5
        {"n_conversations": 10, "languages": {"en": float("nan"), "fr": 1.0}},  # all English
        {"n_conversations": 10, "languages": {"en": float("inf"), "fr": 1.0}},
        {"n_conversations": 10, "format": "csv"},
        {"n_conversations": 10, "chunk_size": 0},
        {"n_conversations": 10, "chunk_size": 10_000_000},
    ],
)
def test_invalid_parameters(tmp_path, kwargs):
    n = kwargs.pop("n_conversations")
    with pytest.raises(InvalidParameterError):
        synth(n, out=tmp_path / "x.parquet", **kwargs)
    assert not (tmp_path / "x.parquet").exists()


# ----------------------------------------------------------------------------- CLI
def test_cli_writes_corpus_and_sidecars(tmp_path):
    from chatlens.cli import app

    out = tmp_path / "cli" / "demo.parquet"
    result = CliRunner().invoke(app, ["synth", "--conversations", "300", "--seed", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for p in (out, *sidecar_paths(out)):
        assert p.exists(), p
    assert pl.read_parquet(out).height == 300
    assert "300 conversations" in result.output


def test_cli_bad_option_is_one_line_error(tmp_path):
    from chatlens.cli import app

    result = CliRunner().invoke(app, ["synth", "-n", "5", "--out", str(tmp_path / "x.parquet"), "-l", "xx"])
    assert result.exit_code == 1
    assert "Traceback" not in result.output


# ----------------------------------------------------------------------------- phrase banks
def test_every_bundled_bank_loads_and_compiles():
    compiled = compile_banks(tuple(LANGUAGE_FILES))
    assert compiled.n_distinct_templates > 1_000
    required = [i for i, k in enumerate(KINDS) if k not in OPTIONAL_KINDS]
    assert (compiled.kind_count[:, required] > 0).all()
    for code in LANGUAGE_FILES:
        bank = load_bank(code)
        assert bank.language == code and bank.version >= 1
    assert load_common().episode_slots


def _bank(**over):
    data = {
        "name": "t",
        "version": 1,
        "language": "en",
        "source": "test",
        "slots": {"topic": ["x"]},
        "templates": {"ask": ["Tell me about {topic}."]},
    }
    data.update(over)
    return data


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (_bank(extra=1), "extra"),
        (_bank(templates={"nonsense_kind": ["x"]}), "templates.nonsense_kind"),
        (_bank(templates={"ask": [{"text": "x", "mood": "happy"}]}), "templates.ask[0].mood"),
        (_bank(templates={"ask": [{"text": "x", "sentiment": "angry"}]}), "templates.ask[0].sentiment"),
        (_bank(templates={"ask": [{"text": "x", "profanity": -1}]}), "templates.ask[0].profanity"),
        (_bank(templates={"ask": ["{topic|shout}"]}), "templates.ask[0]"),
        (_bank(slots={"harm": [{"do": "a", "ing": "b"}, {"do": "c"}]}), "slots.harm[1]"),
        (_bank(slots={"harm": [{"do": "a", "_mod": "rudeness"}]}), "slots.harm[0]._mod"),
        (_bank(slots={"n": {"range": [5, 1]}}), "slots.n.range"),
        (_bank(version="one"), "version"),
    ],
)
def test_bad_bank_names_file_and_key(data, needle):
    with pytest.raises(DataFileError) as err:
        _parse_bank(data, "bad.yaml")
    assert err.value.file == "bad.yaml" and needle in err.value.key


def _parse_bank(data, file):
    """A phrase bank from a mapping, the way the data layer loads one: schema, then builder."""
    return parse_bank(datafiles.parse(data, kind="synth-bank", file=file), file)


def _parse_config(data):
    return parse_config(datafiles.parse(data, kind="synth-config", file="config.yaml"))


def test_unknown_slot_and_missing_kind_are_reported():
    bank = _parse_bank(_bank(templates={"ask": ["about {topc}"]}), "typo.yaml")
    with pytest.raises(DataFileError, match=r"typo.yaml: key 'templates.ask\[0\]'.*topc"):
        check_bank(bank, load_common())
    bank = _parse_bank(_bank(), "thin.yaml")
    with pytest.raises(DataFileError, match="thin.yaml: key 'templates"):
        check_bank(bank, load_common())


def test_template_seeds_do_not_depend_on_where_the_file_was_read():
    """Rendering seeds from a template's origin: a bundled label or a folder must not change it."""
    plain = _parse_bank(_bank(), "en.yaml")
    bundled = _parse_bank(_bank(), "<bundled>/synth/en.yaml")
    assert plain.templates["ask"][0].where == bundled.templates["ask"][0].where == "en.yaml: templates.ask[0]"


def test_bad_yaml_and_bad_config():
    with pytest.raises(DataFileError, match="broken.yaml: key '<root>': expected valid YAML"):
        datafiles.parse_bytes(b"a: [1, 2", kind="synth-config", file="broken.yaml")
    import copy
    from importlib import resources

    import yaml

    raw = yaml.safe_load(resources.files("chatlens.data.synth").joinpath("config.yaml").read_text("utf-8"))
    bad = copy.deepcopy(raw)
    bad["flow"]["reaction_after_policy"]["accept"] = 0.9
    with pytest.raises(DataFileError, match="flow.reaction_after_policy"):
        _parse_config(bad)
    bad = copy.deepcopy(raw)
    bad["models"][0]["refusal_rate"] = 1.5
    with pytest.raises(DataFileError, match=r"models\[0\].refusal_rate"):
        _parse_config(bad)
    bad = copy.deepcopy(raw)
    bad["languages"][0]["code"] = "xx"
    with pytest.raises(DataFileError, match=r"languages\[0\].code"):
        _parse_config(bad)
    assert _parse_config(raw).models[0].name == "vicuna-13b"


# ----------------------------------------------------------------------------- the lmsys reader
def test_lmsys_reader_reads_the_synthetic_corpus_unchanged(tmp_path):
    import chatlens

    res = synth(500, seed=11, out=tmp_path / "demo.parquet")
    corpus = chatlens.read(res.path)
    assert corpus.summary.format == "lmsys"
    assert corpus.quarantine.height == 0
    assert corpus.conversations.height == 500
    assert corpus.messages.height == res.messages
