"""``chatlens audit``: a blind random sample of a run, and its rates corrected by a reader's labels.

The synthetic corpus has ground truth per message, so its truth plays the careful reader: the
corrected rate must cover the true rate where the detector's own rate need not.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

import chatlens
from chatlens.audit import (
    KEY,
    SIGNALS,
    allocate,
    design_path_for,
    draw_audit_sample,
    estimate_audit,
    parse_labels,
    population,
)
from chatlens.cli import app
from chatlens.errors import InvalidParameterError, SourceError
from chatlens.synth import synth

runner = CliRunner()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("audit")
    src = root / "input" / "corpus.parquet"
    src.parent.mkdir()
    synth(1500, seed=5, out=src)
    plain = chatlens.analyze(src, out=root / "run", workers=1).out
    kept = chatlens.analyze(src, out=root / "run-text", workers=1, keep_text=True).out
    return {"src": src, "run": plain, "kept": kept, "truth": src.with_name("corpus.truth.parquet")}


def _label_with_truth(sample: pl.DataFrame, truth_path: Path, signal: str = "refusal") -> pl.DataFrame:
    truth = pl.read_parquet(truth_path).select(*KEY, pl.col(signal).alias("_t"))
    return (sample.with_columns(pl.col("message_index").cast(pl.Int64))
            .join(truth.with_columns(pl.col("message_index").cast(pl.Int64)), on=list(KEY), how="left")
            .with_columns(label=pl.when(pl.col("_t")).then(pl.lit("refusal")).otherwise(pl.lit("none")))
            .drop("_t"))


def test_allocation_is_equal_or_by_square_root_and_capped() -> None:
    assert allocate([5, 1000, 1000], 90) == [5, 43, 42]
    assert allocate([3, 4], 100) == [3, 4]
    assert sum(allocate([10, 20, 30, 40], 37)) == 37
    assert allocate([100, 10000], 200, "sqrt") == [18, 182]
    assert allocate([4, 10000, 2500], 300, "sqrt") == [4, 197, 99]  # capped, the rest re-shared
    assert allocate([0, 9], 5, "sqrt") == [0, 5]
    with pytest.raises(InvalidParameterError, match="allocation"):
        allocate([1], 1, "neyman")


def test_sqrt_allocation_reads_every_cell_when_n_allows() -> None:
    """A one-message flagged cell beside a big unflagged one got no label under sqrt, so its
    group's rate and the run's had no point estimate; each non-empty cell now gets one."""
    assert allocate([1, 10000], 10, "sqrt") == [1, 9]
    assert allocate([200, 300, 1901, 99, 1, 2], 60, "sqrt") == [9, 12, 30, 7, 1, 1]
    assert allocate([1, 1, 1, 40000], 4, "sqrt") == [1, 1, 1, 1]
    assert sum(allocate([1, 1, 1, 40000], 3, "sqrt")) == 3  # n below the cells: no floor possible
    for sizes, n in (([1, 3, 7, 50_000, 2], 9), ([0, 1, 5000, 1, 80], 12), ([2, 2, 900, 4], 30)):
        out = allocate(sizes, n, "sqrt")
        assert sum(out) == n and all(1 <= k <= s for k, s in zip(out, sizes, strict=True) if s), (sizes, out)


def test_sqrt_allocated_audits_of_many_small_groups_estimate_and_cover_the_run() -> None:
    """Simulated logs (scripts/simulate_audit.py, small): 10 models whose flagged cells are small,
    one label per cell. Before every cell got a label, sqrt left the run's rate without a point
    estimate in every log; now it has one, and the intervals cover each log's true rate."""
    import numpy as np

    from chatlens.stats.two_phase import two_phase_rates

    rng = np.random.default_rng(11)
    covered, estimated, reps = 0, 0, 40
    for rep in range(reps):
        rows, true, total = [], 0, 0
        sizes, positives, cells = [], [], []
        for g in range(10):
            y = rng.random(500) < 0.02 + 0.02 * g
            flag = np.where(y, rng.random(500) < 0.7, rng.random(500) < 0.03)
            for f in (False, True):
                cells.append((f"m{g}", f))
                sizes.append(int((flag == f).sum()))
                positives.append(int(y[flag == f].sum()))
            true, total = true + int(y.sum()), total + 500
        for (g, f), size, k, take in zip(cells, sizes, positives, allocate(sizes, 20, "sqrt"), strict=True):
            if size:
                rows.append((g, f, size, take, int(rng.hypergeometric(k, size - k, take)) if take else 0))
        out = two_phase_rates(pl.DataFrame(rows, schema=["group", "flagged", "messages", "labelled", "positives"],
                                           orient="row"), seed=rep, draws=2000).row(-1, named=True)
        estimated += out["rate"] is not None
        covered += out["rate_low"] <= true / total <= out["rate_high"]
    assert estimated == reps and covered >= 0.85 * reps


