"""Figures of the behaviour tables: SVG beside PNG, small groups last and grey, hostile names."""

from __future__ import annotations

import polars as pl
import pytest

from chatlens.report.figures import behaviour_figures, small_first_last
from chatlens.stats import grouped_mean, grouped_rate, rate_table


def _conversations() -> pl.DataFrame:
    big = [("big $model$", i % 3 == 0, "policy" if i % 2 else "capability") for i in range(90)]
    tiny = [("tiny$$", True, "policy"), ("tiny$$", True, "mixed")]  # n = 2, 100% refusals
    return pl.DataFrame(
        big + tiny, schema=["model", "has_refusal", "first_refusal_type"], orient="row"
    )


pytestmark = pytest.mark.filterwarnings("ignore::chatlens.errors.SmallSampleWarning")


def test_small_groups_are_drawn_last_never_on_top():
    rates = grouped_rate(_conversations(), "has_refusal", by="model", min_n=30)
    order = small_first_last(rates, "rate").get_column("model").to_list()
    # bottom to top: the n = 2 group at 100% sits at the bottom, below the 33% group
    assert order == ["tiny$$", "big $model$"]


def test_every_figure_is_also_an_svg_and_hostile_names_draw(tmp_path):
    conv = _conversations()
    refused = conv.filter(pl.col("has_refusal")).with_columns(
        [(pl.col("first_refusal_type") == t).alias(t) for t in ("policy", "capability", "mixed")],
        before=pl.lit(value=False),
        after=pl.col("model").str.starts_with("tiny"),
        sentiment=pl.int_range(pl.len()).cast(pl.Float64) / 100,
    )
    tables = {
        "refusal_by_model": grouped_rate(conv, "has_refusal", by="model", min_n=30),
        "refusal_type_by_model": rate_table(
            refused, ["policy", "capability", "mixed"], by="model", min_n=30
        ),
        "jailbreak_around_refusal_by_model": rate_table(
            refused, ["before", "after"], by="model", min_n=30
        ),
        "sentiment_after_refusal_vs_answer": grouped_mean(
            refused.rename({"model": "follows"}), "sentiment", by="follows", min_n=30
        ),
    }
    written = behaviour_figures(tables, tmp_path)
    assert {p.name for p in written} == {
        "refusal_by_model.png",
        "refusal_type_by_model.png",
        "jailbreak_around_refusal.png",
        "sentiment.png",
    }
    for png in written:
        svg = png.with_suffix(".svg").read_text(encoding="utf-8")
        assert "<text" in svg and "tiny$$" in svg and "small)" in svg  # editable text, group marked
        assert "<dc:date>" not in svg  # reproducible: no timestamp


@pytest.mark.parametrize("high", [0.65, 0.001])
def test_percent_ticks_stay_distinct_on_small_ranges(high):
    """Rates near zero (no jailbreak attempt anywhere) labelled every tick "0%"."""
    from chatlens._plot import pyplot
    from chatlens.report.charts import percent_axis

    plt = pyplot()
    fig, ax = plt.subplots()
    try:
        ax.set_xlim(0, high)
        percent_axis(ax)
        fig.canvas.draw()
        labels = [t.get_text() for t in ax.get_xticklabels()]
    finally:
        plt.close(fig)
    assert len(set(labels)) == len(labels) > 2
    assert labels[0] in ("0%", "0.000%") and all(t.endswith("%") for t in labels)


def test_a_bar_chart_of_the_largest_groups_says_it_is_not_all_of_them(tmp_path, monkeypatch):
    """30 languages: the figure drew the 25 largest under the title "by language", beside a
    table of all 30, without a word."""
    from chatlens.report import figures

    titles = []

    def keep_title(fig, path, **kwargs):
        titles.append(fig.axes[0].get_title())
        return path

    monkeypatch.setattr(figures, "save_figure", keep_title)
    frame = pl.DataFrame({"language": [f"l{i}" for i in range(30)], "n": [100 + i for i in range(30)],
                          "rate": [0.1] * 30, "ci_low": [0.05] * 30, "ci_high": [0.2] * 30,
                          "small_sample": [False] * 30})
    figures._rate_bars(frame, "language", "by language", tmp_path / "refusal_by_language.png")
    figures._rate_bars(frame.head(5), "language", "by language", tmp_path / "refusal_by_language.png")
    assert "the 25 largest of 30; all in tables/refusal_by_language.csv" in titles[0]
    assert titles[1] == "by language"


def test_paired_rates_of_the_top_groups_say_they_are_not_all_of_them(tmp_path, monkeypatch):
    from chatlens.report import charts

    titles = []
    monkeypatch.setattr(charts, "save_figure",
                        lambda fig, path, **kw: titles.append(fig.axes[0].get_title()) or path)
    rows = [{"model": f"m{i}", "outcome": o, "n": 50, "k": 5, "rate": 0.1, "ci_low": 0.05,
             "ci_high": 0.2, "small_sample": False} for i in range(24) for o in ("before", "after")]
    charts.paired_rates(pl.DataFrame(rows), "model", ("before", "after"), labels=("b", "a"),
                        title="around", xlabel="x", path=tmp_path / "jailbreak_around_refusal.png",
                        table="jailbreak_around_refusal_by_model")
    assert "20 of 24 rows" in titles[0]
    assert "tables/jailbreak_around_refusal_by_model.csv" in titles[0]


