"""The HTML report reads as a result: headline findings, formatted tables, validity, excerpts.

Each test pins one promise of issue 13 on small hand-made tables (the browser test renders the
whole demo report).
"""

from __future__ import annotations

import json

import polars as pl
import pytest

from chatlens.report import formatting as fm
from chatlens.report.excerpts import excerpts_section, sample_excerpts
from chatlens.report.headline import findings
from chatlens.report.validity import validity_section
from chatlens.report.views import view


def _rates(key: str, rows: list[tuple]) -> pl.DataFrame:
    """A grouped-rate table (as ``stats.grouped_rate`` writes it) from (group, n, k) rows."""
    from chatlens.stats import proportion

    out = []
    for group, n, k in rows:
        est = proportion(k, n)
        out.append(
            {
                key: group,
                "n": n,
                "k": k,
                "rate": est.value,
                "ci_low": est.ci_low,
                "ci_high": est.ci_high,
                "method": "wilson",
                "small_sample": n < 30,
                "n_missing": 0,
            }
        )
    return pl.DataFrame(out)


def test_numbers_are_formatted_for_people():
    assert fm.pct(0.290812) == "29.1%"
    assert fm.ci_pct(0.266922, 0.31592) == "26.7–31.6%"
    assert fm.count(12345) == "12,345"
    assert fm.pvalue(2e-9) == "<0.001" and fm.pvalue(0.6472) == "0.647"
    assert fm.ratio(9.1999) == "9.20" and fm.ratio(11.66) == "11.7" and fm.ratio(0.3045) == "0.30"
    assert fm.signed(-0.0109) == "−0.01"


@pytest.mark.parametrize(("formatted", "expected"), [
    # a negative value that rounds to zero printed a sign ("−0.00", "−0.0 pp", "-0.0%"): a
    # negative nothing beside real differences
    (lambda: fm.signed(-0.004), "0.00"),
    (lambda: fm.signed(0.004), "0.00"),
    (lambda: fm.signed(-0.0), "0.00"),
    (lambda: fm.signed(-0.006), "−0.01"),
    (lambda: fm.signed(0.006), "+0.01"),
    (lambda: fm.ci_signed(-0.004, 0.1), "0.00 to +0.10"),
    (lambda: fm.points(-0.00004), "0.0 pp"),
    (lambda: fm.ci_points(-0.0004, 0.01), "0.0 to +1.0"),
    (lambda: fm.pct(-0.0), "0.0%"),
    (lambda: fm.ci_pct(-0.0, -0.0), "0.0–0.0%"),
    (lambda: fm.ratio(-0.001), "0.00"),
    (lambda: fm.ratio(-0.0109), "-0.01"),
    (lambda: fm.ci_ratio(-0.001, 0.5), "0.00–0.50"),
    (lambda: fm.number(-0.0), "0"),
    (lambda: fm.number(-0.0001), "-0.0001"),
])
def test_a_value_that_rounds_to_zero_has_no_sign(formatted, expected):
    assert formatted() == expected


def test_rate_table_has_readable_headers_and_no_machine_columns():
    frame = _rates("model", [("big", 1317, 383), ("tiny", 2, 2)])
    html = view("refusal_by_model", frame).html()
    for machine in ("ci_low", "ci_high", "small_sample", "n_missing", "wilson"):
        assert machine not in html
    assert "1,317" in html and "29.1%" in html and "26.7–31.6%" in html
    # the n = 2 group at 100% is marked and drawn after the big one, never on top
    assert html.index("big") < html.index("tiny")
    assert "class=small" in html and "small group" in html


def test_model_names_with_bidi_overrides_or_controls_are_neutralised_in_tables():
    # A U+202E in a model name reversed the rest of its cell; a terminal escape passed as is.
    frame = _rates("model", [("gpt-4\u202eterces", 100, 10), ("b\x1b[31mred\u2066x", 50, 5)])
    html = view("refusal_by_model", frame).html()
    for hidden in ("\u202e", "\x1b", "\u2066"):
        assert hidden not in html
    assert "gpt-4\ufffdterces" in html and "b\ufffd[31mred\ufffdx" in html