def test_sample_is_blind_shuffled_and_reproducible(runs: dict[str, Path]) -> None:
    s = draw_audit_sample(runs["run"], n=120, by="model", seed=1, allocation="equal")
    assert s.rows.columns == ["audit_row", *KEY, "before", "message", "after", "label", "note"]
    assert s.rows.height == 120 == len(s.design["keys"])
    # equal shares per cell (capped by the cell's size)
    drawn = [c["drawn"] for c in s.design["cells"]]
    assert sum(drawn) == 120 and max(drawn) - min(d for c, d in zip(s.design["cells"], drawn, strict=True)
                                                   if c["messages"] > max(drawn)) <= 1
    assert s.rows["message"].null_count() == 0
    again = draw_audit_sample(runs["run"], n=120, by="model", seed=1, allocation="equal")
    assert again.rows.equals(s.rows)
    other = draw_audit_sample(runs["run"], n=120, by="model", seed=2, allocation="equal")
    assert not other.rows.select(KEY).equals(s.rows.select(KEY))
    # shuffled: the flagged rows are not all at one end
    verdicts = population(runs["run"]).join(s.rows.select(KEY), on=list(KEY), how="semi")
    order = s.rows.select(KEY).join(verdicts, on=list(KEY), how="left")["predicted"].to_list()
    assert order[:60].count("refusal") not in (0, 60)


def test_text_read_again_equals_the_text_the_run_kept(runs: dict[str, Path]) -> None:
    reread = draw_audit_sample(runs["run"], n=60, by=None, seed=4)
    kept = draw_audit_sample(runs["kept"], n=60, by=None, seed=4)
    cols = ["before", "message", "after"]
    assert reread.rows.select(*KEY, *cols).equals(kept.rows.select(*KEY, *cols))


def test_corrected_rate_covers_the_truth(runs: dict[str, Path], tmp_path: Path) -> None:
    s = draw_audit_sample(runs["run"], n=400, by=None, seed=0)
    path, design = s.write(tmp_path / "sample.csv")
    assert design == design_path_for(path) and json.loads(design.read_text())["n"] == 400
    sizes = {c["predicted"]: (c["messages"], c["drawn"]) for c in s.design["cells"]}
    assert sizes["none"][1] > sizes["refusal"][1]  # sqrt allocation: more from the big cell
    labelled = _label_with_truth(pl.read_csv(path, infer_schema=False), runs["truth"])
    labelled.write_csv(tmp_path / "sample.csv")
    est = estimate_audit(runs["run"], tmp_path / "sample.csv")
    r = est.table.row(0, named=True)
    truth = pl.read_parquet(runs["truth"]).filter(pl.col("role") == "assistant")["refusal"].mean()
    assert r["rate_low"] <= truth <= r["rate_high"]
    assert r["complete"] and est.labelled == 400 and est.unread == 0 and est.left_out == 0
    assert r["label"] == "refusal" and est.table.height == 1
    assert r["precision"] is not None and 0 < r["recall"] <= 1


def test_partial_labels_unclear_rows_and_groups(runs: dict[str, Path], tmp_path: Path) -> None:
    s = draw_audit_sample(runs["run"], n=240, by="model", seed=3)
    path, _ = s.write(tmp_path / "s.parquet")
    labelled = _label_with_truth(pl.read_parquet(path), runs["truth"]).with_columns(
        label=pl.when(pl.col("audit_row") <= 3).then(pl.lit("Unclear"))
        .when(pl.col("audit_row") > 200).then(None).otherwise(pl.col("label")))
    labelled.write_parquet(path)
    est = estimate_audit(runs["run"], path)
    assert (est.labelled, est.left_out, est.unread) == (197, 3, 40)
    models = pl.read_parquet(runs["run"] / "conversations.parquet")["model"].n_unique()
    assert est.table.height == models + 1 and est.table["group"][-1] == "(all)"
    assert est.table.filter(pl.col("group") == "(all)")["messages"][0] == population(runs["run"]).height