def test_control_and_bidi_characters_in_names_leave_every_svg_well_formed(tmp_path):
    """A model name with an ESC made refusal_by_model.svg malformed XML (a C0 control is not
    allowed in XML: no browser or editor opened it) and drew a missing glyph; a U+202E was drawn
    as given. Both show as U+FFFD, as in report.html."""
    import warnings
    import xml.dom.minidom

    conv = _conversations().with_columns(
        model=pl.col("model").str.replace("big", "big\x1b[31m\u202e")
    )
    refused = conv.filter(pl.col("has_refusal")).with_columns(
        [(pl.col("first_refusal_type") == t).alias(t) for t in ("policy", "capability", "mixed")]
    )
    tables = {
        "refusal_by_model": grouped_rate(conv, "has_refusal", by="model", min_n=30),
        "refusal_type_by_model": rate_table(
            refused, ["policy", "capability", "mixed"], by="model", min_n=30
        ),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)  # no "Glyph 27 missing"
        written = behaviour_figures(tables, tmp_path)
    assert len(written) == 2
    for png in written:
        svg = png.with_suffix(".svg")
        xml.dom.minidom.parse(str(svg))  # well-formed
        text = svg.read_text(encoding="utf-8")
        assert "big\ufffd[31m\ufffd $model$" in text
        assert "\x1b" not in text and "\u202e" not in text


def test_a_huge_name_is_drawn_cut_not_laid_out_in_full(tmp_path):
    """A 100,000-character model name took 20 s per figure to lay out (a run's figures over a
    minute, linear in the name's length); figures draw at most 200 characters of any text,
    keeping the end where the small-group mark is."""
    from chatlens._plot import MAX_LABEL_CHARS

    conv = pl.DataFrame({"model": ["M" * 100_000] * 2 + ["small"] * 40,
                         "has_refusal": [i % 3 == 0 for i in range(42)]})
    behaviour_figures({"refusal_by_model": grouped_rate(conv, "has_refusal", by="model", min_n=30)},
                      tmp_path)
    svg = (tmp_path / "refusal_by_model.svg").read_text(encoding="utf-8")
    assert "M" * MAX_LABEL_CHARS not in svg
    assert "MMM…" + "M" * 37 + " (n=2, small)" in svg  # the last 50 characters kept


def test_plain_text_is_per_figure_not_a_patch_of_matplotlib_classes(tmp_path, monkeypatch):
    """Figures were drawn with ``matplotlib.text.Text.set_text`` replaced at class level (every
    text of the process, other threads' figures too, went through the patch while one figure was
    drawn). Now each figure's own artists and tick formatters are set; the drawing is the same:
    mathtext characters of names drawn literally, tick labels made at draw time included."""
    from matplotlib.figure import Figure
    from matplotlib.text import Text

    from chatlens._plot import plain_text, pyplot

    original_set_text, original_savefig = Text.set_text, Figure.savefig
    seen = []

    def savefig(self, *args, **kwargs):
        seen.append(Text.set_text is original_set_text)
        return original_savefig(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", savefig)
    conv = pl.DataFrame({"model": ["$\\x$"] * 40 + ["a$b$c"] * 40 + ["$$"] * 40,
                         "has_refusal": [i % 3 == 0 for i in range(120)]})
    behaviour_figures({"refusal_by_model": grouped_rate(conv, "has_refusal", by="model", min_n=30)},
                      tmp_path)
    assert seen and all(seen)
    svg = (tmp_path / "refusal_by_model.svg").read_text(encoding="utf-8")
    for name in ("$\\x$", "a$b$c", "$$"):  # drawn as given (svg.fonttype none keeps the text)
        assert f">{name}<" in svg
    # a figure drawn by hand: its title and its tick labels, made at draw time, are plain text
    fig, ax = pyplot().subplots()
    ax.bar(["$\\x$", "\x1b$$"], [1, 2])
    ax.set_title("$\\frac{1}{2}$")
    plain_text(fig)
    with pyplot().rc_context({"svg.fonttype": "none"}):
        fig.savefig(tmp_path / "hand.svg", format="svg")
    hand = (tmp_path / "hand.svg").read_text(encoding="utf-8")
    for drawn in ("$\\frac{1}{2}$", "$\\x$", "\ufffd$$"):  # literally, escapes not drawn
        assert f">{drawn}<" in hand
    assert "\x1b" not in hand
    assert ax.get_title() == "$\\frac{1}{2}$" and not ax.title.get_parse_math()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["\\$\\x\\$", "\ufffd\\$\\$"]
    pyplot().close(fig)