def test_long_table_is_pivoted_one_row_per_model():
    parts = []
    for outcome, ks in (("capability", (37, 67)), ("policy", (31, 75)), ("mixed", (0, 8))):
        part = _rates("model", [("alpaca-13b", 68, ks[0]), ("chatglm-6b", 150, ks[1])])
        parts.append(part.select(pl.lit(outcome).alias("outcome"), pl.all()))
    table = view("refusal_type_by_model", pl.concat(parts))
    assert table.headers == ["model", "refused conversations", "policy", "capability", "mixed"]
    assert len(table.rows) == 2
    assert table.rows[0][3].startswith("54.4% (")


def test_degenerate_ratio_is_not_estimable_never_a_finding():
    head = {
        "refusal_rate": {
            "value": 0.1,
            "ci_low": 0.09,
            "ci_high": 0.11,
            "n": 1000,
            "method": "wilson",
        },
        "ending_after_refusal_vs_answer": {
            "risk_ratio": {"value": 1.0, "ci_low": 1.0, "ci_high": 1.0, "n": 10}
        },
    }
    found = findings({"refusal_by_model": _rates("model", [("a", 500, 50), ("b", 500, 0)])}, head)
    texts = {f.text: f for f in found}
    ending = next(f for f in found if "Ending" in f.text)
    assert not ending.estimable and "not estimable" in ending.text
    assert "1.00 (1.00–1.00)" not in " ".join(f.text for f in found if f.estimable)
    # b has no refusals: the ratio is unbounded, so not estimable either
    assert any("not estimable" in t and "b has no refusals" in t for t in texts)
    overall = next(f for f in found if f.estimable)
    assert overall.text == "Assistants refused in 10.0% (9.0–11.0%) of 1,000 conversations."
    assert overall.table == "refusal_by_model"


def test_top_model_finding_carries_estimate_ci_and_ratio_and_skips_small_groups():
    frame = _rates(
        "model", [("llama-2-13b-chat", 1317, 383), ("alpaca-13b", 2151, 68), ("tiny", 2, 2)]
    )
    found = findings({"refusal_by_model": frame}, {})
    text = next(f.text for f in found if "refuses most often" in f.text)
    assert text.startswith("llama-2-13b-chat refuses most often: in 29.1% (26.7–31.6%)")
    assert "9.20× alpaca-13b" in text and "tiny" not in text


def test_validity_panel_renders_whatever_the_accuracy_file_holds(tmp_path):
    doc = {
        "name": "real-accuracy",
        "version": "x",
        "source": "test",
        "generated": "2031-01-02",
        "chatlens_version": "9.9",
        "entries": [
            {
                "signal": "refusal",
                "profile": "default",
                "detector": "rules",
                "evaluation": "cross-validated",
                "dataset": "a labelled set <b>",
                "n": 1234,
                "ci": "95% bootstrap",
                "metrics": {
                    "precision": {"value": 0.5, "low": 0.4, "high": 0.6},
                    "recall": {"value": 0.8, "low": 0.7, "high": 0.9},
                },
            }
        ],
    }
    path = tmp_path / "real_accuracy.json"
    path.write_text(json.dumps(doc))
    html = validity_section("default", accuracy=path, plumbing=True)
    assert "2031-01-02" in html and "chatlens 9.9" in html and "1,234" in html
    assert "precision 50.0% (40.0–60.0%)" in html and "cross-validated" in html
    assert "roughly 0.62×" in html and "overestimates" in html  # P/R < 1: shown rates too high
    assert "&lt;b&gt;" in html and "plumbing" in html
    assert "No real-data accuracy" in validity_section("legacy", accuracy=path)