def test_labels_are_parsed_and_bad_ones_named(tmp_path: Path) -> None:
    got = parse_labels(pl.Series(["Refusal", "no", " 1 ", "policy", "unclear", "", None, "'none", "skip"]), "x")
    assert got.to_list() == ["refusal", "none", "refusal", "refusal", None, None, None, "none", None]
    with pytest.raises(InvalidParameterError, match=r"labels\.csv, row 3: label 'maybe'"):
        parse_labels(pl.Series(["yes", "maybe"]), "labels.csv", pl.Series([2, 3]))
    reactions = parse_labels(pl.Series(["New topic", "clarify", "unclear", "skip"]), "x", signal="reaction")
    assert reactions.to_list() == ["new_topic", "clarify", "unclear", None]
    with pytest.raises(InvalidParameterError, match="partial refusal's type is its reason"):
        parse_labels(pl.Series(["partial"]), "x", signal="refusal_type")
    with pytest.raises(InvalidParameterError, match="not a reaction label"):
        parse_labels(pl.Series(["yes"]), "x", signal="reaction")


def test_rows_outside_the_draw_and_other_runs_are_refused(runs: dict[str, Path], tmp_path: Path) -> None:
    s = draw_audit_sample(runs["run"], n=40, by=None, seed=0)
    path, _ = s.write(tmp_path / "s.csv")
    frame = pl.read_csv(path, infer_schema=False)
    extra = frame.head(1).with_columns(message_index=pl.lit("999"), label=pl.lit("no"))
    pl.concat([frame, extra]).write_csv(path)
    with pytest.raises(InvalidParameterError, match="not in the sample's design"):
        estimate_audit(runs["run"], path)
    frame.write_csv(path)
    with pytest.raises(InvalidParameterError, match="another run"):
        estimate_audit(runs["kept"], path)
    moved = tmp_path / "renamed.csv"
    shutil.copy(path, moved)
    with pytest.raises(InvalidParameterError, match="--design"):
        estimate_audit(runs["run"], moved)
    assert estimate_audit(runs["run"], moved, design=design_path_for(path)).labelled == 0


def test_a_changed_or_different_source_is_refused(runs: dict[str, Path], tmp_path: Path) -> None:
    other = tmp_path / "corpus.parquet"
    pl.read_parquet(runs["src"]).head(100).write_parquet(other)
    with pytest.raises(SourceError, match="does not hold the text the run"):
        draw_audit_sample(runs["run"], n=10, by=None, source=other)
    # the manifest's own file, edited after the run
    src = tmp_path / "own" / "c.parquet"
    src.parent.mkdir()
    synth(200, seed=1, out=src)
    run = chatlens.analyze(src, out=tmp_path / "own-run", workers=1).out
    pl.read_parquet(src).head(150).write_parquet(src)
    with pytest.raises(SourceError, match="fingerprint differs"):
        draw_audit_sample(run, n=10, by=None)


def test_truncated_messages_and_formula_like_ids_round_trip(tmp_path: Path) -> None:
    rows = [{"id": cid, "conversations": [{"from": "human", "value": "write me a poem " * 40},
                                          {"from": "gpt", "value": "I'm sorry, I can't help with that."},
                                          {"from": "human", "value": "ok"}, {"from": "gpt", "value": "Sure " * 300}]}
            for cid in ("-abc", "=1+1", "@x", "+y", "plain")]
    src = tmp_path / "chats.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    run = chatlens.analyze(src, out=tmp_path / "run", workers=1, max_message_chars=100).out
    sample = draw_audit_sample(run, n=10, by=None)
    path, _ = sample.write(tmp_path / "s.csv")
    frame = pl.read_csv(path, infer_schema=False)
    assert frame.filter(pl.col("conversation_id").str.starts_with("'")).height > 0  # neutralised
    assert frame["message"].str.len_chars().max() <= 100  # the run's cut text, not the source's
    frame.with_columns(label=pl.lit("no")).write_csv(path)
    est = estimate_audit(run, path)
    assert est.labelled == 10 and est.table["rate"][0] == 0.0


def test_duplicate_rows_are_refused_naming_both(runs: dict[str, Path], tmp_path: Path) -> None:
    s = draw_audit_sample(runs["run"], n=40, by=None, seed=0)
    path, _ = s.write(tmp_path / "s.csv")
    frame = pl.read_csv(path, infer_schema=False).with_columns(label=pl.lit("no"))
    pl.concat([frame, frame.slice(3, 1)]).write_csv(path)
    with pytest.raises(InvalidParameterError, match=r"data rows 4 and 41 are the same message"):
        estimate_audit(runs["run"], path)


