"""Discovery end to end: fake LLM + tiny embedding -> instrument that `humanlike judge` accepts;
a run killed after a step or in the middle of the LLM step resumes to byte-identical artefacts."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from instrument_helpers import CONCEPTS, PAIR_OPTIONS, TRAITS, fake_llm, make_pairs, tiny_embedder
from typer.testing import CliRunner

from chatlens.cli import app
from chatlens.errors import LLMError
from chatlens.humanlike.instruments import Item, load_instrument
from chatlens.instrument import DiscoveryConfig, PairColumns, discover, steps
from chatlens.instrument.compare import match_instrument
from chatlens.llm.config import LLMConfig
from chatlens.llm.testing import FakeOpenAIServer, FakeReply

COLUMNS = PairColumns(a="dialogue_a", b="dialogue_b", label="which", id="game")
ARTEFACT_FILES = [f for files in steps.ARTEFACTS.values() for f in files]


def config(server: FakeOpenAIServer, out: Path, **kw) -> DiscoveryConfig:
    llm = LLMConfig(
        model="fake-judge",
        base_url=server.base_url,
        cache_dir=out / "llm-cache",
        max_retries=0,
        concurrency=2,
        timeout_s=10,
    )
    return DiscoveryConfig.from_defaults(
        COLUMNS,
        llm=llm,
        embedder=tiny_embedder,
        method="agglomerative",
        distance_threshold=0.3,
        min_cluster_size=2,
        n_items=8,
        n_themes=3,
        condense="llm",
        **kw,
    )


def artefacts(out: Path) -> dict[str, bytes]:
    return {f: (out / f).read_bytes() for f in ARTEFACT_FILES}


@pytest.fixture
def env(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("CHATLENS_QUIET", "1")


def test_discover_judge_fit_report_end_to_end(tmp_path, pairs, env):
    out = tmp_path / "run"
    with FakeOpenAIServer(fake_llm) as server:
        res = discover(pairs, out, config(server, out), source="pairs")
        assert res.ran == steps.STEPS and res.reused == ()
        ch = json.loads((out / "characteristics.json").read_text())
        # the fake model is wrong on every seventh pair by construction; the accuracy must say so
        wrong = sum(v["verdict"] != v["label"] for v in ch["verdicts"])
        assert 0 < wrong < len(pairs) / 2
        assert ch["verdict_accuracy"]["value"] == pytest.approx(1 - wrong / len(pairs), abs=1e-4)
        clusters = json.loads((out / "clusters.json").read_text())
        assert clusters["n_clusters"] == 5  # one per trait of the fake model
        assert clusters["method"]["method"] == "agglomerative"
        reps = pl.read_parquet(out / "representatives.parquet")
        assert reps["rank"].max() == 3 and reps["cluster"].n_unique() == 5
        assert not reps.select("cluster", "statement").is_duplicated().any()  # distinct
        inst = load_instrument(res.instrument_path)
        assert len(inst.items) == 5 and inst.bias is None
        # the fake model's five traits, as a reference instrument: each matches its own cluster
        ref = replace(inst, items=tuple(Item(str(i), TRAITS[c][0]) for i, c in enumerate(CONCEPTS)))
        table = match_instrument(out, ref, tiny_embedder)
        assert table["matched"].all() and table["cluster"].n_unique() == 5
        prov = inst.source["provenance"]
        assert prov["data"]["data_fingerprint"] == res.manifest["input"]["data_fingerprint"]
        assert prov["models"]["condense"]["model"] == "fake-judge"
        assert prov["parameters"]["cluster"]["distance_threshold"] == 0.3

        # rate every dialogue with the discovered instrument through `humanlike judge`, then fit
        runner = CliRunner()
        dialogues = tmp_path / "dialogues.csv"
        pairs.write_csv(tmp_path / "pairs.csv")
        r = runner.invoke(
            app,
            [
                "instrument",
                "dialogues",
                str(tmp_path / "pairs.csv"),
                *PAIR_OPTIONS,
                "--out",
                str(dialogues),
            ],
        )
        assert r.exit_code == 0, r.output
        rated = tmp_path / "rated.csv"
        r = runner.invoke(
            app,
            [
                "humanlike",
                "judge",
                str(dialogues),
                "--instrument",
                str(res.instrument_path),
                "--text-column",
                "dialogue",
                "--speaker",
                "W",
                "--model",
                "fake-judge",
                "--base-url",
                server.base_url,
                "--cache",
                str(tmp_path / "c2"),
                "--out",
                str(rated),
            ],
        )
        assert r.exit_code == 0, r.output
    frame = pl.read_csv(rated)
    assert frame["hl_error"].null_count() == frame.height == 2 * len(pairs)
    r = CliRunner().invoke(
        app, ["instrument", "fit", str(out), str(rated), "--folds", "4", "--boot", "50"]
    )
    assert r.exit_code == 0, r.output
    fit = json.loads((out / "fit.json").read_text())
    assert fit["cv_auc"]["value"] > 0.9 and fit["n_groups"] == len(pairs)
    assert fit["settings"]["cv"].startswith("GroupKFold")
    alpha = fit["reliability"]["cronbach_alpha"]
    assert alpha["ci_low"] <= alpha["value"] <= alpha["ci_high"]
    fitted = load_instrument(out / "instrument-fit.yaml")
    assert fitted.bias is not None and set(fitted.keys) <= set(inst.keys)
    page = (out / "report.html").read_text()
    assert (
        "Cronbach" in page
        and "cross-validated AUC" in page
        and inst.items[0].statement[:20] in page
    )


def test_killed_after_a_step_resumes_to_identical_artefacts(tmp_path, pairs, env, monkeypatch):
    with FakeOpenAIServer(fake_llm) as server:
        clean = tmp_path / "clean"
        discover(pairs, clean, config(server, clean), source="pairs")
        out = tmp_path / "killed"

        def killed(ctx):
            raise KeyboardInterrupt

        with monkeypatch.context() as m:
            m.setitem(steps.STEP_FUNCTIONS, "cluster", killed)
            with pytest.raises(KeyboardInterrupt):
                discover(pairs, out, config(server, out), source="pairs")
        assert not (out / "assignments.parquet").exists()
        sent = server.n_requests
        res = discover(pairs, out, config(server, out), source="pairs")
        assert res.reused == ("statements", "embed")
        assert server.n_requests == sent + 1  # only the condense request
        assert artefacts(out) == artefacts(clean)
        # a rerun with nothing changed reuses everything; a changed parameter reruns its step on
        res = discover(pairs, out, config(server, out), source="pairs")
        assert res.ran == ()
        res = discover(pairs, out, config(server, out, n_representatives=2), source="pairs")
        assert res.reused == ("statements", "embed", "cluster") and "represent" in res.ran
        res = discover(
            pairs,
            out,
            config(server, out, n_representatives=2),
            source="pairs",
            from_step="cluster",
        )
        assert res.ran == ("cluster", "represent", "condense", "instrument")


def test_killed_in_the_llm_step_resumes_from_the_cache(tmp_path, pairs, env):
    state = {"down_after": 7}

    def flaky(body, n):
        if state["down_after"] is not None and n >= state["down_after"]:
            return FakeReply(content="server down", status=500)
        return fake_llm(body, n)

    with FakeOpenAIServer(flaky) as server:
        out = tmp_path / "run"
        with pytest.raises(LLMError, match="rerun the same command to resume"):
            discover(pairs, out, config(server, out), source="pairs")
        assert not (out / "statements.parquet").exists()
        state["down_after"] = None
        before = server.n_requests
        discover(pairs, out, config(server, out), source="pairs")
        # the 7 answered pairs came from the cache: only the other pairs and condense were sent
        assert server.n_requests - before == len(pairs) - 7 + 1
        clean = tmp_path / "clean"
        discover(pairs, clean, config(server, clean), source="pairs")
    assert artefacts(out) == artefacts(clean)


def test_cli_discover_with_given_statements_and_tfidf(tmp_path, env):
    rows = make_pairs(30).with_columns(
        pl.Series(
            "chars",
            [
                json.dumps(["Uses slang like lol.", "Writes in lowercase.", "Has typos."])
                if i % 2
                else "Keeps replies brief and casual.\nMentions <script>alert(1)</script> routines."
                for i in range(30)
            ],
        )
    )
    inp = tmp_path / "pairs.parquet"
    rows.write_parquet(inp)
    out = tmp_path / "run"
    args = [
        "instrument",
        "discover",
        str(inp),
        *PAIR_OPTIONS,
        "--statements-column",
        "chars",
        "--method",
        "agglomerative",
        "--min-cluster-size",
        "3",
        "--out",
        str(out),
    ]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    items = json.loads((out / "items.json").read_text())
    assert items["method"] == "nearest" and len(items["items"]) == 5
    assert {i["statement"] for i in items["items"]} == {
        "Uses slang like lol.",
        "Writes in lowercase.",
        "Has typos.",
        "Keeps replies brief and casual.",
        "Mentions <script>alert(1)</script> routines.",
    }
    load_instrument(out / "instrument.yaml")
    page = (out / "report.html").read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    r = CliRunner().invoke(
        app, ["instrument", "compare", str(out), "--out", str(tmp_path / "cmp.csv")]
    )
    assert r.exit_code == 0, r.output
    cmp = pl.read_csv(tmp_path / "cmp.csv")
    assert cmp.height == 32 and "items of hal32q match a cluster" in r.output.replace("\n", " ")
    r = CliRunner().invoke(app, [*args, "--from-step", "condense"])
    assert r.exit_code == 0 and "reused" in r.output


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"which": ["A", "C"]}, "row 2 (id 'g1'): got 'C'"),
        ({"dialogue_b": ["x", ""]}, "column 'dialogue_b': expected a non-empty dialogue"),
        ({"game": ["g0", "g0"]}, "a unique, non-empty id per pair"),
    ],
)
def test_bad_input_names_file_row_and_column(tmp_path, env, change, message):
    frame = pl.DataFrame(
        {
            "game": ["g0", "g1"],
            "dialogue_a": ["W: hi", "W: yo"],
            "dialogue_b": ["W: Hello.", "W: Greetings."],
            "which": ["A", "B"],
        }
    )
    frame.with_columns(**{k: pl.Series(v) for k, v in change.items()}).write_csv(
        tmp_path / "bad.csv"
    )
    r = CliRunner().invoke(
        app,
        [
            "instrument",
            "discover",
            str(tmp_path / "bad.csv"),
            *PAIR_OPTIONS,
            "--model",
            "m",
            "--base-url",
            "http://127.0.0.1:9/v1",
            "--out",
            str(tmp_path / "o"),
        ],
    )
    assert r.exit_code != 0
    assert "bad.csv" in r.output and message in r.output.replace("\n", " ")


def test_changing_max_reasks_reruns_the_llm_steps(tmp_path, pairs, env):
    """max_reasks decides which pairs end up excluded, but was not in the step key: a rerun with
    more re-asks reused the statements step and kept the 11 pairs excluded by max_reasks=0."""

    def prose_first(body, n):
        msgs = body["messages"]
        if len(msgs) == 2 and "game 1" in msgs[-1]["content"]:  # games 1, 10-19: no JSON at first
            return FakeReply(content="I think A is the human.")
        return fake_llm({"messages": msgs[:2]}, n)

    out = tmp_path / "run"
    with FakeOpenAIServer(prose_first) as server:
        for reasks, excluded in ((0, 11), (2, 0)):
            cfg = config(server, out)
            cfg = replace(cfg, llm=cfg.llm.with_(max_reasks=reasks))
            res = discover(pairs, out, cfg, source="pairs")
            assert "statements" in res.ran
            ch = json.loads((out / "characteristics.json").read_text())
            assert len(ch["excluded_pairs"]) == excluded
    assert res.manifest["steps"]["statements"]["params"]["llm"]["max_reasks"] == 2


def test_a_server_error_body_cannot_put_terminal_escapes_on_the_screen(tmp_path, pairs, env):
    """A server answering 400 with 'boom ESC[2J ESC]0;pwned BEL' reached the terminal through
    the CLI's error message (handle_errors printed ChatlensError text as it was): the screen was
    cleared and the window retitled. Control characters print as U+FFFD now."""
    pairs.write_csv(tmp_path / "pairs.csv")
    evil = FakeReply(content="boom \x1b[2J\x1b]0;pwned\x07 end", status=400)
    with FakeOpenAIServer(lambda body, n: evil) as server:
        r = CliRunner().invoke(
            app,
            [
                "instrument",
                "discover",
                str(tmp_path / "pairs.csv"),
                *PAIR_OPTIONS,
                "--model",
                "m",
                "--base-url",
                server.base_url,
                "--max-retries",
                "0",
                "--out",
                str(tmp_path / "run"),
            ],
        )
    assert r.exit_code == 1 and "boom \ufffd[2J" in r.output
    assert "\x1b" not in r.output and "\x07" not in r.output