def test_validity_panel_says_how_the_refusal_factor_varies_by_source(tmp_path):
    """Per-source refusal entries turn into one sentence: the lowest and highest factor, and the
    sources where the detector found none of the readers' refusals."""
    def entry(group, p, r, n=500, positives=50):
        return {"signal": "refusal", "profile": "default", "detector": "d", "evaluation": "held out",
                "dataset": f"set {group}", "group": group, "n": n, "positives": positives,
                "ci": "95% bootstrap",
                "metrics": {"precision": {"value": p}, "recall": {"value": r}}}
    doc = {"name": "real-accuracy", "version": "1", "source": "a test", "generated": "2031-01-02",
           "chatlens_version": "9.9",
           "entries": [entry("all", 0.6, 0.6), entry("source=hh", 0.8, 0.5),
                       entry("source=dices", 0.4, 0.8), entry("source=lmsys", 0.0, 0.0, 557, 2)]}
    path = tmp_path / "real_accuracy.json"
    path.write_text(json.dumps(doc))
    html = validity_section("default", accuracy=path)
    assert "roughly 1.00×" in html  # the headline uses the whole set only
    assert "from 0.50× (dices) to 1.60× (hh)" in html
    assert "On lmsys, where readers found 2 refusals in 557 replies" in html


def test_bundled_accuracy_file_covers_every_bundled_profile():
    from chatlens import datafiles
    from chatlens.pipeline.profile import bundled_profiles

    doc = datafiles.load("validation/real_accuracy.json")
    assert {e.profile for e in doc.entries} >= set(bundled_profiles())
    assert {e.signal for e in doc.entries if e.profile == "default"} == {
        "refusal",
        "refusal_type",
        "reaction",
        "jailbreak",
    }


@pytest.mark.parametrize("hostile", ["<script>alert(1)</script>", "a\u202eb\x1b[31m", "x" * 5000])
def test_excerpts_are_escaped_cleaned_and_bounded(hostile):
    messages = pl.DataFrame(
        {
            "conversation_id": ["c1", "c1", "c1"],
            "message_index": [0, 1, 2],
            "role": ["user", "assistant", "user"],
            "content": ["please", f"I can't help with that. {hostile}", f"why not {hostile}"],
            "refusal": [None, True, None],
            "refusal_type": [None, "policy", None],
            "reaction": [None, None, "pushback"],
        }
    )
    samples = sample_excerpts(messages, per_group=2, chars=120)
    html = excerpts_section(samples)
    assert "<script>" not in html and "\u202e" not in html and "\x1b" not in html
    assert all(len(t) <= 120 for t in samples["refusals"].get_column("text"))
    assert "pushback" in html and "policy" in html
    assert "--keep-text" in excerpts_section(None)


def test_zero_variance_and_uncomputed_statistics_are_not_estimable():
    means = pl.DataFrame(
        {
            "follows": ["an ordinary answer"],
            "n": [40],
            "mean": [0.0],
            "sd": [0.0],
            "ci_low": [0.0],
            "ci_high": [0.0],
            "method": ["t"],
            "small_sample": [False],
        }
    )
    assert "not estimable" in view("sentiment_after_refusal_vs_answer", means).rows[0]
    found = findings({}, {"notes": {"ending_hazard": "not computed: no refusal at any turn"}})
    assert [f.estimable for f in found] == [False]
    assert "Ending hazard: not estimable (not computed: no refusal at any turn)" in found[0].text


def test_reaction_definition_names_every_reaction_the_run_reports():
    """The report's definition of the reaction after the first refusal must name every outcome
    of the reaction_by_refusal_type table (the default profile's learned model says 'clarify')."""
    from chatlens.report.html import definitions
    from chatlens.report.tables import REACTIONS

    text = next(d["text"] for d in definitions("default") if d["term"].startswith("reaction"))
    words = {"new_topic": "new topic"}
    assert [r for r in REACTIONS if words.get(r, r) not in text] == []
    assert "learned reaction model" in text


def test_refusal_and_jailbreak_definitions_describe_the_detectors_the_profiles_run():
    """The definitions read "cue lexicons in ten languages ... refusal = score >= 0.5" and
    "jailbreak cues or MinHash" while the default profile decides both with learned models."""
    from pathlib import Path

    import chatlens
    from chatlens.report.html import definitions

    terms = {d["term"]: " ".join(d["text"].split()) for d in definitions("default")}
    patterns = Path(chatlens.__file__).parent / "data" / "signals" / "patterns"
    n_langs = len(list(patterns.glob("refusal_*.yaml")))
    assert f"cue lexicons in {n_langs} languages" in terms["refusal"]
    assert "context refusal model" in terms["refusal"] and "rules profile" in terms["refusal"]
    assert "learned jailbreak tier" in terms["jailbreak attempt"]
    assert "MOVER-R" in terms["intervals and tests"] and "Fisher" in terms["intervals and tests"]