def test_order_deleted_rows_and_small_n(runs: dict[str, Path], tmp_path: Path) -> None:
    s = draw_audit_sample(runs["run"], n=40, by=None, seed=0)
    path, _ = s.write(tmp_path / "s.csv")
    frame = pl.read_csv(path, infer_schema=False)
    # the last 20 rows labelled, the first 20 not; 5 rows deleted
    labelled = frame.with_columns(label=pl.when(pl.col("audit_row").cast(pl.Int64) > 20).then(pl.lit("no")))
    labelled.filter(pl.col("audit_row").cast(pl.Int64) > 5).write_csv(path)
    est = estimate_audit(runs["run"], path)
    assert (est.labelled, est.unread) == (20, 20)
    assert any("not the first ones" in w for w in est.warnings)
    assert any("5 drawn row(s) are no longer in the file" in w for w in est.warnings)
    in_order = frame.with_columns(label=pl.when(pl.col("audit_row").cast(pl.Int64) <= 20).then(pl.lit("no")))
    in_order.write_csv(path)
    assert estimate_audit(runs["run"], path).warnings == []
    cells = len({(c["group"], c["predicted"]) for c in draw_audit_sample(runs["run"], n=400).design["cells"]})
    with pytest.raises(InvalidParameterError, match=f"pass --n {cells} or more"):
        draw_audit_sample(runs["run"], n=cells - 1, by="model")


def test_an_existing_sample_is_not_overwritten(runs: dict[str, Path], tmp_path: Path) -> None:
    s = draw_audit_sample(runs["run"], n=20, by=None)
    s.write(tmp_path / "s.csv")
    with pytest.raises(InvalidParameterError, match="--overwrite"):
        s.write(tmp_path / "s.csv")
    s.write(tmp_path / "s.csv", overwrite=True)


def test_unknown_signal_and_group_column_are_refused(runs: dict[str, Path]) -> None:
    with pytest.raises(InvalidParameterError, match="signal must be one of"):
        draw_audit_sample(runs["run"], signal="sentiment")
    with pytest.raises(InvalidParameterError, match="neither a column"):
        draw_audit_sample(runs["run"], by="colour")
    with pytest.raises(InvalidParameterError, match="names a message"):
        draw_audit_sample(runs["run"], by="conversation_id")
    with pytest.raises(InvalidParameterError, match="no messages.parquet"):
        draw_audit_sample(runs["run"].parent / "missing")


def test_groups_come_from_the_conversation_table(runs: dict[str, Path]) -> None:
    pop = population(runs["run"], by="language")  # messages.parquet has a language column too
    conv = pl.read_parquet(runs["run"] / "conversations.parquet").select("conversation_id", "language")
    expected = pop.join(conv, on="conversation_id")["language"].fill_null("(unknown)")
    assert pop["group"].equals(expected, check_names=False) and pop["group"].n_unique() > 1


def test_jailbreak_audit_samples_user_messages(runs: dict[str, Path]) -> None:
    s = draw_audit_sample(runs["kept"], signal="jailbreak", n=30, by=None)
    roles = (pl.read_parquet(runs["kept"] / "messages.parquet").join(s.rows.select(KEY), on=list(KEY), how="semi")
             ["role"].unique().to_list())
    assert roles == ["user"] and s.design["role"] == "user"


def test_categorical_audits_give_every_labels_share(runs: dict[str, Path]) -> None:
    truth = pl.read_parquet(runs["truth"]).with_columns(pl.col("message_index").cast(pl.Int64))
    for signal, n in (("reaction", 120), ("refusal_type", 160)):
        s = draw_audit_sample(runs["run"], signal=signal, n=n, by=None, seed=2)
        drawn = {c["predicted"] for c in s.design["cells"]}
        assert len(drawn) >= 3  # a cell per predicted label
        labelled = (s.rows.with_columns(pl.col("message_index").cast(pl.Int64))
                    .join(truth.select(*KEY, pl.col(signal).alias("_t")), on=list(KEY), how="left")
                    .with_columns(label=pl.col("_t").fill_null("unclear")).drop("_t"))
        est = estimate_audit(runs["run"], labelled, design=s.design)
        assert set(est.table["label"]) == set(SIGNALS[signal].labels)
        assert est.table["rate"].sum() == pytest.approx(1.0)  # the shares of all labels add up
        assert est.labelled == s.rows.height <= n and est.left_out == 0


