"""HL-lite's features: style and content measures of the rated speaker's turns.

Brevity and its variation, lowercase texting, typos and uneven punctuation, emoji and
elongations, slang, hedges, questions back, personal details, talk about being an AI, formal or
markdown formatting — each counted per turn with a polars string expression and aggregated per
input row. Names and order are :data:`FEATURES` (documented in ``docs/humanlike.md``).
"""

from __future__ import annotations

import polars as pl

from chatlens.humanlike.lite_lexicons import WB, Lexicons, load_lexicons
from chatlens.humanlike.turns import speaker_turns

__all__ = ["FEATURES", "lite_features"]


_ELONG = "(?i)(?:" + "|".join(f"{c}{{3,}}" for c in "abcdefghijklmnopqrstuvwxyz") + ")"
_MARKDOWN = r"(?m)(?:^\s*(?:[-*•]\s|\d+[.)]\s|#{1,6}\s)|\*\*|`|^\s*>)"

#: Turn-level regex counts: name -> pattern.
_COUNTS: dict[str, str] = {
    "cap_i": WB + "I" + WB,
    "lower_i": WB + "i" + WB,
    "cap_start": r"(?:^|[.!?]\s+)\p{Lu}",
    "lower_start": r"(?:^|[.!?]\s+)\p{Ll}",
    "comma": ",",
    "period": r"\.",
    "exclaim": "!",
    "multi_punct": r"[!?]{2,}|\.{2,}|…",
    "dash": "[—–]| - ",
    "curly": "[’‘“”]",
    "emoji": r"\p{Extended_Pictographic}",
    "elongation": _ELONG,
    "digits": r"\d+",
    "markdown": _MARKDOWN,
    "caps_word": WB + r"[A-Z]{2,}" + WB,
    "redacted": r"<[A-Z_]+>",
    "long_word": WB + r"[A-Za-z]{9,}" + WB,
    "letters": r"\p{L}",
}

#: Feature names in model order (documented in docs/humanlike.md).
FEATURES: tuple[str, ...] = (
    "log_turns", "log_mean_words", "cv_words", "log_max_words", "short_turn_share",
    "lower_start_share", "no_upper_share", "no_end_punct_share", "question_share",
    "mean_word_len",
    "lower_i_rate", "cap_i_rate", "cap_start_rate", "lower_start_rate", "comma_rate",
    "period_rate", "exclaim_rate", "multi_punct_rate", "dash_rate", "curly_rate", "emoji_rate",
    "elongation_rate", "digits_rate", "markdown_rate", "caps_word_rate", "redacted_rate",
    "long_word_rate",
    "slang_rate", "apostrophe_drop_rate", "hedge_rate", "ask_back_rate", "meta_ai_rate",
    "formal_rate", "personal_rate", "laugh_rate", "emoticon_rate",
)


def lite_features(
    frame: pl.DataFrame,
    *,
    text_column: str,
    speaker: str,
    lexicons: Lexicons | None = None,
) -> pl.DataFrame:
    """One row per input row: ``hl_lite_n_turns`` and the :data:`FEATURES` columns.

    Rates are per 100 words of the speaker (log1p-transformed); shares are fractions of the
    speaker's turns. Rows without a speaker turn get ``n_turns = 0`` and null features.
    """
    lex = lexicons or load_lexicons()
    turns = speaker_turns(frame, text_column=text_column, speaker=speaker)
    t = pl.col("turn")
    lex_cats = [c for c in ("slang", "apostrophe_drop", "hedge", "ask_back", "meta_ai", "formal",
                            "personal", "laugh", "emoticon") if c in lex.categories]
    per_turn = turns.with_columns(
        t.str.count_matches(r"\S+").alias("_w"),
        t.str.contains(r"^\s*\p{Ll}").alias("_lower_start"),
        (~t.str.contains(r"\p{Lu}") & t.str.contains(r"\p{L}")).alias("_no_upper"),
        (~t.str.contains(r"[.!?…)\]]\s*$")).alias("_no_end"),
        t.str.contains(r"\?", literal=False).alias("_q"),
        *[t.str.count_matches(p).alias(f"_c_{n}") for n, p in _COUNTS.items()],
        *[t.str.count_matches(lex.regex(c)).alias(f"_c_{c}") for c in lex_cats],
    )
    count_names = [*_COUNTS, *lex_cats]
    agg = per_turn.group_by("_row").agg(
        pl.len().alias("_n"),
        pl.col("_w").mean().alias("_mean_w"),
        pl.col("_w").std(ddof=0).alias("_sd_w"),
        pl.col("_w").max().alias("_max_w"),
        pl.col("_w").sum().alias("_sum_w"),
        (pl.col("_w") <= 2).mean().alias("short_turn_share"),
        pl.col("_lower_start").mean().alias("lower_start_share"),
        pl.col("_no_upper").mean().alias("no_upper_share"),
        pl.col("_no_end").mean().alias("no_end_punct_share"),
        pl.col("_q").mean().alias("question_share"),
        *[pl.col(f"_c_{n}").sum().alias(f"_s_{n}") for n in count_names],
    )
    per100 = 100.0 / pl.max_horizontal(pl.col("_sum_w"), pl.lit(1))
    feats = agg.with_columns(
        pl.col("_n").cast(pl.Float64).log1p().alias("log_turns"),
        pl.col("_mean_w").log1p().alias("log_mean_words"),
        pl.when(pl.col("_mean_w") > 0).then(pl.col("_sd_w") / pl.col("_mean_w")).otherwise(0.0)
        .alias("cv_words"),
        pl.col("_max_w").cast(pl.Float64).log1p().alias("log_max_words"),
        (pl.col("_s_letters") / pl.max_horizontal(pl.col("_sum_w"), pl.lit(1))).alias(
            "mean_word_len"),
        *[(pl.col(f"_s_{n}") * per100).log1p().alias(f"{n}_rate")
          for n in count_names if n != "letters"],
    )
    base = pl.DataFrame({"_row": pl.int_range(0, frame.height, eager=True, dtype=pl.UInt32)})
    out = base.join(feats, on="_row", how="left").sort("_row")
    for f in FEATURES:
        if f not in out.columns:  # a lexicon category missing from a user lexicon file
            out = out.with_columns(pl.lit(0.0).alias(f))
    return out.select(
        pl.col("_n").fill_null(0).cast(pl.Int64).alias("hl_lite_n_turns"),
        *[pl.col(f).cast(pl.Float64) for f in FEATURES],
    )