def test_an_odds_ratio_outside_its_own_interval_is_not_shown_as_an_estimate():
    # a model with no refusals: sample odds ratio 0, 0.5-adjusted interval 0.12–84.0 (lmsys dev)
    row = {"model": "gpt-4", "n": 1, "k": 0, "rate": 0.0, "ref_rate": 0.090164,
           "risk_difference": -0.090164, "rd_ci_low": -0.154257, "rd_ci_high": 0.704248,
           "risk_ratio": 0.0, "rr_ci_low": 0.0, "rr_ci_high": 9.764512,
           "odds_ratio": 0.0, "or_ci_low": 0.124357, "or_ci_high": 83.992749,
           "p_adjusted": 1.0, "small_sample": True}
    cells = view("refusal_model_vs_rest", pl.DataFrame([row])).rows[0]
    assert cells[6] == "not estimable"  # odds ratio
    assert cells[5] == "0.00 (0.00–9.76)"  # the risk ratio's interval holds its estimate


def test_sd_of_a_single_value_is_a_dash_not_nan():
    means = pl.DataFrame({"follows": ["a policy refusal"], "n": [1], "mean": [0.0],
                          "sd": [float("nan")], "ci_low": [float("nan")],
                          "ci_high": [float("nan")], "method": ["t"], "small_sample": [True]})
    cells = view("sentiment_after_refusal_vs_answer", means).rows[0]
    assert cells[-1] == "–" and "nan" not in " ".join(cells)


def test_validity_panel_does_not_print_a_zero_width_interval(tmp_path):
    # real_accuracy.json's lmsys-only refusal row: 2 positives, none found; the bootstrap
    # interval is 0.0–0.0%, which the panel printed as if the 0.0% were exact
    doc = {"name": "real-accuracy", "version": "1", "source": "a test", "generated": "2031-01-02",
           "chatlens_version": "9.9",
           "entries": [{"signal": "refusal", "profile": "default", "detector": "d",
                        "evaluation": "held out", "dataset": "set", "n": 557, "positives": 2,
                        "ci": "95% bootstrap",
                        "metrics": {"precision": {"value": 0.0, "low": 0.0, "high": 0.0},
                                    "recall": {"value": 0.5, "low": 0.2, "high": 0.8}}}]}
    path = tmp_path / "real_accuracy.json"
    path.write_text(json.dumps(doc))
    html = validity_section("default", accuracy=path)
    assert "(0.0–0.0%)" not in html
    assert "precision 0.0% (interval not estimable: too few units)" in html
    assert "recall 50.0% (20.0–80.0%)" in html


def test_report_does_not_claim_small_groups_are_left_out_of_totals_that_include_them():
    """lmsys dev: 'Assistants refused in 8.9% of 123 conversations' sat above 'groups under 30
    units are left out of these sentences', though only 65 of the 123 were in a model group of
    30 or more: the total pools every group, only rankings leave the small ones out."""
    from chatlens.report.html import _headline_section, _table_section, definitions

    rates = _rates("model", [("big", 65, 6), ("tiny", 3, 1)])
    head = {"refusal_rate": {"value": 7 / 68, "ci_low": 0.05, "ci_high": 0.2, "n": 68}}
    page = _headline_section(findings({"refusal_by_model": rates}, head), {"refusal_by_model": rates})
    page += _table_section("refusal_by_model", rates, [])
    page += " ".join(d["text"] for d in definitions("default"))
    assert "of 68 conversations" in page
    assert "left out of these sentences" not in page and "never used in the headline" not in page
    assert "left out of the key findings" not in page
    assert "totals and pooled shares include its conversations" in page