def test_cli_sample_then_estimate(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "a.csv"
    res = runner.invoke(app, ["audit", "sample", str(runs["run"]), "--by", "none", "--n", "50", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "wrote 50 rows" in res.output and design_path_for(out).is_file()
    # the hint names every label that leaves a row out (a binary signal's 'unclear' too, as
    # audit.md's "refusal / none / unclear" and estimate do)
    assert "'skip' or 'unclear' leaves a row out" in " ".join(res.output.split())
    _label_with_truth(pl.read_csv(out, infer_schema=False), runs["truth"]).write_csv(out)
    est_out = tmp_path / "est.csv"
    res = runner.invoke(app, ["audit", "estimate", str(runs["run"]), str(out), "--out", str(est_out)])
    assert res.exit_code == 0, res.output
    assert "refusal rate corrected" in res.output and "50 of 50 drawn rows labelled" in res.output
    assert pl.read_csv(est_out)["group"].to_list() == ["(all)"]
    bad = runner.invoke(app, ["audit", "sample", str(runs["run"]), "--signal", "x", "--out", str(out)])
    assert bad.exit_code == 1 and "signal must be one of" in bad.output


def test_cli_estimate_out_may_not_be_the_labelled_sample_or_its_design(runs: dict[str, Path],
                                                                       tmp_path: Path) -> None:
    """'audit estimate run a.csv --out a.csv' wrote the estimates over the reader's labels."""
    out = tmp_path / "a.csv"
    res = runner.invoke(app, ["audit", "sample", str(runs["run"]), "--by", "none", "--n", "20", "--out", str(out)])
    assert res.exit_code == 0, res.output
    _label_with_truth(pl.read_csv(out, infer_schema=False), runs["truth"]).write_csv(out)
    labelled, design = out.read_bytes(), design_path_for(out).read_bytes()
    for target in (out, design_path_for(out), tmp_path / "." / "a.csv"):
        res = runner.invoke(app, ["audit", "estimate", str(runs["run"]), str(out), "--out", str(target)])
        assert res.exit_code == 1 and "Expected another path" in res.output, res.output
    assert out.read_bytes() == labelled and design_path_for(out).read_bytes() == design
    res = runner.invoke(app, ["audit", "estimate", str(runs["run"]), str(out), "--out", str(tmp_path / "e.csv")])
    assert res.exit_code == 0, res.output


def test_reading_sheet_escapes_hostile_text(tmp_path: Path) -> None:
    evil = "<script>alert(1)</script><img src=x onerror=alert(2)> \u202eevil\u202c & done"
    rows = [{"id": f"c{i}", "conversations": [{"from": "human", "value": evil},
                                              {"from": "gpt", "value": "I can't help with that. " + evil}]}
            for i in range(6)]
    src = tmp_path / "chats.jsonl"
    src.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    run = chatlens.analyze(src, out=tmp_path / "run", workers=1).out
    sample = draw_audit_sample(run, n=6, by=None)
    _, _ = sample.write(tmp_path / "s.csv")
    page = (tmp_path / "s.csv.html").read_text()
    assert "<script>" not in page and "<img" not in page and "\u202e" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "\ufffdevil" in page
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert page.count("class='row'") == 6
    assert "audit_row 6" in page
    sample.write(tmp_path / "t.csv", sheet=False)
    assert not (tmp_path / "t.csv.html").exists()


def test_cli_quiet_warnings_and_jsonl(runs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "a.jsonl"
    res = runner.invoke(app, ["audit", "sample", str(runs["run"]), "--by", "none", "--n", "30",
                              "--allocation", "equal", "--out", str(out), "--quiet"])
    assert res.exit_code == 0, res.output
    assert res.output == "" and out.is_file() and (tmp_path / "a.jsonl.html").is_file()
    rows = pl.read_ndjson(out)
    assert rows.height == 30 and json.loads(design_path_for(out).read_text())["allocation"] == "equal"
    # label only the second half: estimate warns that the rows read are not the first ones
    rows.with_columns(label=pl.when(pl.col("audit_row") > 15).then(pl.lit("none"))).write_ndjson(out)
    res = runner.invoke(app, ["audit", "estimate", str(runs["run"]), str(out)])
    assert res.exit_code == 0, res.output
    assert "warning:" in res.output and "not the first ones" in res.output
    again = runner.invoke(app, ["audit", "sample", str(runs["run"]), "--by", "none", "--n", "30", "--out", str(out)])
    assert again.exit_code == 1 and "--overwrite" in again.output


def test_an_edited_design_is_refused_whatever_was_edited(runs: dict[str, Path], tmp_path: Path) -> None:
    """Reviewed bug: only the drawn keys were checksummed, so a design whose --by was edited
    was estimated with other cells (a narrower interval) without a word."""
    import json

    s = draw_audit_sample(runs["run"], n=40, by="model", seed=0)
    path, _ = s.write(tmp_path / "s.csv")
    design_file = design_path_for(path)
    original = json.loads(design_file.read_text())
    for field, value in (("by", None), ("by", "language"), ("signal", "jailbreak"),
                         ("seed", 1), ("cells", original["cells"][:-1])):
        edited = {**original, field: value}
        design_file.write_text(json.dumps(edited))
        with pytest.raises(InvalidParameterError, match="was edited"):
            estimate_audit(runs["run"], path)
    design_file.write_text(json.dumps(original))
    assert estimate_audit(runs["run"], path).labelled == 0


def test_sample_finds_a_relative_source_from_another_directory(tmp_path: Path, monkeypatch) -> None:
    """Reviewed bug: analyze recorded the source as given ("synth.parquet"), so audit sample run
    from elsewhere failed with "Source not found" and no hint."""
    import chatlens

    work = tmp_path / "work"
    work.mkdir()
    chatlens.synth(300, seed=2, out=work / "synth.parquet")
    monkeypatch.chdir(work)
    chatlens.analyze("synth.parquet", out="run", workers=1)
    monkeypatch.chdir(tmp_path)
    s = draw_audit_sample(work / "run", n=20, by=None, seed=0)
    assert s.rows["message"].is_not_null().all()
    (work / "synth.parquet").rename(work / "moved.parquet")
    with pytest.raises(SourceError, match="--source"):
        draw_audit_sample(work / "run", n=20, by=None, seed=0)


def test_cli_refuses_an_existing_sample_before_drawing(runs: dict[str, Path], tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # the draw reads the run's source again (10 s on a 1M-conversation run) and was done before
    # the existing --out was refused
    out = tmp_path / "labelled.csv"
    out.write_text("audit_row,label\n1,refusal\n")

    def no_draw(*args: object, **kwargs: object) -> None:
        raise AssertionError("drew a sample although --out exists")

    monkeypatch.setattr("chatlens.audit.draw_audit_sample", no_draw)
    res = runner.invoke(app, ["audit", "sample", str(runs["run"]), "--by", "none", "--out", str(out)])
    assert res.exit_code == 1
    assert "exists and may hold a reader's labels" in " ".join(res.output.split())
    assert out.read_text() == "audit_row,label\n1,refusal\n"


def test_left_out_rows_name_the_labels_that_leave_them_out(runs: dict[str, Path], tmp_path: Path) -> None:
    # a reaction's 'unclear' is a label with its own share; the CLI said "left out (skip / unclear)"
    out = tmp_path / "r.csv"
    res = runner.invoke(app, ["audit", "sample", str(runs["run"]), "--signal", "reaction", "--by", "none",
                              "--n", "20", "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = pl.read_csv(out, infer_schema=False).sort(pl.col("audit_row").cast(pl.Int64))
    labels = ["unclear", "skip"] + ["rephrase"] * (rows.height - 2)
    rows.with_columns(label=pl.Series(labels)).write_csv(out)
    res = runner.invoke(app, ["audit", "estimate", str(runs["run"]), str(out)])
    flat = " ".join(res.output.split())
    assert res.exit_code == 0, res.output
    assert f"{rows.height - 1} of {rows.height} drawn rows labelled; 1 left out (skip);" in flat
    assert "1 row(s) left out (skip):" in flat and "skip / unclear" not in flat


def test_a_run_directory_named_with_glob_characters(runs: dict[str, Path], tmp_path: Path) -> None:
    """Reviewed bug: polars read the run directory as a glob pattern, so 'chatlens audit sample'
    on a run in 'runs/an [1]' (which analyze writes) crashed with ComputeError "expanded paths
    were empty"."""
    import shutil

    copy = shutil.copytree(runs["kept"], tmp_path / "an [1]")
    assert draw_audit_sample(copy, n=20, by=None, seed=4).rows.equals(
        draw_audit_sample(runs["kept"], n=20, by=None, seed=4).rows)