def test_reaction_jailbreak_and_detector_jailbreak_say_they_measure_different_things():
    """On the demo the key findings said '2.4% tried a jailbreak' (the reaction classifier on
    the next message, 47 of 1,950) beside '1.5% had a jailbreak attempt after the refusal' (the
    jailbreak detector on any later message, 30 of 1,950), both unlabelled as to what they
    count. Each sentence now names its measure."""
    reactions = _rates("outcome", [("abandoned", 1950, 1344), ("jailbreak", 1950, 47),
                                   ("rephrase", 1950, 142)]).with_columns(
        first_refusal_type=pl.lit("(all)"))
    around = _rates("outcome", [("before", 1950, 60), ("after", 1950, 30)]).with_columns(
        model=pl.lit("(all)"))
    texts = [f.text for f in findings(
        {"reaction_by_refusal_type": reactions, "jailbreak_around_refusal_by_model": around}, {})]
    reaction = next(t for t in texts if "tried a jailbreak" in t)
    detector = next(t for t in texts if "1.5%" in t)
    assert "2.4%" in reaction and "reaction classifier" in reaction and "next message" in reaction
    assert "jailbreak detector" in detector and "any later message" in detector
    from chatlens.report.html import definitions

    jailbreak = next(d["text"] for d in definitions("default") if d["term"] == "jailbreak attempt")
    assert "any later user message" in jailbreak and "reaction classifier" in jailbreak


def test_sentiment_table_note_says_which_scorers_made_its_mean():
    """The follow-up sentiment table's note said 'Mean VADER compound score', but non-English
    follow-ups are scored by the language lexicons (on the demo 215 of the 606 scored follow-ups:
    lexicon-es, -pt, -zh, …) and unsupported languages are left out."""
    from chatlens.report.formatting import presentation

    note = presentation().tables["followup_sentiment_by_type"].note
    assert "lexicon" in note and "not counted" in note


def test_a_share_short_of_all_is_not_printed_as_all(tmp_path):
    """9,999 of 10,000 conversations refused printed '100.0%' in the report and the terminal
    (formatting.pct), which reads as every one; the tiny end already said '<0.1%'."""
    from chatlens.stats import proportion

    est = proportion(9_999, 10_000)
    found = findings({}, {"refusal_rate": {"value": est.value, "ci_low": est.ci_low,
                                           "ci_high": est.ci_high, "n": 10_000}})
    assert found[0].text.startswith("Assistants refused in >99.9% (")
    assert fm.pct(1.0) == "100.0%" and fm.pct(0.9994) == "99.9%"


def test_a_ratio_that_rounds_up_keeps_three_significant_digits():
    """A risk ratio of 9.996 printed '10.00' and 99.96 '100.0' (four digits, beside '9.32×' and
    '12.3' elsewhere): the digits were chosen before rounding."""
    assert (fm.ratio(9.996), fm.ratio(99.96), fm.ci_ratio(0.996, 9.996)) == ("10.0", "100", "1.00–10.0")


def test_an_interval_above_zero_does_not_print_as_zero_to_zero():
    """1 of 20,000 printed '<0.1% (0.0–0.0%)', the same interval as 0 of 20,000: an upper bound
    short of 0.1% reads as exactly zero. It prints '0.0–<0.1%' now (and '>99.9' at the top)."""
    from chatlens.stats import proportion

    one = proportion(1, 20_000)
    assert fm.ci_pct(one.ci_low, one.ci_high) == "0.0–<0.1%"
    top = proportion(19_999, 20_000)
    assert fm.ci_pct(top.ci_low, top.ci_high) == ">99.9–100.0%"
    assert fm.ci_pct(0.0, 0.0) == "0.0–0.0%"  # a zero-width interval stays what it is


def test_a_small_jailbreak_finding_is_said_to_be_not_estimable():
    """With 11 refused conversations (lmsys dev) the jailbreak-around-the-refusal finding
    vanished from the key findings without a word, while the reactions and refusal types beside
    it were listed as 'not estimable (only 11 refused conversations)'."""
    around = _rates("outcome", [("before", 11, 0), ("after", 11, 1)]).with_columns(model=pl.lit("(all)"))
    found = findings({"jailbreak_around_refusal_by_model": around}, {})
    assert [(f.estimable, f.text) for f in found] == [
        (False, "Jailbreak attempts around the first refusal: not estimable (only 11 refused conversations).")]
